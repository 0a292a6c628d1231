"""``/u/{token}``: the page a person uploads with, its small API, and the uploader's assets.

The token in the path is the only credential. Each request is counted against the token's
rate limit first (keyed by the token's hash, so that a flood of made-up tokens costs a dict
entry each and no database read more than a real one), then the link is looked up by the hash.
Files are created exactly as the Files API creates them (same rules, same pending row, same
POST policy to the same storage), with the link's id on the row; the slot the file takes and
the file's row commit together.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.responses import HTMLResponse

from assured_server.api import schemas
from assured_server.api.body import RequiredStr, StrictBody, documented, parse_json, read_raw
from assured_server.api.deps import services
from assured_server.api.files_v3 import created_upload
from assured_server.api.responses import NoStoreJSONResponse
from assured_server.api.schemas import answers
from assured_server.clock import utcnow
from assured_server.db.models import UploadLink
from assured_server.errors import ApiError, ErrorCode, not_found
from assured_server.files import lifecycle
from assured_server.files.records import PENDING, effective_status
from assured_server.files.rules import checked_content_type, checked_filename
from assured_server.links import page, states
from assured_server.links.tokens import matches, token_hash, well_formed
from assured_server.services import Services

router = APIRouter(tags=["upload links: the page"])
UNKNOWN = "No such upload link."


class CreateLinkUpload(StrictBody):
    """Body of ``POST /u/{token}/files``."""

    fileName: RequiredStr  # noqa: N815 - the wire name
    contentType: RequiredStr  # noqa: N815


class _Unavailable(Exception):
    """The link cannot be used: ``state`` is ``unknown``, ``expired``, ``revoked`` or ``used``."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def _throttle(svc: Services, token: str) -> None:
    retry_after = svc.link_limiter.hit("link:" + token_hash(token) if well_formed(token) else "?")
    if retry_after is not None:
        raise ApiError(ErrorCode.RATE_LIMITED, headers={"Retry-After": str(retry_after)})


async def _link(svc: Services, token: str) -> UploadLink | None:
    if not well_formed(token):
        return None
    row = await svc.stores.upload_links.by_token_hash(token_hash(token))
    if row is None or not matches(row.token_hash, token):
        return None
    return row


def _refusal(state: str) -> ApiError:
    if state == states.USED:
        return ApiError(ErrorCode.LINK_USED, "This upload link has taken all its files.")
    if state == states.REVOKED:
        return ApiError(ErrorCode.LINK_EXPIRED, "This upload link has been revoked.")
    return ApiError(ErrorCode.LINK_EXPIRED, "This upload link has expired.")


def _upload_origin(svc: Services) -> str:
    settings = svc.settings
    if settings.storage_backend == "s3" and settings.s3_endpoint_url:
        return page.origin_of(settings.s3_endpoint_url)
    return page.origin_of(settings.effective_public_url)


@router.get("/u/{token}", include_in_schema=False)
async def link_page(token: str, request: Request) -> HTMLResponse:
    """The upload page, or a page saying in words why the link cannot be used."""
    svc = services(request)
    headers = page.security_headers(_upload_origin(svc))
    try:
        _throttle(svc, token)
    except ApiError as exc:
        status, html = page.state_page("busy")
        return HTMLResponse(html, status, headers={**headers, **exc.headers})
    link = await _link(svc, token)
    now = utcnow()
    state = "unknown" if link is None else states.status_of(link, now)
    if link is None or state != states.ACTIVE:
        status, html = page.state_page(state)
        return HTMLResponse(html, status, headers=headers)
    body = page.upload_page(
        page.PageLink(
            path=f"/u/{token}",
            label=link.label,
            content_types=states.content_types_of(link),
            max_size=svc.settings.max_upload_bytes,
            remaining=link.max_files - link.files_uploaded,
        )
    )
    return HTMLResponse(body, 200, headers=headers)


