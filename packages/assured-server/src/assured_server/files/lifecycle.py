"""Moving a file through its states: create, settle after upload, delete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from assured_server.clock import new_id, utcnow
from assured_server.db.engine import Database
from assured_server.db.models import StoredFile
from assured_server.errors import ErrorCode
from assured_server.files.ingest import Ingested
from assured_server.files.records import (
    AVAILABLE,
    PENDING,
    REJECTED,
    get_file,
    storage_key,
    transition,
)
from assured_server.files.sniff import ContentMismatch, StreamVerifier
from assured_server.storage.base import ObjectNotFound, StorageBackend

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NewFile:
    """What a client declared for a new file."""

    account_id: str
    file_name: str
    content_type: str
    origin: str
    expires_in: int | None
    description: str | None = None
    business_process: str | None = None
    business_process_action: str | None = None


def new_row(spec: NewFile, *, now: datetime, upload_window: int | None) -> StoredFile:
    """A ``pending`` row for ``spec``; its upload window never outlasts the file."""
    expires_at = now + timedelta(seconds=spec.expires_in) if spec.expires_in else None
    upload_expires_at = now + timedelta(seconds=upload_window) if upload_window else None
    if upload_expires_at and expires_at and upload_expires_at > expires_at:
        upload_expires_at = expires_at
    return StoredFile(
        id=new_id(),
        account_id=spec.account_id,
        file_name=spec.file_name,
        content_type=spec.content_type,
        status=PENDING,
        description=spec.description,
        business_process=spec.business_process,
        business_process_action=spec.business_process_action,
        origin=spec.origin,
        created_at=now,
        expires_at=expires_at,
        upload_expires_at=upload_expires_at,
    )


async def mark_available(db: Database, file_id: str, ingested: Ingested) -> bool:
    """``pending`` → ``available`` with size and digest; ``False`` if the row moved on first."""
    async with db.write() as session:
        return await transition(
            session,
            file_id,
            from_status=PENDING,
            status=AVAILABLE,
            size=ingested.size,
            sha256=ingested.sha256,
            uploaded_at=utcnow(),
        )


async def mark_rejected(db: Database, file_id: str, reason: ErrorCode) -> bool:
    """``pending`` → ``rejected`` with the reason; its bytes are already gone."""
    async with db.write() as session:
        return await transition(
            session,
            file_id,
            from_status=PENDING,
            status=REJECTED,
            rejection_reason=reason.value,
            purged_at=utcnow(),
        )


async def settle_pending(db: Database, storage: StorageBackend, row: StoredFile) -> bool:
    """Finish a pending file whose bytes reached storage without being recorded.

    That happens when a process dies between committing the bytes and recording them, or on a
    store that cannot tell the server about uploads. The bytes are verified again from storage,
    never trusted. Returns ``False`` when nothing was uploaded.
    """
    key = storage_key(row.id)
    try:
        await storage.head(key)
    except ObjectNotFound:
        return False
    verifier = StreamVerifier(row.content_type)
    try:
        async for chunk in storage.read(key):
            verifier.feed(chunk)
        digest = verifier.finish()
    except ContentMismatch:
        await storage.delete(key)
        await mark_rejected(db, row.id, ErrorCode.CONTENT_MISMATCH)
        return True
    await mark_available(db, row.id, Ingested(key, verifier.size, digest))
    return True


async def delete_file(db: Database, storage: StorageBackend, account_id: str, file_id: str) -> bool:
    """Delete the bytes, then the row: after a crash in between, the delete can be redone."""
    async with db.read() as session:
        row = await get_file(session, account_id, file_id)
    if row is None:
        return False
    await storage.delete(storage_key(row.id))
    async with db.write() as session:
        current = await get_file(session, account_id, file_id)
        if current is not None:
            await session.delete(current)
    return True
