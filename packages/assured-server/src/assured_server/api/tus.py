"""Resumable uploads: the tus 1.0.0 endpoint (``/v3/accounts/{accountId}/tus``).

The protocol lives here (headers, metadata, status codes); the rules of the upload (where the
bytes go, when they are durable, how they are verified) in :mod:`assured_server.files.resumable`.
Every answer carries ``Tus-Resumable``, errors too: the handlers render :class:`ApiError`
themselves, with the contract's JSON body, and add the tus headers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable
from email.utils import format_datetime

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from assured_server.api.body import StrictBody
from assured_server.api.deps import Principal, principal, services
from assured_server.api.files_v3 import DEFAULT_EXPIRATION, BusinessTag, Description
from assured_server.api.handlers import error_response
from assured_server.auth.scopes import FILES_WRITE
from assured_server.clock import utcnow
from assured_server.errors import ApiError, ErrorCode, invalid, missing
from assured_server.files import lifecycle, resumable
from assured_server.files.rules import checked_content_type, checked_expiration, checked_filename
from assured_server.services import Services
from assured_server.storage.base import StorageUnavailable

router = APIRouter(prefix="/v3/accounts/{account_id}/tus", tags=["resumable uploads (tus)"])
TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,expiration,checksum,termination"
OFFSET_STREAM = "application/offset+octet-stream"


class _Metadata(StrictBody):
    """The optional metadata, with the v3 create's limits."""

    description: Description | None = None
    businessProcess: BusinessTag | None = None  # noqa: N815 - the wire name
    businessProcessAction: BusinessTag | None = None  # noqa: N815


def _tus_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}
    headers.update(extra or {})
    return headers


def _expires(value: object) -> str:
    return format_datetime(value, usegmt=True)  # type: ignore[arg-type]


async def _answer(request: Request, work: Callable[[], Awaitable[Response]]) -> Response:
    """Run ``work``; every answer, errors included, with ``Tus-Resumable``."""
    try:
        if request.headers.get("tus-resumable") != TUS_VERSION:
            return Response(status_code=412, headers=_tus_headers({"Tus-Version": TUS_VERSION}))
        response = await work()
    except ApiError as error:
        response = error_response(request, error)
    except StorageUnavailable:
        response = error_response(request, ApiError(ErrorCode.STORAGE_UNAVAILABLE))
    for name, value in _tus_headers().items():
        response.headers.setdefault(name, value)
    return response


async def _caller(request: Request, account_id: str) -> Principal:
    who = await principal(request)
    who.require_account(account_id)
    who.require(FILES_WRITE)
    return who


def _discovery() -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Checksum-Algorithm": ",".join(resumable.CHECKSUMS),
        },
    )