@router.post(
    "/u/{token}/files",
    status_code=201,
    summary="Create an upload through an upload link",
    openapi_extra=documented(CreateLinkUpload),
    **answers(schemas.CreatedUpload, 201),
)
async def create_link_upload(token: str, request: Request) -> Response:
    """The same answer as the Files API's create; the link's token is the only credential."""
    svc = services(request)
    _throttle(svc, token)
    link = await _link(svc, token)
    if link is None:
        raise not_found(UNKNOWN)
    now = utcnow()
    state = states.status_of(link, now)
    if state != states.ACTIVE:
        raise _refusal(state)
    body = parse_json(await read_raw(request), CreateLinkUpload)
    name = checked_filename(body.fileName, "fileName")
    content_type = checked_content_type(body.contentType, name, "contentType").name
    accepted = states.content_types_of(link)
    if content_type not in accepted:
        raise ApiError(
            ErrorCode.INVALID_CONTENT_TYPE,
            f"This link accepts only: {', '.join(accepted)}.",
            field="contentType",
        )
    response = await _create(svc, link, name, content_type)
    return NoStoreJSONResponse(response, 201)


async def _create(svc: Services, link: UploadLink, name: str, content_type: str) -> dict[str, Any]:
    now = utcnow()
    row = lifecycle.new_row(
        lifecycle.NewFile(
            account_id=link.account_id,
            file_name=name,
            content_type=content_type,
            origin="link",
            expires_in=link.file_expires_in,
            description=link.description,
            business_process=link.business_process,
            business_process_action=link.business_process_action,
            upload_link_id=link.id,
        ),
        now=now,
        upload_window=svc.settings.upload_url_ttl,
    )
    response = created_upload(svc, row, now)
    try:
        async with svc.stores.unit() as unit:
            if not await svc.stores.upload_links.take_slot(link.id, now, unit):
                raise _Unavailable(states.USED)
            await svc.stores.files.add(row, unit)
    except _Unavailable:
        # Taken by someone else meanwhile, revoked or expired: say which, as it is now.
        current = await svc.stores.upload_links.by_id(link.id)
        state = states.USED if current is None else states.status_of(current, utcnow())
        raise _refusal(state if state != states.ACTIVE else states.USED) from None
    return response


@router.get(
    "/u/{token}/files/{file_id}",
    summary="The outcome of a file uploaded through an upload link",
    response_class=NoStoreJSONResponse,
    **answers(schemas.LinkFile),
)
async def link_file(token: str, file_id: str, request: Request) -> dict[str, Any]:
    """``{id, fileName, contentType, size, status, rejectionReason}`` of the link's own file.

    Still answered once the link is used, so that the page can show outcomes; a pending file
    is settled first where the storage could not tell the server (plain S3), as ``complete``.
    """
    svc = services(request)
    _throttle(svc, token)
    link = await _link(svc, token)
    if link is None:
        raise not_found(UNKNOWN)
    now = utcnow()
    state = states.status_of(link, now)
    if state in (states.EXPIRED, states.REVOKED):
        raise _refusal(state)
    row = await svc.stores.files.by_id(file_id)
    if row is None or row.upload_link_id != link.id or row.account_id != link.account_id:
        raise not_found("No such file.")
    if row.status == PENDING and svc.settings.storage_backend == "s3":
        settled = await lifecycle.settle_for_a_reader(
            svc.stores.files,
            svc.storage,
            row,
            max_bytes=svc.settings.max_upload_bytes,
            safety=svc.safety,
        )
        if settled:
            row = await svc.stores.files.by_id(file_id) or row
    return {
        "id": row.id,
        "fileName": row.file_name,
        "contentType": row.content_type,
        "size": row.size,
        "status": effective_status(row, utcnow()),
        "rejectionReason": row.rejection_reason,
    }


def _asset(name: str, media_type: str) -> Response:
    return Response(
        page.asset(name),
        media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"},
    )


@router.get("/static/assured-upload.js", include_in_schema=False)
async def uploader_script() -> Response:
    """The uploader, for the hosted page and for integrators' own pages."""
    return _asset("assured-upload.js", "text/javascript; charset=utf-8")


@router.get("/static/assured-upload.css", include_in_schema=False)
async def uploader_style() -> Response:
    """The uploader's style."""
    return _asset("assured-upload.css", "text/css; charset=utf-8")
