"""Upload links (``upload_links``): each query on them named once.

Taking one of a link's slots is one conditional ``UPDATE`` (the count below ``max_files``, not
revoked, not expired) in the transaction that inserts the file: two people posting at once
through a link with one slot left get one file between them, never two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.sql import Executable

from assured_server.clock import is_uuid
from assured_server.db.engine import Database
from assured_server.db.models import UploadLink
from assured_server.stores.unit import Unit, owned_row, writer_of

_LINKS = cast(Table, UploadLink.__table__)


class UploadLinks:
    """Reading and changing upload links."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, row: UploadLink, unit: Unit | None = None) -> None:
        """Insert a new link, in ``unit`` or a durable write of its own."""
        await writer_of(self._db, unit).insert(row)

    async def owned(self, account_id: str, link_id: str) -> UploadLink | None:
        """The link with that id in that account, or ``None`` (also for a malformed id)."""
        return await owned_row(self._db, UploadLink, account_id, link_id)

    async def by_id(self, link_id: str) -> UploadLink | None:
        """The link with that id, whatever its account."""
        if not is_uuid(link_id):
            return None
        return await self._db.fetch(UploadLink, link_id)

    async def by_token_hash(self, digest: str) -> UploadLink | None:
        """The link whose token hashes to ``digest``, or ``None``."""
        async with self._db.read() as session:
            found = await session.scalars(
                select(UploadLink).where(UploadLink.token_hash == digest).limit(1)
            )
            return found.first()

    async def page(
        self, account_id: str, *, before_id: str | None, limit: int
    ) -> Sequence[UploadLink]:
        """Newest first (ids are UUIDv7), ``limit`` links after the cursor ``before_id``."""
        query = select(UploadLink).where(UploadLink.account_id == account_id)
        if before_id is not None:
            query = query.where(UploadLink.id < before_id)
        query = query.order_by(UploadLink.id.desc()).limit(limit)
        async with self._db.read() as session:
            return (await session.scalars(query)).all()

    async def revoke(self, account_id: str, link_id: str, now: datetime) -> bool:
        """Revoke the account's link (once: a second revocation keeps the first time);
        ``False`` if there is no such link."""
        if await self.owned(account_id, link_id) is None:
            return False

        def build() -> Executable:
            return (
                update(_LINKS)
                .where(
                    _LINKS.c.id == bindparam("w_id"),
                    _LINKS.c.account_id == bindparam("w_account"),
                    _LINKS.c.revoked_at.is_(None),
                )
                .values(revoked_at=bindparam("v_now"))
            )

        values = {"w_id": link_id, "w_account": account_id, "v_now": now}
        await self._db.run("upload_links.revoke", build, values)
        return True

    async def take_slot(self, link_id: str, now: datetime, unit: Unit) -> bool:
        """Count one more file against the link if it is active; ``False`` if it is not (used
        up, revoked or expired by now). In ``unit``, with the file's insert."""

        def build() -> Executable:
            return (
                update(_LINKS)
                .where(
                    _LINKS.c.id == bindparam("w_id"),
                    _LINKS.c.files_uploaded < _LINKS.c.max_files,
                    _LINKS.c.revoked_at.is_(None),
                    _LINKS.c.expires_at > bindparam("w_now"),
                )
                .values(files_uploaded=_LINKS.c.files_uploaded + bindparam("v_one"))
            )

        values = {"w_id": link_id, "w_now": now, "v_one": 1}
        return bool(await writer_of(self._db, unit).run("upload_links.take_slot", build, values))
