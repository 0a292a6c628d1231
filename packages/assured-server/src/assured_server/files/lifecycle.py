"""Moving a file through its states: create, settle after upload, delete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Unpack

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
from assured_server.files.screening import Refused, SafetyColumns, ScanOwed, safety_columns
from assured_server.files.verify_stored import verify_stored
from assured_server.safety.inspection import SafetyPolicy
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


async def mark_rejected(
    files: Files, file_id: str, reason: ErrorCode, **columns: Unpack[SafetyColumns]
) -> bool:
    """``pending`` → ``rejected`` with the reason; its bytes are already gone.

    Final, so whoever held the row (an upload, a sweeper) holds it no longer. ``columns``: what
    the content checks found, set in the same change.
    """
    return await files.transition(
        file_id,
        from_status=PENDING,
        status=REJECTED,
        rejection_reason=reason.value,
        purged_at=utcnow(),
        sweep_claimed_until=None,
        **columns,
    )


async def mark_refused(files: Files, file_id: str, refused: Refused) -> bool:
    """``pending`` → ``rejected`` for what the content checks found (its bytes are gone)."""
    return await mark_rejected(
        files, file_id, refused.code, **safety_columns(refused.outcome, utcnow())
    )


async def mark_scan_owed(
    files: Files, file_id: str, stored: Ingested, *, release: bool = False
) -> bool:
    """The file's bytes are stored at ``files/<id>`` but the scanner could not be reached: it
    stays ``pending`` (and is not served) until a sweep scans it (``scan.status`` pending).

    ``release``: give an upload's lease back in the same change.
    """
    assert stored.outcome is not None  # noqa: S101 - only an inspected upload owes a scan
    if release:
        return await files.transition(
            file_id,
            from_status=PENDING,
            size=stored.size,
            sweep_claimed_until=None,
            **safety_columns(stored.outcome, utcnow()),
        )
    return await files.transition(
        file_id, from_status=PENDING, size=stored.size, **safety_columns(stored.outcome, utcnow())
    )


async def settle_for_a_reader(
    files: Files, storage: StorageBackend, row: StoredFile, *, max_bytes: int, safety: SafetyPolicy
) -> bool:
    """:func:`settle_pending` for a request that reads a file's state (``complete``, the link
    page's status): a scan still owed counts as settled. Fail closed: the file was uploaded and
    verified but not scanned, so it stays pending (its ``scan.status`` says why) and the sweep
    scans it once the scanner answers."""
    try:
        return await settle_pending(files, storage, row, max_bytes=max_bytes, safety=safety)
    except ScanOwed:
        return True


async def settle_pending(
    files: Files,
    storage: StorageBackend,
    row: StoredFile,
    *,
    max_bytes: int,
    safety: SafetyPolicy | None = None,
) -> bool:
    """Finish a pending file whose bytes reached storage without being recorded.

    Bytes get there unrecorded two ways: a direct upload to a store that cannot tell the server
    (plain S3 leaves a landing object at ``uploads/<id>``), or a crash between committing the
    bytes at ``files/<id>`` and recording them. Either way they are verified again from storage,
    never trusted; a landing object is then copied (only the verified version) to ``files/<id>``
    and deleted. Returns ``False`` when nothing was uploaded. Concurrent settlers (``complete``,
    sweeps of several replicas) are safe: the first copy wins and the others verify that one.

    With ``safety`` the same read runs the content checks: a refusal rejects the file; a
    scanner that cannot be reached leaves the verified bytes at ``files/<id>`` and the file
    ``pending`` (a later sweep scans them) and raises :class:`ScanOwed`.
    """
    final, landing = storage_key(row.id), landing_key(row.id)
    for _ in range(SETTLE_ATTEMPTS):
        placed = await _head(storage, final)
        if placed is not None:
            return await _settle_in_place(files, storage, row, placed, max_bytes, safety)
        landed = await _head(storage, landing)
        if landed is None:
            return False
        try:
            verdict = await verify_stored(storage, landed, row.content_type, max_bytes, safety)
        except (PreconditionFailed, ObjectNotFound):
            continue  # replaced, or moved by another settler, while we read it: look again
        if verdict is None:
            await storage.delete(landing)  # an empty object is no upload (S3 allows one)
            return False
        if isinstance(verdict, ErrorCode):
            await storage.delete(landing)
            await mark_rejected(files, row.id, verdict)
            return True
        outcome = verdict.outcome
        if outcome is not None and outcome.rejection is not None:
            await storage.delete(landing)
            await mark_refused(files, row.id, Refused(outcome))
            return True
        try:
            await storage.copy(landing, final, if_match_etag=landed.etag)
        except (PreconditionFailed, ObjectExists, ObjectNotFound):
            # Replaced after verification, or another settler moved its verified version first
            # (then the next round settles that one): these bytes do not become the file.
            continue
        placed_bytes = Ingested(final, verdict.size, verdict.sha256, outcome)
        if outcome is not None and outcome.scan_owed:
            # Moved all the same: the landing key is no longer this upload's, and the next
            # scan reads the verified copy in place.
            await mark_scan_owed(files, row.id, placed_bytes)
            await storage.delete(landing)
            raise ScanOwed(outcome)
        await _record(files, storage, row, placed_bytes)
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
    files: Files,
    storage: StorageBackend,
    row: StoredFile,
    placed: ObjectInfo,
    max_bytes: int,
    safety: SafetyPolicy | None,
) -> bool:
    """The bytes are at ``files/<id>`` already: verify them there."""
    try:
        verdict = await verify_stored(storage, placed, row.content_type, max_bytes, safety)
    except (PreconditionFailed, ObjectNotFound):
        # A permanent key never changes; gone means the file was deleted meanwhile.
        return False
    outcome = None if verdict is None or isinstance(verdict, ErrorCode) else verdict.outcome
    if verdict is None or isinstance(verdict, ErrorCode):
        await storage.delete(placed.key)
        if verdict is None:
            return False
        await mark_rejected(files, row.id, verdict)
    elif outcome is not None and outcome.rejection is not None:
        await storage.delete(placed.key)
        await mark_refused(files, row.id, Refused(outcome))
    elif outcome is not None and outcome.scan_owed:
        await mark_scan_owed(files, row.id, verdict)
        await storage.delete(landing_key(row.id))
        raise ScanOwed(outcome)
    else:
        await _record(files, storage, row, verdict)
    # Whatever still sits at the landing key arrived later: a stray that never becomes the file.
    await storage.delete(landing_key(row.id))
    return True


async def _record(files: Files, storage: StorageBackend, row: StoredFile, done: Ingested) -> None:
    """Mark the file available; if it moved on meanwhile, drop bytes that are not its own."""
    checked = safety_columns(done.outcome, utcnow()) if done.outcome is not None else {}
    if await mark_available(files, row.id, done, **checked):
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
