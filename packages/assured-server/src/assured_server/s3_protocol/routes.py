"""The embedded storage endpoints: S3 "POST Object" with a SigV4 policy, pre-signed GET/HEAD."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from starlette.responses import StreamingResponse

from assured_server.api.deps import services
from assured_server.api.multipart import MultipartError, MultipartLimits, MultipartReader, Part
from assured_server.clock import utcnow
from assured_server.db.models import StoredFile
from assured_server.errors import ErrorCode
from assured_server.files import lifecycle
from assured_server.files.downloads import response_params
from assured_server.files.form_upload import UploadRefused, open_upload, servable
from assured_server.files.ingest import Ingested, TooLarge, TooSmall, ingest
from assured_server.files.records import storage_key
from assured_server.files.screening import Refused, safety_columns
from assured_server.files.sniff import ContentMismatch
from assured_server.files.upload_lease import RELEASED, UploadLease, UploadLost
from assured_server.s3_protocol import openapi
from assured_server.s3_protocol.errors import S3Error, access_denied
from assured_server.s3_protocol.ranges import parse_range
from assured_server.s3_protocol.sigv4 import (
    Credentials,
    PostPolicy,
    verify_post,
    verify_presigned_url,
)
from assured_server.s3_protocol.sigv4_policy import SigV4Error
from assured_server.s3_protocol.xml import post_response_xml
from assured_server.safety.inspection import Inspection
from assured_server.services import Services
from assured_server.storage.base import ObjectExists, ObjectNotFound
from assured_server.storage.encryption import ObjectUnreadable

log = logging.getLogger(__name__)
router = APIRouter(prefix="/storage", tags=["storage (S3 protocol)"])
# A form of at most 20 fields, none over 20 KiB (a policy is the longest), then the file.
FORM_LIMITS = MultipartLimits(max_parts=20, max_part_header_bytes=8192, max_field_bytes=20 << 10)


def _credentials_lookup(svc: Services) -> Credentials:
    # With the S3 backend the store is elsewhere (uploadUrl and download URLs point at it); the
    # backend holds credentials too, but these endpoints must never act on its behalf.
    if svc.settings.storage_backend != "filesystem":
        raise S3Error("NotImplemented", "This server does not host the storage.", 501)
    creds = getattr(svc.storage, "credentials", None)
    if not isinstance(creds, Credentials):
        raise S3Error("NotImplemented", "This server does not host the storage.", 501)
    return creds


def _lookup(creds: Credentials):  # type: ignore[no-untyped-def]
    def creds_for(access_key_id: str) -> Credentials | None:
        if hmac.compare_digest(access_key_id.encode(), creds.access_key_id.encode()):
            return creds
        return None

    return creds_for


def _check_bucket(svc: Services, bucket: str) -> None:
    if bucket != svc.settings.bucket:
        raise S3Error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=bucket)


def _sig_error(exc: SigV4Error) -> S3Error:
    return S3Error(exc.code, exc.message, exc.status)


async def _read_form(reader: MultipartReader) -> tuple[dict[str, str], Part | None]:
    """The text fields before the file part, and the file part (S3 ignores fields after it)."""
    form: dict[str, str] = {}
    async for part in reader:
        if part.name.lower() == "file":
            return form, part
        value = await part.read_field()
        if part.name in form:
            raise S3Error("InvalidArgument", f"Duplicate form field '{part.name}'.", 400)
        try:
            form[part.name] = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise S3Error("InvalidArgument", "Form fields must be UTF-8 text.", 400) from exc
    return form, None


@router.post(
    "/{bucket}",
    summary="Upload with a pre-signed POST form",
    openapi_extra=openapi.POST_OBJECT,
    responses=openapi.XML_ERRORS,
)
async def post_object(bucket: str, request: Request) -> Response:
    """S3 POST Object: verify the policy, then stream the verified file into place."""
    svc = services(request)
    creds = _credentials_lookup(svc)
    _check_bucket(svc, bucket)
    try:
        reader = MultipartReader(
            request.stream(), request.headers.get("content-type", ""), FORM_LIMITS
        )
        form, file_part = await _read_form(reader)
    except MultipartError as exc:
        raise S3Error(
            "MalformedPOSTRequest",
            f"The body of your POST request is not well-formed multipart/form-data: {exc.message}",
            400,
        ) from exc
    if file_part is None:
        raise S3Error("InvalidArgument", "POST requires exactly one file upload per request.", 400)
    now = utcnow()
    try:
        policy = verify_post(_lookup(creds), form, bucket=bucket, now=now)
    except SigV4Error as exc:
        if exc.code == "SignatureDoesNotMatch":
            # The contract names AccessDenied for a POST whose policy signature is bad.
            raise access_denied(exc.message) from exc
        raise _sig_error(exc) from exc
    key = policy.fields["key"]
    try:
        row, lease = await open_upload(
            svc.stores.files, key, policy.fields.get("content-type"), now
        )
    except UploadRefused as exc:
        raise access_denied(str(exc)) from None
    try:
        ingested = await _receive(svc, policy, row, file_part, lease)
    finally:
        await lease.release()  # after a failure, a retry of the same form may start again
    etag = f'"{ingested.sha256[:32]}"'
    location = f"{svc.settings.effective_public_url}/storage/{bucket}/{key}"
    headers = {"ETag": etag, "Location": location}
    status = policy.fields.get("success_action_status", "204")
    if status == "201":
        body = post_response_xml(location=location, bucket=bucket, key=key, etag=etag)
        return Response(body, status_code=201, media_type="application/xml", headers=headers)
    return Response(status_code=200 if status == "200" else 204, headers=headers)


async def _receive(
    svc: Services, policy: PostPolicy, row: StoredFile, file_part: Part, lease: UploadLease
) -> Ingested:
    """Stream the file part into place, verified, and settle the file; S3 errors otherwise."""
    file_id = row.id
    low, high = policy.content_length_range or (1, svc.settings.max_upload_bytes)
    maximum = min(high, svc.settings.max_upload_bytes)
    # The content checks see the bytes as they pass: the file's state is final (or its scan
    # owed) when the POST answers, with no second read.
    inspection = Inspection(svc.safety, row.content_type)
    await inspection.start()
    try:
        ingested = await ingest(
            svc.storage,
            storage_key(file_id),
            file_part,
            content_type=row.content_type,
            max_bytes=maximum,
            min_bytes=max(1, low),
            heartbeat=lease.keep,
            before_commit=lease.keep,
            inspection=inspection,
            keep_unscanned=True,
        )
    except Refused as exc:
        await lifecycle.mark_refused(svc.stores.files, file_id, exc)
        raise S3Error(
            "InvalidContent", f"The file was rejected ({exc.code.value}): {exc}", 400
        ) from exc
    except TooLarge as exc:
        await lifecycle.mark_rejected(svc.stores.files, file_id, ErrorCode.FILE_TOO_LARGE)
        raise S3Error(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed size",
            400,
            MaxSizeAllowed=str(exc.limit),
        ) from exc
    except TooSmall as exc:
        raise S3Error(
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed size",
            400,
            MinSizeAllowed=str(exc.minimum),
        ) from exc
    except ContentMismatch as exc:
        await lifecycle.mark_rejected(svc.stores.files, file_id, ErrorCode.CONTENT_MISMATCH)
        raise S3Error("InvalidContent", str(exc), 400) from exc
    except (ObjectExists, UploadLost) as exc:
        raise access_denied("This upload is no longer open.") from exc
    except MultipartError as exc:
        raise S3Error("IncompleteBody", "The request body ended before the file did.", 400) from exc
    outcome = ingested.outcome
    if outcome is not None and outcome.scan_owed:
        # Fail closed: the scanner could not be reached. The verified bytes are kept but the
        # file stays pending (never served) until a sweep scans them.
        settled = await lifecycle.mark_scan_owed(svc.stores.files, file_id, ingested, release=True)
        if settled:
            log.warning("file %s waits for the malware scanner: %s", file_id, outcome.detail)
    else:
        checked = safety_columns(outcome, utcnow()) if outcome is not None else {}
        settled = await lifecycle.mark_available(
            svc.stores.files, file_id, ingested, **RELEASED, **checked
        )
    if not settled:
        # Deleted or expired while we streamed: these bytes are not the file.
        await svc.storage.delete(ingested.key)
        raise access_denied("This upload is no longer open.")
    lease.given_back()
    return ingested


def _verify_get(svc: Services, request: Request) -> None:
    creds = _credentials_lookup(svc)
    scope = request.scope
    raw_query = scope.get("query_string", b"").decode("latin-1")
    if "x-amz-signature" not in raw_query.lower():
        raise access_denied()
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    try:
        verify_presigned_url(
            _lookup(creds),
            method=request.method,
            host=request.headers.get("host", ""),
            raw_path=raw_path.partition("?")[0],
            raw_query=raw_query,
            now=utcnow(),
        )
    except SigV4Error as exc:
        raise _sig_error(exc) from exc


@router.get(
    "/{bucket}/{key:path}",
    summary="Download with a pre-signed URL",
    operation_id="get_object",
    openapi_extra=openapi.GET_OBJECT,
    responses=openapi.XML_ERRORS,
)
@router.head(
    "/{bucket}/{key:path}",
    summary="The headers of a download (a URL signed for HEAD)",
    operation_id="head_object",
    openapi_extra=openapi.GET_OBJECT,
    responses=openapi.XML_ERRORS,
)
async def get_object(bucket: str, key: str, request: Request) -> Response:
    """Serve an available file to the holder of a valid pre-signed URL."""
    svc = services(request)
    _verify_get(svc, request)
    _check_bucket(svc, bucket)
    no_such_key = S3Error("NoSuchKey", "The specified key does not exist.", 404, Key=key)
    found = await servable(svc.stores.files, key, utcnow())
    if found is None:
        raise no_such_key
    row, size = found
    etag = f'"{(row.sha256 or "")[:32]}"'
    params = request.query_params
    defaults = response_params(row)
    disposition = params.get("response-content-disposition") or ""
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Type": params.get("response-content-type") or defaults["response-content-type"],
        "Content-Disposition": disposition
        if disposition.lower().startswith("attachment")
        else defaults["response-content-disposition"],
        "Cache-Control": params.get("response-cache-control") or "private",
        "X-Content-Type-Options": "nosniff",
    }
    if row.uploaded_at is not None:
        headers["Last-Modified"] = row.uploaded_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and (if_none_match.strip() == "*" or etag in _etags(if_none_match)):
        return Response(
            status_code=304, headers={"ETag": etag, "Cache-Control": headers["Cache-Control"]}
        )
    byte_range = parse_range(request.headers.get("range"), size)
    if byte_range == "unsatisfiable":
        raise S3Error(
            "InvalidRange",
            "The requested range is not satisfiable",
            416,
            ActualObjectSize=str(size),
        )
    start, end, status = 0, size - 1, 200
    if byte_range is not None:
        start, end = byte_range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    try:
        chunks = svc.storage.read(storage_key(row.id), start, end)
        first = await anext(aiter(chunks), b"")
    except ObjectNotFound as exc:
        raise no_such_key from exc
    except ObjectUnreadable as exc:
        # Encrypted bytes that fail authentication (changed on disk, or shredded): an error,
        # never bytes. (Past the first chunk, the response is cut short instead.)
        log.error("stored object of file %s is unreadable: %s", row.id, exc)
        raise S3Error("InternalError", "We encountered an internal error.", 500) from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(body(), status_code=status, headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
