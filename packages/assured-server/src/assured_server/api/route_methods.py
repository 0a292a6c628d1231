"""The methods some route serves on a path: a 405's ``Allow`` and a CORS preflight's answer."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def methods_of(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method of :data:`METHODS` that a route fully matches on ``scope``'s path.

    Starlette names only the first route whose path matches, but FastAPI makes one route per
    method (and nests included routers), so each method is asked of the routes instead.
    """
    return [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in routes)
    ]
