"""Claims that keep two sweepers (two replicas) from processing one file at the same time.

A claim is a lease on the row (``sweep_claimed_until``), taken in one short write
transaction: on PostgreSQL the candidates are read ``FOR UPDATE SKIP LOCKED`` so concurrent
sweepers get disjoint batches without waiting; on SQLite the write transaction already holds
the database's write lock. Nothing is held while the slow work (storage I/O) runs, and the
lease of a sweeper that died runs out by itself. An upload in flight holds the same lease on
its file (:mod:`assured_server.files.upload_lease`), so no sweeper acts on a file under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from assured_server.db.engine import Database
from assured_server.db.models import StoredFile

LEASE = timedelta(minutes=5)


def _unclaimed(now: datetime) -> Any:
    return or_(StoredFile.sweep_claimed_until.is_(None), StoredFile.sweep_claimed_until < now)


async def claim_where(
    db: Database, *conditions: Any, now: datetime, limit: int
) -> Sequence[StoredFile]:
    """Claim up to ``limit`` rows matching ``conditions`` that nobody holds; return them."""
    async with db.write() as session:
        query = select(StoredFile).where(*conditions, _unclaimed(now)).limit(limit)
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = (await session.scalars(query)).all()
        if rows:
            await session.execute(
                update(StoredFile)
                .where(StoredFile.id.in_([row.id for row in rows]))
                .values(sweep_claimed_until=now + LEASE)
            )
    return rows


async def release(db: Database, file_id: str) -> None:
    """Give a claimed row back (its work is done, or it should be retried next sweep)."""
    async with db.write() as session:
        await session.execute(
            update(StoredFile).where(StoredFile.id == file_id).values(sweep_claimed_until=None)
        )
