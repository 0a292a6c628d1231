"""``/api/v1/auth/token/`` (obtain), ``…/refresh/`` and ``…/revoke/``."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field, StringConstraints

from assured_server.api import schemas
from assured_server.api.body import NoNul, StrictBody, documented, read_json
from assured_server.api.deps import services
from assured_server.api.responses import NoStoreJSONResponse
from assured_server.api.schemas import answers, answers_nothing
from assured_server.auth import accounts
from assured_server.auth.password_pool import PasswordPoolFull
from assured_server.auth.throttle import Throttled, client_address
from assured_server.auth.tokens import Claims, InvalidToken
from assured_server.errors import ApiError, ErrorCode, invalid, missing
from assured_server.services import Services

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
    **answers(schemas.TokenPair),
)
async def obtain_token(request: Request) -> dict[str, object]:
    """``{"username","password"}`` or ``{"api_key"}`` → access and refresh tokens.

    Failed attempts are throttled per address and username (429, see ``auth.throttle``);
    when the password checks are saturated the answer is 503 at once.
    """
    svc = services(request)
    body = await read_json(request, TokenRequest)
    if body.api_key is not None and (body.username is not None or body.password is not None):
        raise invalid("Send either api_key or username and password, not both.")
    check: Callable[[], Awaitable[accounts.Subject | None]]
    username: str | None = None
    if body.api_key is not None:
        if not body.api_key.strip():
            raise missing("api_key")
        check = functools.partial(_api_key_subject, svc, body.api_key)
    else:
        if not (body.username or "").strip():
            raise missing("username")
        if not body.password:
            raise missing("password")
        assert body.username is not None  # noqa: S101
        username = body.username
        check = functools.partial(
            accounts.authenticate_password,
            svc.stores.accounts,
            svc.passwords,
            username,
            body.password,
        )
    host = request.client.host if request.client else None
    subject = await _throttled(svc, client_address(host), username, check)
    pair = svc.tokens.issue(subject.subject, subject.account_id, subject.scopes)
    return {
        "access": pair.access,
        "refresh": pair.refresh,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
    }


async def _api_key_subject(svc: Services, api_key: str) -> accounts.Subject | None:
    return await accounts.authenticate_api_key(svc.stores.accounts, api_key)


async def _throttled(
    svc: Services,
    address: str,
    username: str | None,
    check: Callable[[], Awaitable[accounts.Subject | None]],
) -> accounts.Subject:
    """Run ``check`` unless the throttle refuses it, and count its verdict."""
    try:
        attempt = svc.login_throttle.begin(address, username)
    except Throttled as exc:
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            "Too many failed attempts; retry later.",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    try:
        subject = await check()
    except PasswordPoolFull:
        attempt.void()
        raise ApiError(
            ErrorCode.SERVICE_UNAVAILABLE, "Too many logins at once; retry shortly."
        ) from None
    except asyncio.CancelledError:
        # Counted: hanging up before the answer must not be a way to guess for free.
        attempt.failed()
        raise
    except BaseException:
        attempt.void()  # the server's fault (say, the database), not a wrong guess
        raise
    if subject is None:
        attempt.failed()
        raise _bad_credentials()
    attempt.succeeded()
    return subject


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
    **answers(schemas.AccessToken),
)
async def refresh_token(request: Request) -> dict[str, object]:
    """``{"refresh"}`` → a new access token, unless revoked or its subject is gone."""
    svc = services(request)
    claims = await _verified_refresh(request)
    if svc.revocations.refuses(
        claims.subject, claims.account_id
    ) or not await svc.stores.accounts.refresh_allowed(claims.jti, claims.subject):
        raise ApiError(ErrorCode.UNAUTHORIZED, "The refresh token has been revoked.")
    return {"access": svc.tokens.issue_access(claims), "expires_in": svc.settings.access_token_ttl}


@router.post(
    "/token/revoke/",
    status_code=204,
    summary="Revoke a refresh token",
    openapi_extra=documented(RefreshRequest),
    **answers_nothing(),
)
async def revoke_token(request: Request) -> Response:
    """``{"refresh"}`` → 204; the token no longer refreshes."""
    svc = services(request)
    claims = await _verified_refresh(request)
    await svc.stores.accounts.revoke(claims.jti, claims.expires_at)
    return Response(status_code=204)
