"""``POST /api/v1/files/handle/``: the v1 upload, streamed from the socket into storage."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from starlette.responses import JSONResponse

from assured_server.api import idempotency, schemas
from assured_server.api.deps import Principal, principal, services
from assured_server.api.multipart import MultipartError, MultipartLimits, MultipartReader, Part
from assured_server.api.schemas import answers
from assured_server.auth.scopes import FILES_WRITE
from assured_server.clock import rfc3339, utcnow
from assured_server.db.models import StoredFile
from assured_server.errors import ApiError, ErrorCode, invalid, missing
from assured_server.files import lifecycle
from assured_server.files.ingest import Ingested, TooLarge, TooSmall, ingest
from assured_server.files.records import AVAILABLE, EXPIRED, storage_key
from assured_server.files.screening import Refused, ScanOwed, safety_columns
from assured_server.files.sniff import ContentMismatch
from assured_server.files.upload_lease import RELEASED, UploadLease, UploadLost
from assured_server.files.v1_form import UploadForm
from assured_server.files.views import safety_v1, storage_url
from assured_server.safety.inspection import Inspection
from assured_server.services import Services
from assured_server.storage.base import StorageError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/files", tags=["files (v1)"])
Caller = Annotated[Principal, Depends(principal)]
FORM_LIMITS = MultipartLimits(max_parts=8, max_part_header_bytes=8192, max_field_bytes=1024)
# Room for the form's own framing and small fields on top of the file itself.
FORM_OVERHEAD = 64 << 10
# Seconds a client waits before sending a file again while the scanner is unreachable.
SCANNER_RETRY_AFTER = 5


def _too_large(limit: int) -> ApiError:
    return ApiError(
        ErrorCode.FILE_TOO_LARGE, f"The file is larger than the maximum of {limit} bytes."
    )


class _Fingerprint:
    """Digest of a form as "the same request": parts' names, filenames, types and contents.

    Entries keep body order; a file's entry gets its content digest once the file is read.
    """

    def __init__(self) -> None:
        self._entries: list[list[str]] = []

    def add(self, part: Part, content_sha256: str = "") -> int:
        self._entries.append(
            [part.name, part.filename or "", part.content_type or "", content_sha256]
        )
        return len(self._entries) - 1

    def set_content(self, index: int, content_sha256: str) -> None:
        self._entries[index][3] = content_sha256

    def hexdigest(self) -> str:
        digest = hashlib.sha256(b"multipart:")
        for entry in self._entries:
            for value in entry:
                encoded = value.encode("utf-8", "surrogatepass")
                digest.update(len(encoded).to_bytes(8, "big") + encoded)
        return digest.hexdigest()


@router.post(
    "/handle/",
    status_code=201,
    summary="Upload a PDF, PNG or JPEG (streamed)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "mime_type": {"type": "string"},
                            "expiration": {"type": "string", "example": "30d"},
                        },
                    }
                }
            },
        }
    },
    **answers(schemas.FileV1, 201),
)
async def handle(request: Request, who: Caller) -> Response:
    """Stream the ``file`` part into storage, verified on the fly; 201 with its ``s3://`` URI."""
    who.require(FILES_WRITE)
    svc = services(request)
    limit = svc.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise _too_large(limit)
    async with idempotency.keyed(svc, request, who.account_id) as guard:
        try:
            reader = MultipartReader(
                request.stream(), request.headers.get("content-type", ""), FORM_LIMITS
            )
            if guard is not None and guard.is_repeat:
                return guard.replay(await _fingerprint_only(reader, limit))
            body = await _upload(svc, who, reader, guard)
        except MultipartError as exc:
            raise invalid(f"The request is not a valid multipart form: {exc.message}") from exc
    return JSONResponse(body, status_code=201)


