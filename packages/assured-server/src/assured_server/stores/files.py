"""File rows (``stored_files``): each query on them named once.

Point reads go through the database's fast path (no ORM session); the hot conditional updates
(state changes, upload leases) are compiled once and run on the driver; the sweeper's batch
work goes through sessions.

Claims keep two sweepers (two replicas) from processing one file at the same time. A claim is
a lease on the row (``sweep_claimed_until``), taken in one short write transaction: on
PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED`` so concurrent sweepers get
disjoint batches without waiting; on SQLite the write transaction already holds the database's
write lock. An upload in flight holds the same lease on its file, so no sweeper acts on a file
under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.sql import Executable

from assured_server.clock import is_uuid
from assured_server.db.engine import Database
from assured_server.db.models import StoredFile
from assured_server.files.records import AVAILABLE, EXPIRED, PENDING, REJECTED
from assured_server.stores.unit import Unit, owned_row, writer_of

SCAN_OWED = "pending"
"""``scan_status`` of a pending file whose bytes are stored and wait for the scanner."""
LEASE = timedelta(minutes=5)
"""How long a claim (of a sweeper or an upload) holds a row unless renewed."""
# The table, for Core statements (the ORM's bulk-update machinery costs more than the update).
_FILES = cast(Table, StoredFile.__table__)
_UNTIL = _FILES.c.sweep_claimed_until


def _unclaimed(now: datetime) -> Any:
    return or_(StoredFile.sweep_claimed_until.is_(None), StoredFile.sweep_claimed_until < now)


class Files:
    """Reading and changing file rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reads --------------------------------------------------------------------------------

    async def owned(self, account_id: str, file_id: str) -> StoredFile | None:
        """The file with that id in that account, or ``None`` (also for a malformed id)."""
        return await owned_row(self._db, StoredFile, account_id, file_id)

    async def by_id(self, file_id: str) -> StoredFile | None:
        """The file with that id, whatever its account, or ``None`` (also for a malformed id)."""
        if not is_uuid(file_id):
            return None
        return await self._db.fetch(StoredFile, file_id)

    async def page(
        self,
        account_id: str,
        *,
        status: str | None,
        business_process: str | None,
        before_id: str | None,
        limit: int,
        now: datetime,
        upload_link_id: str | None = None,
    ) -> Sequence[StoredFile]:
        """Newest first (ids are UUIDv7), ``limit`` rows after the cursor ``before_id``; the
        status as clients see it (past ``expires_at`` a file counts as expired); only the
        files of one upload link when ``upload_link_id`` is given."""
        query = select(StoredFile).where(StoredFile.account_id == account_id)
        if status == EXPIRED:
            query = query.where(
                (StoredFile.status == EXPIRED)
                | (
                    StoredFile.status.in_((AVAILABLE, PENDING))
                    & (StoredFile.expires_at.is_not(None))
                    & (StoredFile.expires_at <= now)
                )
            )
        elif status in (AVAILABLE, PENDING):
            query = query.where(
                (StoredFile.status == status)
                & ((StoredFile.expires_at.is_(None)) | (StoredFile.expires_at > now))
            )
        elif status is not None:
            query = query.where(StoredFile.status == status)
        if business_process is not None:
            query = query.where(StoredFile.business_process == business_process)
        if upload_link_id is not None:
            query = query.where(StoredFile.upload_link_id == upload_link_id)
        if before_id is not None:
            query = query.where(StoredFile.id < before_id)
        query = query.order_by(StoredFile.id.desc()).limit(limit)
        async with self._db.read() as session:
            return (await session.scalars(query)).all()

    async def live_ids(self, file_ids: list[str]) -> set[str]:
        """Those of ``file_ids`` whose row may still own bytes (not gone, not purged)."""
        async with self._db.read() as session:
            found = await session.scalars(
                select(StoredFile.id).where(
                    StoredFile.id.in_(file_ids), StoredFile.purged_at.is_(None)
                )
            )
            return set(found)

    # --- writes -------------------------------------------------------------------------------

    async def add(self, row: StoredFile, unit: Unit | None = None) -> None:
        """Insert ``row`` as a new file, in ``unit`` or a durable write of its own."""
        await writer_of(self._db, unit).insert(row)

    async def transition(
        self, file_id: str, *, from_status: str, unit: Unit | None = None, **values: object
    ) -> bool:
        """Change a row only if it still has ``from_status``; ``False`` if another actor was
        first. In ``unit``, or a durable write of its own."""
        columns = tuple(sorted(values))

        def build() -> Executable:
            return (
                update(_FILES)
                .where(_FILES.c.id == bindparam("w_id"), _FILES.c.status == bindparam("w_status"))
                .values({column: bindparam(f"v_{column}") for column in columns})
            )

        bound = {f"v_{column}": value for column, value in values.items()}
        bound.update(w_id=file_id, w_status=from_status)
        writer = writer_of(self._db, unit)
        return bool(await writer.run(("files.transition", columns), build, bound))

    async def forget_upload(self, file_id: str) -> bool:
        """Delete the row of an upload that did not finish, in whatever state the row is by
        now (pending, or expired under the upload); ``False`` if it is gone, or ``available``
        (kept)."""

        def build() -> Executable:
            return delete(_FILES).where(
                _FILES.c.id == bindparam("w_id"), _FILES.c.status != bindparam("w_status")
            )

        values = {"w_id": file_id, "w_status": AVAILABLE}
        return bool(await self._db.run("files.forget_upload", build, values))

    async def delete(self, account_id: str, file_id: str) -> None:
        """Delete the row of that account's file, if it is still there."""
        if not is_uuid(file_id):
            return
        async with self._db.write() as session:
            current = await session.get(StoredFile, file_id)
            if current is not None and current.account_id == account_id:
                await session.delete(current)

    # --- the sweeper --------------------------------------------------------------------------

    async def expire(self, now: datetime) -> int:
        """Mark every available or pending file past its ``expires_at`` expired; how many."""
        async with self._db.write() as session:
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

    async def claim_unpurged(self, now: datetime, limit: int) -> Sequence[StoredFile]:
        """Claim expired and rejected files whose bytes are not yet deleted."""
        return await self._claim_where(
            StoredFile.status.in_((EXPIRED, REJECTED)),
            StoredFile.purged_at.is_(None),
            now=now,
            limit=limit,
        )

    async def claim_stale_uploads(
        self, cutoff: datetime, now: datetime, limit: int
    ) -> Sequence[StoredFile]:
        """Claim pending files whose upload window closed at or before ``cutoff``."""
        return await self._claim_where(
            StoredFile.status == PENDING,
            StoredFile.upload_expires_at.is_not(None),
            StoredFile.upload_expires_at <= cutoff,
            now=now,
            limit=limit,
        )

    async def claim_scan_owed(self, now: datetime, limit: int) -> Sequence[StoredFile]:
        """Claim pending files whose stored bytes wait for the malware scanner."""
        return await self._claim_where(
            StoredFile.status == PENDING,
            StoredFile.scan_status == SCAN_OWED,
            now=now,
            limit=limit,
        )

    async def claim_pending(self, file_id: str, now: datetime) -> StoredFile | None:
        """Claim one pending file; ``None`` if it is not pending or another holds it."""
        rows = await self._claim_where(
            StoredFile.id == file_id, StoredFile.status == PENDING, now=now, limit=1
        )
        return rows[0] if rows else None

    async def _claim_where(
        self, *conditions: Any, now: datetime, limit: int
    ) -> Sequence[StoredFile]:
        async with self._db.write() as session:
            query = select(StoredFile).where(*conditions, _unclaimed(now)).limit(limit)
            if not self._db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query)).all()
            if rows:
                await session.execute(
                    update(StoredFile)
                    .where(StoredFile.id.in_([row.id for row in rows]))
                    .values(sweep_claimed_until=now + LEASE)
                )
        return rows

    async def release_claim(self, file_id: str) -> None:
        """Give a claimed row back (its work is done, or it should be retried next sweep)."""
        async with self._db.write() as session:
            await session.execute(
                update(StoredFile).where(StoredFile.id == file_id).values(sweep_claimed_until=None)
            )

    async def mark_purged(self, file_id: str, now: datetime) -> bool:
        """Record that a file's bytes are deleted (and give its claim back); ``False`` if it was
        recorded already."""
        async with self._db.write() as session:
            result = await session.execute(
                update(StoredFile)
                .where(StoredFile.id == file_id, StoredFile.purged_at.is_(None))
                .values(purged_at=now, sweep_claimed_until=None)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def drop_pending(self, file_id: str) -> bool:
        """Delete a row that is still pending; ``False`` if it moved on or is gone."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(StoredFile).where(StoredFile.id == file_id, StoredFile.status == PENDING)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- upload leases ------------------------------------------------------------------------

    async def take_lease(self, file_id: str, now: datetime, until: datetime) -> bool:
        """Take the lease of a ``pending`` file that nobody holds, until ``until``."""

        def build() -> Executable:
            return (
                update(_FILES)
                .where(
                    _FILES.c.id == bindparam("w_id"),
                    _FILES.c.status == bindparam("w_status"),
                    or_(_UNTIL.is_(None), _UNTIL < bindparam("w_now")),
                )
                .values(sweep_claimed_until=bindparam("v_until"))
            )

        values = {"w_id": file_id, "w_status": PENDING, "w_now": now, "v_until": until}
        return bool(await self._db.run("files.lease_claim", build, values))

    async def renew_lease(self, file_id: str, held: datetime, until: datetime) -> bool:
        """Move the lease ``held`` on to ``until`` if it is still that one and the file still
        ``pending`` (compare-and-set)."""

        def build() -> Executable:
            return (
                update(_FILES)
                .where(
                    _FILES.c.id == bindparam("w_id"),
                    _FILES.c.status == bindparam("w_status"),
                    _UNTIL == bindparam("w_until"),
                )
                .values(sweep_claimed_until=bindparam("v_until"))
            )

        values = {"w_id": file_id, "w_status": PENDING, "w_until": held, "v_until": until}
        return bool(await self._db.run("files.lease_renew", build, values))

    async def release_lease(self, file_id: str, held: datetime) -> None:
        """Give the lease ``held`` back if it is still that one."""

        def build() -> Executable:
            return (
                update(_FILES)
                .where(_FILES.c.id == bindparam("w_id"), _UNTIL == bindparam("w_until"))
                .values(sweep_claimed_until=bindparam("v_until"))
            )

        values = {"w_id": file_id, "w_until": held, "v_until": None}
        await self._db.run("files.lease_release", build, values)

    async def release_all_leases(self) -> int:
        """Give back every lease on a file; how many there were."""

        def build() -> Executable:
            return (
                update(_FILES)
                .where(_UNTIL.is_not(None))
                .values(sweep_claimed_until=bindparam("v_until"))
            )

        return await self._db.run("files.lease_release_all", build, {"v_until": None})
