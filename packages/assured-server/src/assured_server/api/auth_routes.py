"""``/api/v1/auth/token/`` (obtain), ``…/refresh/`` and ``…/revoke/``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field, StringConstraints

from assured_server.api.body import NoNul, StrictBody, documented, read_json
from assured_server.api.deps import services
from assured_server.api.responses import NoStoreJSONResponse
from assured_server.auth import accounts
from assured_server.auth.tokens import Claims, InvalidToken
from assured_server.errors import ApiError, ErrorCode, invalid, missing

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenRequest(StrictBody):
    """Either a username and password or an API key."""

    username: Annotated[str, StringConstraints(max_length=150), NoNul] | None = None
    password: str | None = Field(default=None, max_length=1024)
    api_key: str | None = Field(default=None, max_length=256)


class RefreshRequest(StrictBody):
    """A refresh token."""

    refresh: str | None = Field(default=None, max_length=8192)


def _bad_credentials() -> ApiError:
    return ApiError(ErrorCode.UNAUTHORIZED, "No active account found with the given credentials.")


@router.post(
    "/token/",
    summary="Exchange credentials for an access and a refresh token",
    openapi_extra=documented(TokenRequest),
    response_class=NoStoreJSONResponse,
)
async def obtain_token(request: Request) -> dict[str, object]:
    """``{"username","password"}`` or ``{"api_key"}`` → access and refresh tokens."""
    svc = services(request)
    body = await read_json(request, TokenRequest)
    if body.api_key is not None and (body.username is not None or body.password is not None):
        raise invalid("Send either api_key or username and password, not both.")
    async with svc.db.read() as session:
        if body.api_key is not None:
            if not body.api_key.strip():
                raise missing("api_key")
            subject = await accounts.authenticate_api_key(session, body.api_key)
        else:
            if not (body.username or "").strip():
                raise missing("username")
            if not body.password:
                raise missing("password")
            assert body.username is not None and body.password is not None  # noqa: S101
            subject = await accounts.authenticate_password(session, body.username, body.password)
    if subject is None:
        raise _bad_credentials()
    pair = svc.tokens.issue(subject.subject, subject.account_id, subject.scopes)
    return {
        "access": pair.access,
        "refresh": pair.refresh,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
    }


async def _verified_refresh(request: Request) -> Claims:
    svc = services(request)
    body = await read_json(request, RefreshRequest)
    if not body.refresh or not body.refresh.strip():
        raise missing("refresh")
    try:
        claims = svc.tokens.verify(body.refresh, "refresh")
    except InvalidToken as exc:
        raise ApiError(ErrorCode.UNAUTHORIZED, str(exc)) from exc
    return claims


@router.post(
    "/token/refresh/",
    summary="A new access token for a refresh token",
    openapi_extra=documented(RefreshRequest),
    response_class=NoStoreJSONResponse,
)
async def refresh_token(request: Request) -> dict[str, object]:
    """``{"refresh"}`` → a new access token, unless revoked or its subject is gone."""
    svc = services(request)
    claims = await _verified_refresh(request)
    async with svc.db.read() as session:
        if await accounts.is_revoked(session, claims.jti) or not await accounts.subject_is_active(
            session, claims.subject
        ):
            raise ApiError(ErrorCode.UNAUTHORIZED, "The refresh token has been revoked.")
    return {"access": svc.tokens.issue_access(claims), "expires_in": svc.settings.access_token_ttl}


@router.post(
    "/token/revoke/",
    status_code=204,
    summary="Revoke a refresh token",
    openapi_extra=documented(RefreshRequest),
)
async def revoke_token(request: Request) -> Response:
    """``{"refresh"}`` → 204; the token no longer refreshes."""
    svc = services(request)
    claims = await _verified_refresh(request)
    async with svc.db.write() as session:
        await accounts.revoke(session, claims.jti, claims.expires_at)
    return Response(status_code=204)
