"""The Files API (v3): pre-signed uploads, the File object, download URLs, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import StringConstraints

from assured_server.api import idempotency, schemas
from assured_server.api.body import NoNul, RequiredStr, StrictBody, documented, parse_json
from assured_server.api.deps import Principal, principal, services
from assured_server.api.idempotency import Finish
from assured_server.api.query import int_param, one_of_param, text_param, uuid_param
from assured_server.api.responses import NO_STORE, NoStoreJSONResponse
from assured_server.api.schemas import answers, answers_nothing
from assured_server.auth.scopes import FILES_READ, FILES_WRITE
from assured_server.clock import rfc3339, utcnow
from assured_server.db.models import StoredFile
from assured_server.errors import ApiError, ErrorCode, not_found
from assured_server.files import lifecycle
from assured_server.files.downloads import MAX_DOWNLOAD_URL_SECONDS, download_url
from assured_server.files.records import PENDING, STATUSES, landing_key
from assured_server.files.rules import checked_content_type, checked_expiration, checked_filename
from assured_server.files.views import file_v3
from assured_server.services import Services

router = APIRouter(prefix="/v3/accounts/{account_id}/files", tags=["files (v3)"])
Caller = Annotated[Principal, Depends(principal)]
DEFAULT_EXPIRATION = "60d"


# Free text kept as sent, within its limit (characters) and without NUL.
Description = Annotated[str, StringConstraints(max_length=1000), NoNul]
BusinessTag = Annotated[str, StringConstraints(max_length=100), NoNul]


class CreateUpload(StrictBody):
    """Body of ``POST /v3/accounts/{accountId}/files``."""

    fileName: RequiredStr  # noqa: N815 - the wire name
    contentType: RequiredStr  # noqa: N815
    description: Description | None = None
    businessProcess: BusinessTag | None = None  # noqa: N815
    businessProcessAction: BusinessTag | None = None  # noqa: N815
    expiration: str | None = None


def _caller(account_id: str, scope: str, who: Principal) -> Principal:
    who.require_account(account_id)
    who.require(scope)
    return who


@router.post(
    "",
    status_code=201,
    summary="Create a pre-signed upload",
    openapi_extra=documented(CreateUpload),
    **answers(schemas.CreatedUpload, 201),
)
async def create_upload(account_id: str, request: Request, who: Caller) -> Response:
    """Validate the declaration, record a pending file, and sign a POST policy for it."""
    _caller(account_id, FILES_WRITE, who)
    svc = services(request)

    async def create(raw: bytes, finish: Finish | None) -> tuple[int, dict[str, Any]]:
        body = parse_json(raw, CreateUpload)
        name = checked_filename(body.fileName, "fileName")
        content_type = checked_content_type(body.contentType, name, "contentType")
        expires_in = checked_expiration(
            body.expiration if body.expiration is not None else DEFAULT_EXPIRATION,
            svc.settings.max_expiration_seconds,
            "expiration",
        )
        return 201, await _create(svc, who, body, name, content_type.name, expires_in, finish)

    # The response holds a signed POST policy: a credential for the upload.
    return await idempotency.run_json(svc, request, who.account_id, create, headers=NO_STORE)


def created_upload(svc: Services, row: StoredFile, now: datetime) -> dict[str, Any]:
    """The answer of an upload's create (v3 or an upload link): the new pending ``row``'s
    POST form, signed for its landing key until its upload window ends, and the File."""
    assert row.upload_expires_at is not None  # noqa: S101 - set by new_row with a window
    window = max(1, int((row.upload_expires_at - now).total_seconds()))
    post = svc.storage.presign_post(
        landing_key(row.id),
        content_type=row.content_type,
        max_size=svc.settings.max_upload_bytes,
        expires_in=window,
        now=now.replace(microsecond=0),
    )
    return {
        "id": row.id,
        "uploadUrl": post.url,
        "fields": post.fields,
        "uploadExpiresAt": rfc3339(post.expires_at),
        "maxSize": svc.settings.max_upload_bytes,
        "file": file_v3(row, bucket=svc.settings.bucket, now=now),
    }


async def _create(
    svc: Services,
    who: Principal,
    body: CreateUpload,
    name: str,
    content_type: str,
    expires_in: int,
    finish: Finish | None,
) -> dict[str, Any]:
    now = utcnow()
    row = lifecycle.new_row(
        lifecycle.NewFile(
            account_id=who.account_id,
            file_name=name,
            content_type=content_type,
            origin="v3",
            expires_in=expires_in,
            description=body.description,
            business_process=body.businessProcess,
            business_process_action=body.businessProcessAction,
        ),
        now=now,
        upload_window=svc.settings.upload_url_ttl,
    )
    response = created_upload(svc, row, now)
    if finish is None:
        await svc.stores.files.add(row)
    else:
        # The pending file and the key's stored response commit together.
        async with svc.stores.unit() as unit:
            await svc.stores.files.add(row, unit)
            await finish(unit, 201, response)
    return response


@router.get(
    "",
    summary="List files, newest first",
    **answers(schemas.FileList),
)
async def list_account_files(account_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """``?status=&businessProcess=&uploadLinkId=&limit=&cursor=`` → ``{"items", "nextCursor"}``."""
    _caller(account_id, FILES_READ, who)
    svc = services(request)
    params = request.query_params
    status = one_of_param(params, "status", STATUSES)
    limit = int_param(params, "limit", default=50, minimum=1, maximum=200)
    cursor = uuid_param(params, "cursor")
    business_process = text_param(params, "businessProcess")
    upload_link_id = uuid_param(params, "uploadLinkId")
    now = utcnow()
    rows = await svc.stores.files.page(
        who.account_id,
        status=status,
        business_process=business_process,
        before_id=cursor,
        limit=limit + 1,
        now=now,
        upload_link_id=upload_link_id,
    )
    page = rows[:limit]
    return {
        "items": [file_v3(row, bucket=svc.settings.bucket, now=now) for row in page],
        "nextCursor": page[-1].id if len(rows) > limit else None,
    }


@router.get(
    "/{file_id}",
    summary="Get a file",
    **answers(schemas.FileV3),
)
async def get_one(account_id: str, file_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """The File, or 404 (also for another account's id)."""
    _caller(account_id, FILES_READ, who)
    svc = services(request)
    row = await svc.stores.files.owned(who.account_id, file_id)
    if row is None:
        raise not_found("No such file.")
    return file_v3(row, bucket=svc.settings.bucket, now=utcnow())


@router.post(
    "/{file_id}/complete",
    summary="Verify an uploaded file now",
    **answers(schemas.FileV3),
)
async def complete(account_id: str, file_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """The File in its final state; 409 while nothing was uploaded."""
    _caller(account_id, FILES_WRITE, who)
    svc = services(request)
    row = await svc.stores.files.owned(who.account_id, file_id)
    if row is None:
        raise not_found("No such file.")
    if row.status == PENDING:
        settled = await lifecycle.settle_for_a_reader(
            svc.stores.files,
            svc.storage,
            row,
            max_bytes=svc.settings.max_upload_bytes,
            safety=svc.safety,
        )
        if not settled:
            raise ApiError(ErrorCode.FILE_NOT_READY, "Nothing has been uploaded for this file yet.")
        row = await svc.stores.files.owned(who.account_id, file_id)
        if row is None:
            raise not_found("No such file.")
    return file_v3(row, bucket=svc.settings.bucket, now=utcnow())


@router.get(
    "/{file_id}/download-url",
    summary="A short-lived download URL",
    response_class=NoStoreJSONResponse,
    **answers(schemas.DownloadUrl),
)
async def get_download_url(
    account_id: str, file_id: str, request: Request, who: Caller
) -> dict[str, Any]:
    """``?expiresIn=300`` (1..3600 s, never past the file's expiry) → ``{"url", "expiresAt"}``."""
    _caller(account_id, FILES_READ, who)
    svc = services(request)
    expires_in = int_param(
        request.query_params, "expiresIn", default=300, minimum=1, maximum=MAX_DOWNLOAD_URL_SECONDS
    )
    row = await svc.stores.files.owned(who.account_id, file_id)
    if row is None:
        raise not_found("No such file.")
    signed = download_url(svc.storage, row, expires_in=expires_in, now=utcnow())
    return {"url": signed.url, "expiresAt": rfc3339(signed.expires_at)}


@router.delete(
    "/{file_id}",
    status_code=204,
    summary="Delete a file and its bytes",
    **answers_nothing(),
)
async def delete(account_id: str, file_id: str, request: Request, who: Caller) -> Response:
    """204; the bytes and every download URL are gone."""
    _caller(account_id, FILES_WRITE, who)
    svc = services(request)
    if not await lifecycle.delete_file(svc.stores.files, svc.storage, who.account_id, file_id):
        raise not_found("No such file.")
    return Response(status_code=204)
