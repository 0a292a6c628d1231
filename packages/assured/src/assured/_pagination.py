"""Auto-paginating iterators: ``async for item in client.files.list()`` walks every page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from assured.exceptions import AssuredError

T = TypeVar("T")

Page = tuple[list[T], str | None]
"""One page: its items and the cursor of the next page (``None`` after the last)."""


def _check_progress(cursor: str | None, previous: str | None) -> None:
    # A server bug that hands back the same cursor would otherwise loop forever.
    if cursor is not None and cursor == previous:
        raise AssuredError(f"The API returned the same page cursor twice ({cursor!r}).")


class AsyncPaginator(Generic[T]):
    """Every item of every page, fetched one page at a time as the iteration needs it."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[T]]]) -> None:
        self._fetch = fetch

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            items, next_cursor = await self._fetch(cursor)
            for item in items:
                yield item
            if next_cursor is None:
                return
            _check_progress(next_cursor, cursor)
            cursor = next_cursor

    async def to_list(self) -> list[T]:
        """Every item, in one list (mind the memory for large accounts)."""
        return [item async for item in self]


class SyncPaginator(Generic[T]):
    """Every item of every page, fetched one page at a time as the iteration needs it."""

    def __init__(self, fetch: Callable[[str | None], Page[T]]) -> None:
        self._fetch = fetch

    def __iter__(self) -> Iterator[T]:
        cursor: str | None = None
        while True:
            items, next_cursor = self._fetch(cursor)
            yield from items
            if next_cursor is None:
                return
            _check_progress(next_cursor, cursor)
            cursor = next_cursor

    def to_list(self) -> list[T]:
        """Every item, in one list (mind the memory for large accounts)."""
        return list(self)
