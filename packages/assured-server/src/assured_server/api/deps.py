"""Request-scoped helpers: the services, the authenticated principal, scope and account checks."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from assured_server.auth.tokens import InvalidToken
from assured_server.errors import ApiError, ErrorCode
from assured_server.services import Services

# A token of a revoked key, a disabled user or a deleted account.
REVOKED = "The token has been revoked."


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject, account and scopes."""

    subject: str
    account_id: str
    scopes: frozenset[str]
    token_id: str

    def require(self, scope: str) -> None:
        """Raise 403 unless the token carries ``scope``."""
        if scope not in self.scopes:
            raise ApiError(ErrorCode.FORBIDDEN, f"This action needs the '{scope}' scope.")

    def require_account(self, account_id: str) -> None:
        """Raise 403 unless ``account_id`` (from a path) is the caller's own account."""
        if account_id != self.account_id:
            raise ApiError(ErrorCode.FORBIDDEN, "This is not your account.")


def services(request: Request) -> Services:
    """The services of the running app."""
    svc: Services = request.app.state.services
    return svc


def bearer_token(request: Request) -> str:
    """The token from ``Authorization: Bearer …``, or 401."""
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(ErrorCode.UNAUTHORIZED, "Authentication credentials were not provided.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(ErrorCode.UNAUTHORIZED, "Use 'Authorization: Bearer <access token>'.")
    return token


async def principal(request: Request) -> Principal:
    """Verify the access token and apply the rate limit (FastAPI dependency).

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in a worker
    thread, and that hand-off cost more than the microseconds of HMAC it would take off the loop.
    """
    svc = services(request)
    try:
        claims = svc.tokens.verify(bearer_token(request), "access")
    except InvalidToken as exc:
        raise ApiError(ErrorCode.UNAUTHORIZED, str(exc)) from exc
    if svc.revocations.refuses(claims.subject, claims.account_id):
        raise ApiError(ErrorCode.UNAUTHORIZED, REVOKED)
    retry_after = svc.limiter.hit(claims.subject)
    if retry_after is not None:
        raise ApiError(ErrorCode.RATE_LIMITED, headers={"Retry-After": str(retry_after)})
    return Principal(claims.subject, claims.account_id, claims.scopes, claims.jti)
