"""Django REST Framework page-number pagination: ``?page=&page_size=`` and absolute links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from assured_server.api.query import int_param
from assured_server.errors import not_found

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# As many digits as ``int_param`` reads: a page beyond any real list, yet still a number.
MAX_PAGE = 10**12 - 1


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page a list request asks for."""

    number: int
    size: int

    @property
    def offset(self) -> int:
        """How many rows come before this page."""
        return (self.number - 1) * self.size


def page_request(request: Request) -> PageRequest:
    """``?page=`` (from 1) and ``?page_size=`` (1..200, default 50), or 400 naming the bad one."""
    params = request.query_params
    number = int_param(params, "page", default=1, minimum=1, maximum=MAX_PAGE)
    size = int_param(
        params, "page_size", default=DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE
    )
    return PageRequest(number, size)


def paginated(
    request: Request, page: PageRequest, count: int, results: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """``{"count", "next", "previous", "results"}``; past the end is 404 (page 1 never is)."""
    last = max(1, -(-count // page.size))
    if page.number > last:
        raise not_found("Invalid page.")
    url = request.url
    next_url = str(url.include_query_params(page=page.number + 1)) if page.number < last else None
    previous_url = None
    if page.number == 2:
        # As DRF does: the link to the first page is the list URL without ``page``.
        previous_url = str(url.remove_query_params("page"))
    elif page.number > 2:
        previous_url = str(url.include_query_params(page=page.number - 1))
    return {"count": count, "next": next_url, "previous": previous_url, "results": list(results)}
