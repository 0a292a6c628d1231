"""``POST /api/v1/files/presign/``: a short-lived download URL for a file named by its URI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from assured_server.api import schemas
from assured_server.api.body import RequiredStr, StrictBody, read_json
from assured_server.api.deps import Principal, principal, services
from assured_server.api.responses import NoStoreJSONResponse
from assured_server.api.schemas import answers
from assured_server.auth.scopes import FILES_READ
from assured_server.clock import rfc3339, utcnow
from assured_server.errors import ApiError, ErrorCode, not_found
from assured_server.files.downloads import MAX_DOWNLOAD_URL_SECONDS, download_url
from assured_server.files.urls import ForeignUrl, file_id_of

router = APIRouter(prefix="/api/v1/files", tags=["files (v1)"])
Caller = Annotated[Principal, Depends(principal)]
DEFAULT_EXPIRES_IN = 300


class PresignRequest(StrictBody):
    """Body of ``POST /api/v1/files/presign/``."""

    file_url: RequiredStr
    # null counts as absent, as for every optional field.
    expires_in: int | None = Field(default=None, ge=1, le=MAX_DOWNLOAD_URL_SECONDS)


@router.post(
    "/presign/",
    summary="A short-lived download URL for an s3:// file URI",
    response_class=NoStoreJSONResponse,
    **answers(schemas.PresignedUrl),
)
async def presign(request: Request, who: Caller) -> dict[str, Any]:
    """``{"file_url", "expires_in"?}`` → ``{"url", "expires_at"}``, never past the file's expiry."""
    who.require(FILES_READ)
    svc = services(request)
    body = await read_json(request, PresignRequest)
    try:
        file_id = file_id_of(body.file_url, svc.settings.bucket)
    except ForeignUrl as exc:
        raise ApiError(
            ErrorCode.INVALID_DOCUMENT_URL,
            f"file_url is not a file of this server: {exc}",
            field="file_url",
        ) from None
    # A key of our bucket that is no file of the caller's is a missing resource, as in the v3
    # API: whether another account has such a file must not leak.
    if file_id is None:
        raise not_found("No such file.")
    row = await svc.stores.files.owned(who.account_id, file_id)
    if row is None:
        raise not_found("No such file.")
    expires_in = DEFAULT_EXPIRES_IN if body.expires_in is None else body.expires_in
    signed = download_url(svc.storage, row, expires_in=expires_in, now=utcnow())
    return {"url": signed.url, "expires_at": rfc3339(signed.expires_at)}
