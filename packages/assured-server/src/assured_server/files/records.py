"""Reading and changing file rows; every query is scoped to one account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from assured_server.clock import is_uuid
from assured_server.db.engine import Database
from assured_server.db.models import StoredFile
from assured_server.db.statements import Writer

PENDING = "pending"
AVAILABLE = "available"
REJECTED = "rejected"
EXPIRED = "expired"
STATUSES = (PENDING, AVAILABLE, REJECTED, EXPIRED)
# The table, for Core statements (the ORM's bulk-update machinery costs more than the update).
_FILES = cast(Table, StoredFile.__table__)


FILES_PREFIX = "files/"
"""Where files' bytes live (``files/<id>``) once verified."""


def storage_key(file_id: str) -> str:
    """The permanent key of a file's bytes."""
    return f"{FILES_PREFIX}{file_id}"


LANDING_PREFIX = "uploads/"
"""Where direct uploads land (``uploads/<id>``) until verification moves them to ``files/<id>``."""


def landing_key(file_id: str) -> str:
    """The key a direct upload posts to (a landing place until verification)."""
    return f"{LANDING_PREFIX}{file_id}"


def effective_status(row: StoredFile, now: datetime) -> str:
    """The status as a client sees it: past ``expiresAt`` a file is expired, swept or not."""
    if row.status in (AVAILABLE, PENDING) and row.expires_at is not None and row.expires_at <= now:
        return EXPIRED
    return row.status


async def fetch_file(db: Database, account_id: str, file_id: str) -> StoredFile | None:
    """Like :func:`get_file`, for a request that only reads the row (``Database.fetch``)."""
    return await db.fetch_owned(StoredFile, account_id, file_id)


async def get_file(session: AsyncSession, account_id: str, file_id: str) -> StoredFile | None:
    """The file with that id in that account, or ``None`` (also for a malformed id)."""
    if not is_uuid(file_id):
        return None
    row = await session.get(StoredFile, file_id)
    if row is None or row.account_id != account_id:
        return None
    return row


async def list_files(
    session: AsyncSession,
    account_id: str,
    *,
    status: str | None,
    business_process: str | None,
    before_id: str | None,
    limit: int,
    now: datetime,
) -> Sequence[StoredFile]:
    """Newest first (ids are UUIDv7), ``limit`` rows after the cursor ``before_id``."""
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
    if before_id is not None:
        query = query.where(StoredFile.id < before_id)
    query = query.order_by(StoredFile.id.desc()).limit(limit)
    return (await session.scalars(query)).all()


async def transition(writer: Writer, file_id: str, *, from_status: str, **values: object) -> bool:
    """Change a row only if it still has ``from_status``; ``False`` if another actor was first.

    ``writer``: the database (a write of its own) or a transaction to be part of.
    """
    columns = tuple(sorted(values))

    def build() -> Executable:
        return (
            update(_FILES)
            .where(_FILES.c.id == bindparam("w_id"), _FILES.c.status == bindparam("w_status"))
            .values({column: bindparam(f"v_{column}") for column in columns})
        )

    bound = {f"v_{column}": value for column, value in values.items()}
    bound.update(w_id=file_id, w_status=from_status)
    return bool(await writer.run(("files.transition", columns), build, bound))


async def forget_upload(writer: Writer, file_id: str) -> bool:
    """Delete the row of an upload that did not finish, in whatever state the row is by now
    (pending, or expired under the upload); ``False`` if it is gone, or ``available`` (kept).
    """

    def build() -> Executable:
        return delete(_FILES).where(
            _FILES.c.id == bindparam("w_id"), _FILES.c.status != bindparam("w_status")
        )

    return bool(
        await writer.run("files.forget_upload", build, {"w_id": file_id, "w_status": AVAILABLE})
    )