async def _upload(
    svc: Services, who: Principal, reader: MultipartReader, guard: idempotency.Guard | None
) -> dict[str, Any]:
    """The response body of a stored upload (recorded for ``guard``'s key, if any)."""
    form = UploadForm()
    fingerprint = _Fingerprint()
    parts = aiter(reader)
    pending: list[StoredFile] = []  # the row once the file part starts, for clean-up
    try:
        async for part in parts:
            form.note_part(part.name)
            if part.name == "file":
                return await _receive_file(
                    svc, who, form, _Recorder(guard, fingerprint), part, parts, pending
                )
            await _field(form, fingerprint, part)
        else:
            raise missing("file")
    except TooLarge as exc:
        await _forget(svc, pending)
        raise _too_large(exc.limit) from exc
    except TooSmall as exc:
        await _forget(svc, pending)
        raise missing("file") from exc
    except ContentMismatch as exc:
        await _forget(svc, pending)
        raise ApiError(ErrorCode.CONTENT_MISMATCH, str(exc), field="file") from exc
    except Refused as exc:
        await _forget(svc, pending)
        raise ApiError(exc.code, _refusal_detail(exc), field="file") from exc
    except ScanOwed as exc:
        # Fail closed: a file the scanner did not see is not kept; the client sends it again.
        await _forget(svc, pending)
        log.warning("v1 upload refused: the malware scanner is unavailable (%s)", exc)
        raise ApiError(
            ErrorCode.SCANNER_UNAVAILABLE,
            headers={"Retry-After": str(SCANNER_RETRY_AFTER)},
        ) from exc
    except UploadLost as exc:
        error = await _lost(svc, pending[0])
        await _forget(svc, pending)
        raise error from exc
    except BaseException:
        await _forget(svc, pending)
        raise


async def _field(form: UploadForm, fingerprint: _Fingerprint, part: Part) -> None:
    value = await _text(part)
    fingerprint.add(part, hashlib.sha256(value.encode()).hexdigest())
    setattr(form, part.name, value)


async def _receive_file(
    svc: Services,
    who: Principal,
    form: UploadForm,
    recorder: _Recorder,
    part: Part,
    parts: AsyncIterator[Part],
    pending: list[StoredFile],
) -> dict[str, Any]:
    """Stream the file part into storage; the parts after it are read before the commit."""
    fingerprint = recorder.fingerprint
    entry = fingerprint.add(part)
    content_type = form.file_type(part.filename)
    form.part_type = part.content_type
    maximum = svc.settings.max_expiration_seconds
    now = utcnow()
    row = lifecycle.new_row(
        lifecycle.NewFile(
            who.account_id, form.file_name or "", content_type.name, "v1", form.expires_in(maximum)
        ),
        now=now,
        upload_window=svc.settings.upload_url_ttl,
    )
    # Recorded as pending first: if the process dies mid-upload, the sweeper finds the row and
    # cleans up; bytes never exist without a row that accounts for them. The row is inserted
    # leased to this request, and the lease renews itself while bytes arrive, so no sweeper
    # drops or purges it under an upload that is slow but alive, however long it takes.
    lease = UploadLease.of_new_row(svc.stores.files, row, now)
    await svc.stores.files.add(row)
    pending.append(row)

    async def rest_of_form() -> None:
        async for later in parts:
            form.note_part(later.name)
            await _field(form, fingerprint, later)
        form.check_declared(content_type)
        row.expires_at = _expiry(row, form.expires_in(maximum))
        if row.expires_at is not None and row.expires_at <= utcnow():
            raise _expired()
        await lease.keep()

    # Scanned while the bytes arrive (no second read); the scan's verdict comes before the
    # commit, and nothing the scanner did not see is kept.
    inspection = Inspection(svc.safety, content_type.name)
    await inspection.start()
    ingested = await ingest(
        svc.storage,
        storage_key(row.id),
        part,
        content_type=content_type.name,
        max_bytes=svc.settings.max_upload_bytes,
        before_commit=rest_of_form,
        heartbeat=lease.keep,
        inspection=inspection,
    )
    fingerprint.set_content(entry, ingested.sha256)
    return await _record(svc, row, ingested, recorder, lease)


class _Recorder:
    """The request's key (if any) and its fingerprint, to store the response under."""

    def __init__(self, guard: idempotency.Guard | None, fingerprint: _Fingerprint) -> None:
        self.guard = guard
        self.fingerprint = fingerprint


async def _record(
    svc: Services, row: StoredFile, ingested: Ingested, recorder: _Recorder, lease: UploadLease
) -> dict[str, Any]:
    """``pending`` → ``available``, with the expiry the whole form settled on; the response."""
    uploaded_at = utcnow()
    checked = safety_columns(ingested.outcome, uploaded_at) if ingested.outcome else {}
    async with svc.stores.unit() as unit:
        settled = await lifecycle.mark_available(
            svc.stores.files,
            row.id,
            ingested,
            uploaded_at=uploaded_at,
            unit=unit,
            expires_at=row.expires_at,
            upload_expires_at=None,
            **RELEASED,
            **checked,
        )
        if not settled:
            # The row left ``pending`` under us (expired, or dropped after a stall longer than
            # the lease): the bytes just committed are still this request's, and go.
            raise UploadLost(row.id)
        lease.given_back()
        # The row is this request's own copy: it now says what the database says.
        row.status, row.size, row.sha256 = AVAILABLE, ingested.size, ingested.sha256
        row.uploaded_at, row.upload_expires_at = uploaded_at, None
        for column, value in checked.items():
            setattr(row, column, value)
        body = _v1_body(svc, row)
        if recorder.guard is not None:
            # The available file and the key's stored response commit together.
            await recorder.guard.record(unit, recorder.fingerprint.hexdigest(), 201, body)
    return body


