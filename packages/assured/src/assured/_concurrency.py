"""Sleeping and locking: the part of the clients that really differs between async and sync.

The sync modules are generated from the async ones (``packages/assured/scripts/unasync.py``
maps ``async_sleep`` to ``sleep`` and ``AsyncLock`` to ``Lock``); these primitives are the one
pair written twice by hand, because they are the difference. Callers use them through the
module (``_concurrency.async_sleep(…)``), so tests can replace the sleeps with instant ones.

anyio is imported on first use, here and in ``_streams`` and ``_download``: the sync client
never needs it, and ``from assured import AssuredClient`` stays quicker without it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import anyio


async def async_sleep(seconds: float) -> None:
    """Wait ``seconds`` without blocking the event loop."""
    import anyio

    await anyio.sleep(seconds)


def sleep(seconds: float) -> None:
    """Wait ``seconds`` (blocking the thread)."""
    time.sleep(seconds)


class AsyncLock:
    """A task lock, made on first use inside the event loop that uses it.

    An ``anyio.Lock`` made when the client is built could belong to no loop yet, or to another
    one than the loop that later awaits it.
    """

    def __init__(self) -> None:
        self._lock: anyio.Lock | None = None

    async def __aenter__(self) -> None:
        if self._lock is None:
            import anyio

            self._lock = anyio.Lock()
        await self._lock.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._lock is not None  # noqa: S101 - entered before it is exited
        self._lock.release()


class Lock:
    """A thread lock with the same shape as :class:`AsyncLock`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()
