"""Strict query parameters: malformed values are 400 ``INVALID_REQUEST`` naming the parameter."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import QueryParams

from assured_server.clock import is_uuid
from assured_server.errors import invalid


def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise invalid(f"Query parameter '{name}' is given more than once.", field=name)
    return values[0] if values else None


def int_param(params: QueryParams, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A decimal integer within bounds, or the default when absent."""
    raw = _single(params, name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise invalid(f"Query parameter '{name}' must be a whole number.", field=name)
    value = int(raw)
    if not minimum <= value <= maximum:
        raise invalid(
            f"Query parameter '{name}' must be between {minimum} and {maximum}.", field=name
        )
    return value


def uuid_param(params: QueryParams, name: str) -> str | None:
    """A UUID string, or ``None`` when absent."""
    raw = _single(params, name)
    if raw is None:
        return None
    if not is_uuid(raw):
        raise invalid(f"Query parameter '{name}' is not a valid id.", field=name)
    return raw


def one_of_param(params: QueryParams, name: str, allowed: Iterable[str]) -> str | None:
    """One of ``allowed``, or ``None`` when absent."""
    raw = _single(params, name)
    if raw is None:
        return None
    choices = tuple(allowed)
    if raw not in choices:
        raise invalid(f"Query parameter '{name}' must be one of: {', '.join(choices)}.", field=name)
    return raw


def text_param(params: QueryParams, name: str) -> str | None:
    """Free text compared as sent (a filter), or ``None`` when absent; NUL is refused.

    PostgreSQL cannot compare a string that holds NUL (the query failed: a 500).
    """
    raw = _single(params, name)
    if raw is not None and "\x00" in raw:
        raise invalid(f"Query parameter '{name}' must not contain NUL characters.", field=name)
    return raw
