"""Moving a file through its states: create, settle after upload, delete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from assured_server.clock import new_id, utcnow
from assured_server.db.models import StoredFile
from assured_server.errors import ErrorCode
from assured_server.files.ingest import Ingested
from assured_server.files.records import (
    AVAILABLE,
    PENDING,
    REJECTED,
    landing_key,
    storage_key,
)
from assured_server.files.verify_stored import verify_stored
from assured_server.storage.base import (
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    StorageBackend,
)
from assured_server.stores import Unit
from assured_server.stores.files import Files

log = logging.getLogger(__name__)
# A landing object replaced this many times while being settled is left to the next sweep.
SETTLE_ATTEMPTS = 3


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
    upload_link_id: str | None = None


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
        upload_link_id=spec.upload_link_id,
    )


async def mark_available(
    files: Files,
    file_id: str,
    ingested: Ingested,
    *,
    uploaded_at: datetime | None = None,
    unit: Unit | None = None,
    **columns: object,
) -> bool:
    """``pending`` → ``available`` with size and digest; ``False`` if the row moved on first.

    ``columns``: more values to set in the same change (v1 settles the expiry here).
    ``unit``: a transaction writing more with it (else a write of its own).
    """
    return await files.transition(
        file_id,
        unit=unit,
        from_status=PENDING,
        status=AVAILABLE,
        size=ingested.size,
        sha256=ingested.sha256,
        uploaded_at=uploaded_at or utcnow(),
        **columns,
    )


async def mark_rejected(files: Files, file_id: str, reason: ErrorCode) -> bool:
    """``pending`` → ``rejected`` with the reason; its bytes are already gone.

    Final, so whoever held the row (an upload, a sweeper) holds it no longer.
    """
    return await files.transition(
        file_id,
        from_status=PENDING,
        status=REJECTED,
        rejection_reason=reason.value,
        purged_at=utcnow(),
        sweep_claimed_until=None,
    )


async def settle_pending(
    files: Files, storage: StorageBackend, row: StoredFile, *, max_bytes: int
) -> bool:
    """Finish a pending file whose bytes reached storage without being recorded.

    Bytes get there unrecorded two ways: a direct upload to a store that cannot tell the server
    (plain S3 leaves a landing object at ``uploads/<id>``), or a crash between committing the
    bytes at ``files/<id>`` and recording them. Either way they are verified again from storage,
    never trusted; a landing object is then copied (only the verified version) to ``files/<id>``
    and deleted. Returns ``False`` when nothing was uploaded. Concurrent settlers (``complete``,
    sweeps of several replicas) are safe: the first copy wins and the others verify that one.
    """
    final, landing = storage_key(row.id), landing_key(row.id)
    for _ in range(SETTLE_ATTEMPTS):
        placed = await _head(storage, final)
        if placed is not None:
            return await _settle_in_place(files, storage, row, placed, max_bytes)
        landed = await _head(storage, landing)
        if landed is None:
            return False
        try:
            verdict = await verify_stored(storage, landed, row.content_type, max_bytes)
        except (PreconditionFailed, ObjectNotFound):
            continue  # replaced, or moved by another settler, while we read it: look again
        if verdict is None:
            await storage.delete(landing)  # an empty object is no upload (S3 allows one)
            return False
        if isinstance(verdict, ErrorCode):
            await storage.delete(landing)
            await mark_rejected(files, row.id, verdict)
            return True
        try:
            await storage.copy(landing, final, if_match_etag=landed.etag)
        except (PreconditionFailed, ObjectExists, ObjectNotFound):
            # Replaced after verification, or another settler moved its verified version first
            # (then the next round settles that one): these bytes do not become the file.
            continue
        await _record(files, storage, row, Ingested(final, verdict.size, verdict.sha256))
        await storage.delete(landing)
        return True
    log.warning("the upload of file %s kept changing while it was verified", row.id)
    return False


async def _head(storage: StorageBackend, key: str) -> ObjectInfo | None:
    try:
        return await storage.head(key)
    except ObjectNotFound:
        return None


async def _settle_in_place(
    files: Files, storage: StorageBackend, row: StoredFile, placed: ObjectInfo, max_bytes: int
) -> bool:
    """The bytes are at ``files/<id>`` already: verify them there."""
    try:
        verdict = await verify_stored(storage, placed, row.content_type, max_bytes)
    except (PreconditionFailed, ObjectNotFound):
        # A permanent key never changes; gone means the file was deleted meanwhile.
        return False
    if verdict is None or isinstance(verdict, ErrorCode):
        await storage.delete(placed.key)
        if verdict is None:
            return False
        await mark_rejected(files, row.id, verdict)
    else:
        await _record(files, storage, row, verdict)
    # Whatever still sits at the landing key arrived later: a stray that never becomes the file.
    await storage.delete(landing_key(row.id))
    return True


async def _record(files: Files, storage: StorageBackend, row: StoredFile, done: Ingested) -> None:
    """Mark the file available; if it moved on meanwhile, drop bytes that are not its own."""
    if await mark_available(files, row.id, done):
        return
    current = await files.by_id(row.id)
    if current is None or current.status != AVAILABLE:
        # Deleted (or expired) while we copied: nothing may keep these bytes alive.
        await storage.delete(done.key)


async def delete_file(files: Files, storage: StorageBackend, account_id: str, file_id: str) -> bool:
    """Delete the bytes, then the row: after a crash in between, the delete can be redone."""
    row = await files.owned(account_id, file_id)
    if row is None:
        return False
    await storage.delete(storage_key(row.id))
    # A direct upload may still sit at its landing key (on S3, until verified).
    await storage.delete(landing_key(row.id))
    await files.delete(account_id, file_id)
    return True