def _expiry(row: StoredFile, expires_in: int | None) -> datetime | None:
    return row.created_at + timedelta(seconds=expires_in) if expires_in else None


async def _forget(svc: Services, pending: list[StoredFile]) -> None:
    """Remove the row and the bytes of a refused upload: nothing half-done stays.

    The request owns its bytes until the commit that makes them the file's, so they go whatever
    state the row is in (pending, expired, purged, gone), and so does the row: its client never
    learnt its id. Only an ``available`` row stands: a request cancelled while its final commit
    was under way fails although that commit went through, and the file (with the response its
    Idempotency-Key replays) then stands.
    """
    if not pending:
        return
    row = pending[0]
    with anyio.CancelScope(shield=True):
        await svc.stores.files.forget_upload(row.id)
        if await svc.stores.files.by_id(row.id) is not None:
            return  # available: the commit went through
        try:
            await svc.storage.delete(storage_key(row.id))
        except StorageError:
            # The writer already threw away any uncommitted bytes; the sweep's reconciliation
            # of storage removes committed ones that no row accounts for.
            log.warning("could not delete the bytes of refused upload %s", row.id)


async def _lost(svc: Services, row: StoredFile) -> ApiError:
    """The answer to an upload whose row left ``pending`` under it.

    410 when the expiration it asked for passed during the upload (the file would be expired on
    arrival, and is not kept past its life); else the row was dropped because the upload stalled
    longer than its lease (a client that stopped sending for minutes): 503 with ``Retry-After``,
    which clients retry, since the same request sent again succeeds.
    """
    current = await svc.stores.files.by_id(row.id)
    now = utcnow()
    if (current is not None and current.status == EXPIRED) or (
        row.expires_at is not None and row.expires_at <= now
    ):
        return _expired()
    return ApiError(
        ErrorCode.SERVICE_UNAVAILABLE,
        "The upload stalled longer than the server holds an upload open; send it again.",
    )


def _expired() -> ApiError:
    return ApiError(
        ErrorCode.FILE_EXPIRED, "The file's expiration passed before its upload finished."
    )


async def _text(part: Part) -> str:
    try:
        return (await part.read_field()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(f"Form part {part.name!r} must be UTF-8 text.", field=part.name) from exc
    except MultipartError as exc:
        if exc.reason == "field_too_large":
            raise invalid(f"Form part {part.name!r} is too long.", field=part.name) from exc
        raise


async def _fingerprint_only(reader: MultipartReader, limit: int) -> str:
    """Hash a repeated form without keeping it, to tell a replay from a different request."""
    fingerprint = _Fingerprint()
    async for part in reader:
        digest, size = hashlib.sha256(), 0
        async for chunk in part:
            size += len(chunk)
            if size > limit + FORM_OVERHEAD:
                raise _too_large(limit)
            digest.update(chunk)
        fingerprint.add(part, digest.hexdigest())
    return fingerprint.hexdigest()


def _v1_body(svc: Services, row: StoredFile) -> dict[str, Any]:
    return {
        "id": row.id,
        "file_url": storage_url(svc.settings.bucket, row.id),
        "filename": row.file_name,
        "mime_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "created_at": rfc3339(row.created_at),
        "expires_at": rfc3339(row.expires_at),
        **safety_v1(row),
    }


def _refusal_detail(refused: Refused) -> str:
    """What the client is told; a malware finding names its signature, as ``scan`` would."""
    texts = {
        ErrorCode.MALWARE_DETECTED: "The file contains malware",
        ErrorCode.ACTIVE_CONTENT: "The PDF contains active content, which is not accepted",
        ErrorCode.IMAGE_TOO_LARGE: "The image declares more pixels than the server accepts",
        ErrorCode.UNSCANNABLE: "The file is larger than the malware scanner can read whole",
        ErrorCode.CONTENT_MISMATCH: "The image's header cannot be read as its type",
    }
    detail = texts.get(refused.code, "The file was rejected")
    return f"{detail} ({refused})." if str(refused) else f"{detail}."
