"""The background sweep: expire files, purge their bytes, settle or drop stale uploads.

Every change is a conditional update from the state the sweep read, so two sweepers (two
replicas) racing over the same row change it once; the loser's update matches nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import anyio
from sqlalchemy import delete, select, update

from assured_server.auth.accounts import purge_revocations
from assured_server.clock import utcnow
from assured_server.db.engine import Database
from assured_server.db.models import IDEMPOTENCY_RETENTION, IdempotencyRecord, StoredFile
from assured_server.files import lifecycle
from assured_server.files.records import AVAILABLE, EXPIRED, PENDING, REJECTED, storage_key
from assured_server.metrics import SWEPT
from assured_server.storage.base import StorageBackend, StorageError

log = logging.getLogger(__name__)
BATCH = 200
# After its upload window closes, a pending file gets this long before it is dropped, so that
# an upload that started just in time can finish.
UPLOAD_GRACE = timedelta(minutes=5)


class Sweeper:
    """Runs :meth:`sweep_once` every interval until cancelled."""

    def __init__(self, db: Database, storage: StorageBackend, interval: float) -> None:
        self.db = db
        self.storage = storage
        self.interval = interval

    async def run(self) -> None:
        """Sweep forever; one failed sweep is logged and the next one tries again."""
        while True:
            try:
                await self.sweep_once()
            except Exception:
                log.exception("sweep failed; retrying next interval")
            await anyio.sleep(self.interval)

    async def sweep_once(self, now: datetime | None = None) -> dict[str, int]:
        """One pass; returns how many files each step changed."""
        now = now or utcnow()
        counts = {
            "expired": await self._expire(now),
            "purged": await self._purge(),
            "settled_or_dropped": await self._stale_uploads(now),
        }
        async with self.db.write() as session:
            await purge_revocations(session)
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.created_at < now - IDEMPOTENCY_RETENTION
                )
            )
        if hasattr(self.storage, "sweep_temps"):
            await self.storage.sweep_temps()
        for action, count in counts.items():
            if count:
                SWEPT.labels(action).inc(count)
        return counts

    async def _expire(self, now: datetime) -> int:
        async with self.db.write() as session:
            result = await session.execute(
                update(StoredFile)
                .where(
                    StoredFile.status.in_((AVAILABLE, PENDING)),
                    StoredFile.expires_at.is_not(None),
                    StoredFile.expires_at <= now,
                )
                .values(status=EXPIRED)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def _purge(self) -> int:
        """Delete the bytes of expired and rejected files, once each."""
        async with self.db.read() as session:
            ids = (
                await session.scalars(
                    select(StoredFile.id)
                    .where(
                        StoredFile.status.in_((EXPIRED, REJECTED)), StoredFile.purged_at.is_(None)
                    )
                    .limit(BATCH)
                )
            ).all()
        purged = 0
        for file_id in ids:
            try:
                await self.storage.delete(storage_key(file_id))
            except StorageError:
                log.warning("could not delete the bytes of file %s; next sweep retries", file_id)
                continue
            async with self.db.write() as session:
                result = await session.execute(
                    update(StoredFile)
                    .where(StoredFile.id == file_id, StoredFile.purged_at.is_(None))
                    .values(purged_at=utcnow())
                )
            purged += int(result.rowcount)  # type: ignore[attr-defined]
        return purged

    async def _stale_uploads(self, now: datetime) -> int:
        """Pending files past their upload window: settle them if bytes arrived, else drop."""
        async with self.db.read() as session:
            rows = (
                await session.scalars(
                    select(StoredFile)
                    .where(
                        StoredFile.status == PENDING,
                        StoredFile.upload_expires_at.is_not(None),
                        StoredFile.upload_expires_at <= now - UPLOAD_GRACE,
                    )
                    .limit(BATCH)
                )
            ).all()
        changed = 0
        for row in rows:
            if await lifecycle.settle_pending(self.db, self.storage, row):
                changed += 1
                continue
            async with self.db.write() as session:
                result = await session.execute(
                    delete(StoredFile).where(StoredFile.id == row.id, StoredFile.status == PENDING)
                )
            changed += int(result.rowcount)  # type: ignore[attr-defined]
        return changed
