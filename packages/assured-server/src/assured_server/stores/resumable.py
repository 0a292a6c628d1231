"""Resumable (tus) upload rows: each query on them named once.

The writer lease (``writer_until``) is what makes "one writer per upload" hold across workers
and replicas: it is taken by a conditional update, moved on by compare-and-set while bytes
arrive, and the offset only advances under the lease that wrote the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.sql import Executable

from assured_server.db.engine import Database
from assured_server.db.models import ResumableUpload
from assured_server.stores.unit import Unit, writer_of

_UPLOADS = cast(Table, ResumableUpload.__table__)
_UNTIL = _UPLOADS.c.writer_until


class Resumables:
    """Reading and changing resumable upload rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, file_id: str) -> ResumableUpload | None:
        """The upload of that file, or ``None``."""
        return await self._db.fetch(ResumableUpload, file_id)

    async def add(self, row: ResumableUpload, unit: Unit | None = None) -> None:
        """Insert a new upload, in ``unit`` (with its file) or a durable write of its own."""
        await writer_of(self._db, unit).insert(row)

    async def take_writer(self, file_id: str, now: datetime, until: datetime) -> bool:
        """Become the one writer of the upload until ``until``; ``False`` if another is."""

        def build() -> Executable:
            return (
                update(_UPLOADS)
                .where(
                    _UPLOADS.c.file_id == bindparam("w_id"),
                    or_(_UNTIL.is_(None), _UNTIL < bindparam("w_now")),
                )
                .values(writer_until=bindparam("v_until"))
            )

        values = {"w_id": file_id, "w_now": now, "v_until": until}
        return bool(await self._db.run("resumable.take_writer", build, values))

    async def renew_writer(self, file_id: str, held: datetime, until: datetime | None) -> bool:
        """Move the lease ``held`` on to ``until`` (``None``: give it back) if it is still that
        one."""

        def build() -> Executable:
            return (
                update(_UPLOADS)
                .where(_UPLOADS.c.file_id == bindparam("w_id"), _UNTIL == bindparam("w_until"))
                .values(writer_until=bindparam("v_until"))
            )

        values = {"w_id": file_id, "w_until": held, "v_until": until}
        return bool(await self._db.run("resumable.renew_writer", build, values))

    async def release_writer(self, file_id: str, held: datetime) -> None:
        """Give the lease ``held`` back if it is still that one."""
        await self.renew_writer(file_id, held, None)

    async def advance(
        self,
        file_id: str,
        *,
        held: datetime,
        from_offset: int,
        to_offset: int,
        segments: str,
        unit: Unit | None = None,
    ) -> bool:
        """Record bytes up to ``to_offset`` (durably, before the 204) if the lease ``held`` and
        the offset ``from_offset`` are still current; ``False`` otherwise."""

        def build() -> Executable:
            return (
                update(_UPLOADS)
                .where(
                    _UPLOADS.c.file_id == bindparam("w_id"),
                    _UNTIL == bindparam("w_until"),
                    _UPLOADS.c.upload_offset == bindparam("w_offset"),
                )
                .values(upload_offset=bindparam("v_offset"), segments=bindparam("v_segments"))
            )

        values = {
            "w_id": file_id,
            "w_until": held,
            "w_offset": from_offset,
            "v_offset": to_offset,
            "v_segments": segments,
        }
        return bool(await writer_of(self._db, unit).run("resumable.advance", build, values))

    async def release_all_writers(self) -> int:
        """Give back every writer lease (a server starting on its own disk); how many."""

        def build() -> Executable:
            return (
                update(_UPLOADS)
                .where(_UNTIL.is_not(None))
                .values(writer_until=bindparam("v_until"))
            )

        return await self._db.run("resumable.release_all", build, {"v_until": None})

    async def claim_expired(
        self, now: datetime, until: datetime, limit: int
    ) -> Sequence[ResumableUpload]:
        """Take the lease of uploads past their ``expires_at`` that nobody writes to."""
        async with self._db.write() as session:
            query = (
                select(ResumableUpload)
                .where(
                    ResumableUpload.expires_at <= now,
                    or_(ResumableUpload.writer_until.is_(None), ResumableUpload.writer_until < now),
                )
                .limit(limit)
            )
            if not self._db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = (await session.scalars(query)).all()
            if rows:
                await session.execute(
                    update(ResumableUpload)
                    .where(ResumableUpload.file_id.in_([row.file_id for row in rows]))
                    .values(writer_until=until)
                )
        for row in rows:
            row.writer_until = until
        return rows

    async def live_ids(self, file_ids: list[str]) -> set[str]:
        """Which of ``file_ids`` still have an upload row."""
        if not file_ids:
            return set()
        async with self._db.read() as session:
            found = await session.scalars(
                select(ResumableUpload.file_id).where(ResumableUpload.file_id.in_(file_ids))
            )
            return set(found)

    async def delete(self, file_id: str) -> None:
        """Delete the upload row (its file stays)."""
        async with self._db.write() as session:
            await session.execute(delete(ResumableUpload).where(ResumableUpload.file_id == file_id))
