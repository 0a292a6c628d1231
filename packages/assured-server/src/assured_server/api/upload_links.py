"""Upload links, as their account manages them: create, list, get, revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import StringConstraints

from assured_server.api import idempotency, schemas
from assured_server.api.body import NoNul, StrictBody, documented, parse_json
from assured_server.api.deps import Principal, principal, services
from assured_server.api.files_v3 import DEFAULT_EXPIRATION as FILE_DEFAULT_EXPIRATION
from assured_server.api.files_v3 import BusinessTag, Description
from assured_server.api.idempotency import Finish
from assured_server.api.query import int_param, uuid_param
from assured_server.api.responses import NO_STORE
from assured_server.api.schemas import answers, answers_nothing
from assured_server.auth.scopes import LINKS_READ, LINKS_WRITE
from assured_server.clock import new_id, utcnow
from assured_server.db.models import UploadLink
from assured_server.errors import ApiError, ErrorCode, invalid, not_found
from assured_server.files.content_types import InvalidContentType, parse_content_type
from assured_server.files.rules import checked_expiration
from assured_server.links import states
from assured_server.links.tokens import new_token, token_hash
from assured_server.services import Services

router = APIRouter(prefix="/v3/accounts/{account_id}/upload-links", tags=["upload links"])
Caller = Annotated[Principal, Depends(principal)]
Label = Annotated[str, StringConstraints(max_length=states.MAX_LABEL), NoNul]


class CreateLink(StrictBody):
    """Body of ``POST /v3/accounts/{accountId}/upload-links`` (every field optional)."""

    label: Label | None = None
    contentTypes: list[str] | None = None  # noqa: N815 - the wire name
    maxFiles: int | None = None  # noqa: N815
    expiration: str | None = None
    fileExpiration: str | None = None  # noqa: N815
    description: Description | None = None
    businessProcess: BusinessTag | None = None  # noqa: N815
    businessProcessAction: BusinessTag | None = None  # noqa: N815


def _caller(account_id: str, scope: str, who: Principal) -> Principal:
    who.require_account(account_id)
    who.require(scope)
    return who


def _content_types(values: list[str] | None) -> str:
    """The canonical types, space-separated, in the order given, without repeats."""
    if values is None:
        return " ".join(states.ALL_CONTENT_TYPES)
    if not values:
        raise invalid("contentTypes must name at least one content type.", field="contentTypes")
    names: list[str] = []
    for value in values:
        try:
            name = parse_content_type(value).name
        except InvalidContentType as exc:
            raise ApiError(ErrorCode.INVALID_CONTENT_TYPE, str(exc), field="contentTypes") from exc
        if name not in names:
            names.append(name)
    return " ".join(names)


def _max_files(value: int | None) -> int:
    if value is None:
        return 1
    if not 1 <= value <= states.MAX_FILES:
        raise invalid(f"maxFiles must be between 1 and {states.MAX_FILES}.", field="maxFiles")
    return value


@router.post(
    "",
    status_code=201,
    summary="Create an upload link",
    openapi_extra=documented(CreateLink),
    **answers(schemas.CreatedUploadLink, 201),
)
async def create_link(account_id: str, request: Request, who: Caller) -> Response:
    """A link a person opens to upload; its ``url`` is shown by this answer only."""
    _caller(account_id, LINKS_WRITE, who)
    svc = services(request)

    async def create(raw: bytes, finish: Finish | None) -> tuple[int, dict[str, Any]]:
        # Every field is optional, so an empty body is an empty object.
        body = parse_json(raw if raw.strip() else b"{}", CreateLink)
        content_types = _content_types(body.contentTypes)
        max_files = _max_files(body.maxFiles)
        lives = checked_expiration(
            body.expiration if body.expiration is not None else states.DEFAULT_EXPIRATION,
            states.MAX_EXPIRATION_SECONDS,
            "expiration",
        )
        file_lives = checked_expiration(
            body.fileExpiration if body.fileExpiration is not None else FILE_DEFAULT_EXPIRATION,
            svc.settings.max_expiration_seconds,
            "fileExpiration",
        )
        return 201, await _create(
            svc, who.account_id, body, content_types, max_files, lives, file_lives, finish
        )

    # The answer holds the link's token: a credential.
    return await idempotency.run_json(svc, request, who.account_id, create, headers=NO_STORE)


async def _create(
    svc: Services,
    account_id: str,
    body: CreateLink,
    content_types: str,
    max_files: int,
    lives: int,
    file_lives: int,
    finish: Finish | None,
) -> dict[str, Any]:
    now = utcnow()
    token = new_token()
    row = UploadLink(
        id=new_id(),
        account_id=account_id,
        token_hash=token_hash(token),
        label=body.label,
        content_types=content_types,
        max_files=max_files,
        files_uploaded=0,
        file_expires_in=file_lives,
        description=body.description,
        business_process=body.businessProcess,
        business_process_action=body.businessProcessAction,
        created_at=now,
        expires_at=now + timedelta(seconds=lives),
        revoked_at=None,
    )
    url = f"{svc.settings.effective_public_url}/u/{token}"
    response = states.link_view(row, now, url=url)
    if finish is None:
        await svc.stores.upload_links.add(row)
    else:
        async with svc.stores.unit() as unit:
            await svc.stores.upload_links.add(row, unit)
            await finish(unit, 201, response)
    return response


@router.get("", summary="List upload links, newest first", **answers(schemas.UploadLinkList))
async def list_links(account_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """``?limit=&cursor=`` → ``{"items", "nextCursor"}``."""
    _caller(account_id, LINKS_READ, who)
    svc = services(request)
    params = request.query_params
    limit = int_param(params, "limit", default=50, minimum=1, maximum=200)
    cursor = uuid_param(params, "cursor")
    rows = await svc.stores.upload_links.page(who.account_id, before_id=cursor, limit=limit + 1)
    page = rows[:limit]
    now = utcnow()
    return {
        "items": [states.link_view(row, now) for row in page],
        "nextCursor": page[-1].id if len(rows) > limit else None,
    }


@router.get("/{link_id}", summary="Get an upload link", **answers(schemas.UploadLink))
async def get_link(account_id: str, link_id: str, request: Request, who: Caller) -> dict[str, Any]:
    """The link without its URL, or 404 (also for another account's id)."""
    _caller(account_id, LINKS_READ, who)
    row = await services(request).stores.upload_links.owned(who.account_id, link_id)
    if row is None:
        raise not_found("No such upload link.")
    return states.link_view(row, utcnow())


@router.delete("/{link_id}", status_code=204, summary="Revoke an upload link", **answers_nothing())
async def revoke_link(account_id: str, link_id: str, request: Request, who: Caller) -> Response:
    """204: the link opens no page and takes no file any more; its files stay."""
    _caller(account_id, LINKS_WRITE, who)
    if not await services(request).stores.upload_links.revoke(who.account_id, link_id, utcnow()):
        raise not_found("No such upload link.")
    return Response(status_code=204)
