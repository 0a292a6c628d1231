"""``Idempotency-Key`` on create endpoints: replay the first response, refuse a different request.

The first request with a key inserts a row (the primary key ``(account, key)`` makes the insert
the lock: of two concurrent requests exactly one wins). While it runs, the same key answers 409
with ``Retry-After: 1``; once it succeeded, the same request gets the stored response and a
different one 409. A request that failed leaves no row, so it can be retried with the same key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic_core import from_json
from starlette.responses import Response

from assured_server.api.body import read_raw
from assured_server.clock import utcnow
from assured_server.errors import ApiError, ErrorCode, invalid
from assured_server.services import Services
from assured_server.stores import Unit
from assured_server.stores.idempotency import IdempotencyRecord

HEADER = "Idempotency-Key"


def _conflict(detail: str, *, running: bool = False) -> ApiError:
    headers = {"Retry-After": "1"} if running else None
    return ApiError(ErrorCode.IDEMPOTENCY_CONFLICT, detail, headers=headers)


def key_of(request: Request) -> str | None:
    """The request's key, validated (1..255 printable ASCII), or ``None`` when absent."""
    values = request.headers.getlist(HEADER)
    if not values:
        return None
    key = values[0]
    if len(values) > 1 or not 1 <= len(key) <= 255 or not all(" " <= c <= "~" for c in key):
        raise invalid("Idempotency-Key must be 1 to 255 printable ASCII characters.", field=HEADER)
    return key


def json_fingerprint(raw: bytes) -> str:
    """Digest of a JSON body as a value: key order and white space do not change it.

    Parsed by pydantic-core, the parser that validates the body: it refuses nesting past a
    fixed depth, where the standard library's recursive parser ran out of stack on a body of
    ``[`` (a 500). What it cannot parse is digested as bytes (the body is refused anyway).
    """
    try:
        canonical = json.dumps(from_json(raw), sort_keys=True, separators=(",", ":"))
        data = b"json:" + canonical.encode()
    except ValueError:
        data = b"raw:" + raw
    return hashlib.sha256(data).hexdigest()


@dataclass
class Guard:
    """One keyed request: either the first (``stored is None``) or a repeat of a finished one."""

    svc: Services
    account_id: str
    key: str
    method: str
    path: str
    stored: IdempotencyRecord | None = None

    @property
    def is_repeat(self) -> bool:
        """Whether an earlier request with this key already finished."""
        return self.stored is not None

    def replay(self, fingerprint: str, headers: Mapping[str, str] | None = None) -> Response:
        """The stored response (with ``headers``) if this is the same request, else 409."""
        stored = self.stored
        assert stored is not None  # noqa: S101 - only called for repeats
        if stored.fingerprint != fingerprint:
            raise _conflict("This Idempotency-Key was used with a different request.")
        return Response(
            (stored.response_body or "").encode(),
            status_code=stored.response_status or 200,
            media_type="application/json",
            headers={**(headers or {}), "Idempotent-Replayed": "true"},
        )

    async def record(self, unit: Unit, fingerprint: str, status: int, body: Any) -> None:
        """Keep the response of the first request for replays, in the creating ``unit``.

        Written in the transaction that creates what the response describes, so that the two
        commit together: there is never a created thing whose key still says "running".
        """
        await self.svc.stores.idempotency.record(
            unit, self.account_id, self.key, fingerprint=fingerprint, status=status, body=body
        )

    async def abandon(self) -> None:
        """Forget the key after a failure, so that a retry runs again."""
        await self.svc.stores.idempotency.abandon(self.account_id, self.key)


async def begin(svc: Services, request: Request, account_id: str) -> Guard | None:
    """Claim the request's key, or find its finished first request; ``None`` without a key."""
    key = key_of(request)
    if key is None:
        return None
    keys = svc.stores.idempotency
    guard = Guard(svc, account_id, key, request.method, request.url.path)
    for _ in range(2):
        now = utcnow()
        try:
            if await keys.claim(account_id, key, method=guard.method, path=guard.path, now=now):
                return guard
        except BaseException:
            # The claim's outcome is unknown (cancelled while its commit was under way, the
            # connection lost after PostgreSQL committed): forget it, or retries with this key
            # would be refused as still running for a day. The claim's error is the answer.
            with contextlib.suppress(Exception):
                await guard.abandon()
            raise
        existing = await keys.holder(account_id, key, now)
        if existing is None:
            continue  # the holder failed and let go, or its row is past retention: claim it
        if (existing.method, existing.path) != (guard.method, guard.path):
            raise _conflict("This Idempotency-Key was used with a different request.")
        if existing.response_status is None:
            raise _conflict("A request with this Idempotency-Key is still running.", running=True)
        guard.stored = existing
        return guard
    raise _conflict("A request with this Idempotency-Key is still running.", running=True)


@asynccontextmanager
async def keyed(svc: Services, request: Request, account_id: str) -> AsyncIterator[Guard | None]:
    """The request's :class:`Guard` (``None`` without a key) for the block: a first request
    whose block fails lets go of its key, so that a retry runs again."""
    guard = await begin(svc, request, account_id)
    try:
        yield guard
    except BaseException:
        if guard is not None and not guard.is_repeat:
            await guard.abandon()
        raise


class Finish:
    """Given to a keyed create: call it in the write that creates, with the response."""

    def __init__(self, guard: Guard, fingerprint: str) -> None:
        self._guard = guard
        self._fingerprint = fingerprint
        self.called = False

    async def __call__(self, unit: Unit, status: int, body: Any) -> None:
        """Record ``status`` and ``body`` as the key's response in the creating ``unit``."""
        await self._guard.record(unit, self._fingerprint, status, body)
        self.called = True


Create = Callable[[bytes, Finish | None], Awaitable[tuple[int, Any]]]
"""``create(raw_body, finish)`` → ``(status, body)``; ``finish`` is ``None`` without a key."""


async def run_json(
    svc: Services,
    request: Request,
    account_id: str,
    create: Create,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Run a JSON create endpoint under its ``Idempotency-Key`` (if any); returns the response.

    The key is claimed before the body is read: the request counts as running from its
    headers. ``create`` gets the raw body (at most :data:`~assured_server.api.body.MAX_JSON_BYTES`).
    ``headers`` go on the response, first or replayed (e.g. ``Cache-Control: no-store``).
    """
    headers = headers or {}
    async with keyed(svc, request, account_id) as guard:
        if guard is None:
            status, body = await create(await read_raw(request), None)
            return _json(status, body, headers)
        raw = await read_raw(request)
        fingerprint = json_fingerprint(raw)
        if guard.is_repeat:
            return guard.replay(fingerprint, headers)
        finish = Finish(guard, fingerprint)
        status, body = await create(raw, finish)
        if not finish.called:
            async with svc.stores.unit() as unit:
                await finish(unit, status, body)
    return _json(status, body, headers)


def render(body: Any) -> bytes:
    """JSON bytes exactly as :class:`~starlette.responses.JSONResponse` renders them."""
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _json(status: int, body: Any, headers: Mapping[str, str]) -> Response:
    return Response(
        render(body), status_code=status, media_type="application/json", headers=dict(headers)
    )
