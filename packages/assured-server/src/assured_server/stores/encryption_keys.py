"""Account keys of encryption at rest (wrapped by the master key): each query named once."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from assured_server.db.engine import Database
from assured_server.db.errors import ConstraintViolation
from assured_server.db.models import EncryptionKey


class EncryptionKeys:
    """Reading, adding, re-wrapping and destroying wrapped account keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, owner: str) -> EncryptionKey | None:
        """The wrapped key of ``owner``, or ``None`` (never made, or destroyed)."""
        async with self._db.read() as session:
            return await session.get(EncryptionKey, owner)

    async def add_if_absent(self, row: EncryptionKey) -> EncryptionKey:
        """Store ``row`` unless ``owner`` has a key already; the key that is stored either way
        (two workers making an account's first key at once agree on one)."""
        try:
            async with self._db.write() as session:
                session.add(row)
                await session.flush()
            return row
        except ConstraintViolation:
            stored = await self.get(row.owner)
            if stored is None:  # destroyed in between: the caller's key would be shredded too
                raise
            return stored

    async def destroy(self, owner: str) -> bool:
        """Delete the key of ``owner`` (crypto-shredding); whether there was one."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(EncryptionKey).where(EncryptionKey.owner == owner)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def master_ids(self) -> dict[str, int]:
        """How many keys each master key (by id) wraps."""
        async with self._db.read() as session:
            rows = await session.execute(
                select(EncryptionKey.master_id, func.count()).group_by(EncryptionKey.master_id)
            )
            return {str(master): int(count) for master, count in rows}

    async def wrapped_by(self, master_id: str, *, limit: int) -> list[EncryptionKey]:
        """At most ``limit`` keys wrapped by the master key ``master_id``, by owner."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(EncryptionKey)
                .where(EncryptionKey.master_id == master_id)
                .order_by(EncryptionKey.owner)
                .limit(limit)
            )
            return list(rows)

    async def rewrap(self, owner: str, from_master: str, wrapped: bytes, to_master: str) -> bool:
        """Replace the wrapping of ``owner``'s key if ``from_master`` still wraps it."""
        async with self._db.write() as session:
            result = await session.execute(
                update(EncryptionKey)
                .where(EncryptionKey.owner == owner, EncryptionKey.master_id == from_master)
                .values(wrapped=wrapped, master_id=to_master)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]
