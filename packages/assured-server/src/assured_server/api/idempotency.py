"""``Idempotency-Key`` on create endpoints: replay the first response, refuse a different request.

The first request with a key inserts a row (the primary key ``(account, key)`` makes the insert
the lock: of two concurrent requests exactly one wins). While it runs, the same key answers 409
with ``Retry-After: 1``; once it succeeded, the same request gets the stored response and a
different one 409. A request that failed leaves no row, so it can be retried with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import Request
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from assured_server.clock import utcnow
from assured_server.db.models import IDEMPOTENCY_RETENTION, IdempotencyRecord
from assured_server.errors import ApiError, ErrorCode, invalid
from assured_server.services import Services

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
    """Digest of a JSON body as a value: key order and white space do not change it."""
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
        data = b"json:" + canonical.encode()
    except (ValueError, UnicodeDecodeError):
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

    def replay(self, fingerprint: str) -> Response:
        """The stored response if this is the same request, else 409."""
        stored = self.stored
        assert stored is not None  # noqa: S101 - only called for repeats
        if stored.fingerprint != fingerprint:
            raise _conflict("This Idempotency-Key was used with a different request.")
        return Response(
            (stored.response_body or "").encode(),
            status_code=stored.response_status or 200,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )

    async def finish(self, fingerprint: str, status: int, body: Any) -> None:
        """Keep the response of the first request for replays."""
        async with self.svc.db.write() as session:
            await session.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.account_id == self.account_id,
                    IdempotencyRecord.key == self.key,
                )
                .values(
                    fingerprint=fingerprint, response_status=status, response_body=json.dumps(body)
                )
            )

    async def abandon(self) -> None:
        """Forget the key after a failure, so that a retry runs again."""
        # Shielded: a client that hangs up mid-request must not leave its key stuck "running".
        with anyio.CancelScope(shield=True):
            async with self.svc.db.write() as session:
                await session.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.account_id == self.account_id,
                        IdempotencyRecord.key == self.key,
                        IdempotencyRecord.response_status.is_(None),
                    )
                )


async def begin(svc: Services, request: Request, account_id: str) -> Guard | None:
    """Claim the request's key, or find its finished first request; ``None`` without a key."""
    key = key_of(request)
    if key is None:
        return None
    guard = Guard(svc, account_id, key, request.method, request.url.path)
    for _ in range(2):
        now = utcnow()
        try:
            async with svc.db.write() as session:
                session.add(
                    IdempotencyRecord(
                        account_id=account_id,
                        key=key,
                        method=guard.method,
                        path=guard.path,
                        created_at=now,
                    )
                )
            return guard
        except IntegrityError:
            pass
        async with svc.db.write() as session:
            existing = await session.get(IdempotencyRecord, (account_id, key))
            if existing is None:
                continue  # the holder failed and let go: claim it now
            if existing.created_at <= now - IDEMPOTENCY_RETENTION:
                await session.delete(existing)
                continue
        if (existing.method, existing.path) != (guard.method, guard.path):
            raise _conflict("This Idempotency-Key was used with a different request.")
        if existing.response_status is None:
            raise _conflict("A request with this Idempotency-Key is still running.", running=True)
        guard.stored = existing
        return guard
    raise _conflict("A request with this Idempotency-Key is still running.", running=True)


async def run_json(
    svc: Services,
    request: Request,
    account_id: str,
    raw_body: bytes,
    create: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response:
    """Run a JSON create endpoint under its ``Idempotency-Key`` (if any); returns the response."""
    guard = await begin(svc, request, account_id)
    if guard is None:
        status, body = await create()
        return _json(status, body)
    fingerprint = json_fingerprint(raw_body)
    if guard.is_repeat:
        return guard.replay(fingerprint)
    try:
        status, body = await create()
    except BaseException:
        await guard.abandon()
        raise
    await guard.finish(fingerprint, status, body)
    return _json(status, body)


def render(body: Any) -> bytes:
    """JSON bytes exactly as :class:`~starlette.responses.JSONResponse` renders them."""
    return json.dumps(
        body, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _json(status: int, body: Any) -> Response:
    return Response(render(body), status_code=status, media_type="application/json")
