"""The ``idempotency_keys`` table: claims of an ``Idempotency-Key`` and their responses.

The primary key ``(account, key)`` makes the claim's insert the lock: of two concurrent
requests with one key exactly one inserts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

import anyio
from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from assured_server.db.engine import Database
from assured_server.db.models import IDEMPOTENCY_RETENTION, IdempotencyRecord
from assured_server.stores.unit import Unit, writer_of

__all__ = ["IDEMPOTENCY_RETENTION", "IdempotencyKeys", "IdempotencyRecord"]

# The table, not the entity: plain Core statements skip the ORM's bulk-update machinery.
_KEYS = cast(Table, IdempotencyRecord.__table__)


def _this_key() -> ColumnElement[bool]:
    return and_(_KEYS.c.account_id == bindparam("w_account_id"), _KEYS.c.key == bindparam("w_key"))


def _record_statement() -> Executable:
    return (
        update(_KEYS)
        .where(_this_key())
        .values(
            fingerprint=bindparam("v_fingerprint"),
            response_status=bindparam("v_status"),
            response_body=bindparam("v_body"),
        )
    )


def _abandon_statement() -> Executable:
    # Only a claim that never finished: a response recorded meanwhile stays.
    return delete(_KEYS).where(_this_key(), _KEYS.c.response_status.is_(None))


class IdempotencyKeys:
    """Claim, find, record, abandon and purge ``Idempotency-Key`` rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(
        self, account_id: str, key: str, *, method: str, path: str, now: datetime
    ) -> bool:
        """Insert the claim of ``key``, durably; ``False`` when a row for it exists already."""
        row = IdempotencyRecord(
            account_id=account_id, key=key, method=method, path=path, created_at=now
        )
        try:
            await self._db.insert(row)
        except IntegrityError:
            return False
        return True

    async def holder(self, account_id: str, key: str, now: datetime) -> IdempotencyRecord | None:
        """The live row of ``key``, or ``None`` when there is none (a row past its retention
        is deleted here, so that the key can be claimed again)."""
        async with self._db.write() as session:
            existing = await session.get(IdempotencyRecord, (account_id, key))
            if existing is not None and existing.created_at <= now - IDEMPOTENCY_RETENTION:
                await session.delete(existing)
                return None
        return existing

    async def record(
        self,
        unit: Unit | None,
        account_id: str,
        key: str,
        *,
        fingerprint: str,
        status: int,
        body: Any,
    ) -> None:
        """Store the response of ``key``'s first request, in ``unit`` (the creating write)."""
        values = {
            "w_account_id": account_id,
            "w_key": key,
            "v_fingerprint": fingerprint,
            "v_status": status,
            "v_body": json.dumps(body),
        }
        await writer_of(self._db, unit).run("idempotency.record", _record_statement, values)

    async def abandon(self, account_id: str, key: str) -> None:
        """Delete an unfinished claim, so that a retry runs again (shielded from cancelling:
        a client that hangs up mid-request must not leave its key stuck "running")."""
        with anyio.CancelScope(shield=True):
            values = {"w_account_id": account_id, "w_key": key}
            await self._db.run("idempotency.abandon", _abandon_statement, values)

    async def purge(self, now: datetime) -> int:
        """Delete the rows past their retention; how many."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.created_at < now - IDEMPOTENCY_RETENTION
                )
            )
        return int(result.rowcount)  # type: ignore[attr-defined]