@router.options("", summary="tus discovery", include_in_schema=False)
@router.options("/{upload_id}", summary="tus discovery", include_in_schema=False)
async def discover(request: Request) -> Response:
    """``204`` with the versions, extensions, maximum size and checksum algorithms; no auth."""
    response = _discovery()
    response.headers["Tus-Max-Size"] = str(services(request).settings.max_upload_bytes)
    return response


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (value optional)."""
    pairs: dict[str, str] = {}
    if not header:
        return pairs
    for item in header.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not key:
            raise invalid("Upload-Metadata is malformed.", "Upload-Metadata")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            raise invalid(
                f"Upload-Metadata value of {key!r} is not base64 UTF-8.", "Upload-Metadata"
            ) from exc
    return pairs


def _length(request: Request, max_bytes: int) -> int:
    raw = request.headers.get("upload-length")
    if raw is None:
        deferred = request.headers.get("upload-defer-length") is not None
        detail = "Deferred length is not offered." if deferred else "Upload-Length is required."
        raise invalid(detail, "Upload-Length")
    if not raw.isdigit() or len(raw) > 19:
        raise invalid("Upload-Length must be a non-negative integer.", "Upload-Length")
    length = int(raw)
    if length > max_bytes:
        raise ApiError(
            ErrorCode.FILE_TOO_LARGE, f"The file is larger than the maximum of {max_bytes} bytes."
        )
    if length < 1:
        raise invalid("Upload-Length must be at least 1 byte.", "Upload-Length")
    return length


def _declared(svc: Services, who: Principal, meta: dict[str, str]) -> lifecycle.NewFile:
    """The metadata validated exactly as the v3 create's body (same order, same errors)."""
    name = meta.get("filename")
    content_type = meta.get("contentType", meta.get("filetype"))
    if name is None or not name.strip():
        raise missing("filename")
    if content_type is None or not content_type.strip():
        raise missing("contentType")
    try:
        extra = _Metadata.model_validate(
            {
                key: meta[key]
                for key in ("description", "businessProcess", "businessProcessAction")
                if key in meta
            }
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else None
        raise invalid("Upload-Metadata has a value over its limit.", field) from exc
    file_name = checked_filename(name, "filename")
    kind = checked_content_type(content_type, file_name, "contentType")
    expires_in = checked_expiration(
        meta.get("expiration", DEFAULT_EXPIRATION),
        svc.settings.max_expiration_seconds,
        "expiration",
    )
    return lifecycle.NewFile(
        account_id=who.account_id,
        file_name=file_name,
        content_type=kind.name,
        origin="v3",
        expires_in=expires_in,
        description=extra.description,
        business_process=extra.businessProcess,
        business_process_action=extra.businessProcessAction,
    )


@router.post("", summary="Create a resumable upload (tus)", include_in_schema=False)
async def create(account_id: str, request: Request) -> Response:
    """``201`` with ``Location``; with a body (``creation-with-upload``) its bytes are written."""

    async def work() -> Response:
        svc = services(request)
        who = await _caller(request, account_id)
        length = _length(request, svc.settings.max_upload_bytes)
        spec = _declared(svc, who, parse_metadata(request.headers.get("upload-metadata")))
        file, upload = await resumable.create(
            svc.stores, spec, length, svc.settings.resumable_upload_ttl_seconds, utcnow()
        )
        headers = {
            "Location": f"{request.url.path.rstrip('/')}/{file.id}",
            "Upload-Expires": _expires(upload.expires_at),
        }
        if request.headers.get("content-type") == OFFSET_STREAM:
            progress = await _write(svc, request, file.id, who, offset=0)
            headers["Upload-Offset"] = str(progress.offset)
        return Response(status_code=201, headers=_tus_headers(headers))

    return await _answer(request, work)


@router.head("/{upload_id}", summary="The offset of a resumable upload", include_in_schema=False)
async def offset(account_id: str, upload_id: str, request: Request) -> Response:
    """``200`` with ``Upload-Offset``, ``Upload-Length``, ``Upload-Expires``."""

    async def work() -> Response:
        svc = services(request)
        who = await _caller(request, account_id)
        file, upload = await resumable.find(svc.stores, who.account_id, upload_id, utcnow())
        if file.status not in ("pending", "available"):
            raise ApiError(ErrorCode.NOT_FOUND)
        headers = {
            "Upload-Offset": str(upload.upload_offset),
            "Upload-Length": str(upload.upload_length),
            "Upload-Expires": _expires(upload.expires_at),
        }
        return Response(status_code=200, headers=_tus_headers(headers))

    return await _answer(request, work)


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise ApiError(ErrorCode.INVALID_REQUEST, "The client went away mid-request.") from None


async def _write(
    svc: Services, request: Request, upload_id: str, who: Principal, *, offset: int
) -> resumable.Progress:
    file, upload = await resumable.find(svc.stores, who.account_id, upload_id, utcnow())
    if file.status != "pending":
        raise ApiError(ErrorCode.NOT_FOUND, "This upload has ended.")
    checksum = resumable.parse_checksum(request.headers.get("upload-checksum"))
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isdigit()
        and offset + int(declared) > upload.upload_length
    ):
        raise invalid("The request brings bytes past Upload-Length.", "Upload-Length")
    try:
        progress = await resumable.append(
            svc.stores,
            svc.storage,
            file,
            offset,
            _body(request),
            checksum=checksum,
            max_bytes=svc.settings.max_upload_bytes,
            safety=svc.safety,
        )
    except resumable.PastLength:
        raise invalid(
            "The request brings bytes past Upload-Length; nothing of it was kept.", "Upload-Length"
        ) from None
    # The upload is over: available, or pending while its scan is owed (the scanner could not
    # be reached; the File says so), or rejected with its reason.
    if progress.file is not None and progress.file.status not in ("available", "pending"):
        raise ApiError(ErrorCode(progress.file.rejection_reason or "CONTENT_MISMATCH"))
    return progress


async def _patch(account_id: str, upload_id: str, request: Request) -> Response:
    svc = services(request)
    who = await _caller(request, account_id)
    if request.headers.get("content-type") != OFFSET_STREAM:
        return Response(status_code=415, headers=_tus_headers())
    raw = request.headers.get("upload-offset", "")
    if not raw.isdigit() or len(raw) > 19:
        raise invalid("Upload-Offset must be a non-negative integer.", "Upload-Offset")
    progress = await _write(svc, request, upload_id, who, offset=int(raw))
    headers = {
        "Upload-Offset": str(progress.offset),
        "Upload-Expires": _expires(progress.expires_at),
    }
    return Response(status_code=204, headers=_tus_headers(headers))


async def _delete(account_id: str, upload_id: str, request: Request) -> Response:
    svc = services(request)
    who = await _caller(request, account_id)
    file, _upload = await resumable.find(svc.stores, who.account_id, upload_id, utcnow())
    await resumable.terminate(svc.stores, svc.storage, who.account_id, file)
    return Response(status_code=204, headers=_tus_headers())


@router.patch("/{upload_id}", summary="Append to a resumable upload", include_in_schema=False)
async def patch(account_id: str, upload_id: str, request: Request) -> Response:
    """``204`` with the new ``Upload-Offset`` once the bytes are durable."""
    return await _answer(request, lambda: _patch(account_id, upload_id, request))


@router.delete("/{upload_id}", summary="Terminate a resumable upload", include_in_schema=False)
async def terminate(account_id: str, upload_id: str, request: Request) -> Response:
    """``204``: the upload's bytes and its File are deleted."""
    return await _answer(request, lambda: _delete(account_id, upload_id, request))


@router.post("/{upload_id}", summary="X-HTTP-Method-Override", include_in_schema=False)
async def overridden(account_id: str, upload_id: str, request: Request) -> Response:
    """A ``POST`` with ``X-HTTP-Method-Override`` (for clients that cannot send the method)."""
    method = request.headers.get("x-http-method-override", "").upper()
    if method == "PATCH":
        return await patch(account_id, upload_id, request)
    if method == "DELETE":
        return await terminate(account_id, upload_id, request)
    if method == "HEAD":
        return await offset(account_id, upload_id, request)
    return await _answer(
        request,
        lambda: _raise(
            ApiError(
                ErrorCode.METHOD_NOT_ALLOWED,
                "Method not allowed.",
                headers={"Allow": "HEAD, PATCH, DELETE, OPTIONS"},
            )
        ),
    )


async def _raise(error: ApiError) -> Response:
    raise error
