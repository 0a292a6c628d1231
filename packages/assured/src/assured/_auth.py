"""Token bookkeeping without I/O: what the client holds, when to refresh, what a JWT claims.

The clients do the exchanges (``POST /api/v1/auth/token/`` and ``…/refresh/``); this module only
decides. Expiry is tracked on the monotonic clock from ``expires_in``, so a wrong wall clock on
the caller's machine does not make the SDK send dead tokens.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

from assured._constants import TOKEN_REFRESH_MARGIN
from assured.exceptions import AssuredError

TOKEN_PATH = "/api/v1/auth/token/"  # noqa: S105 - a URL path, not a secret
REFRESH_PATH = "/api/v1/auth/token/refresh/"


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, decoded *without* verifying the signature (the server verifies).

    The SDK only reads claims that concern the caller itself (``acct``, ``exp``), so trusting
    them unverified gives nothing away.
    """
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError, binascii.Error) as exc:
        raise AssuredError("The access token is not a JWT.") from exc
    if not isinstance(claims, dict):
        raise AssuredError("The access token's payload is not a JSON object.")
    return claims


@dataclass
class TokenState:
    """The tokens a client holds and when its access token stops being worth sending."""

    access: str | None = None
    refresh: str | None = None
    # Monotonic time after which the access token is refreshed (None: unknown, never).
    refresh_at: float | None = None

    @classmethod
    def from_static_token(cls, token: str) -> TokenState:
        """A ready access token given by the user: used as is until the server refuses it."""
        return cls(access=token)

    def needs_token(self, now: float | None = None) -> bool:
        """Whether a new access token must be obtained before the next request."""
        if self.access is None:
            return True
        if self.refresh_at is None:
            return False
        return (time.monotonic() if now is None else now) >= self.refresh_at

    def apply(self, body: Any, now: float | None = None) -> None:
        """Keep the tokens of an answer (``access``, ``refresh``, ``expires_in``)."""
        if not isinstance(body, dict) or not isinstance(body.get("access"), str):
            raise AssuredError("The token endpoint answered without an access token.")
        self.access = body["access"]
        if isinstance(body.get("refresh"), str):
            self.refresh = body["refresh"]
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float) and expires_in > 0:
            margin = min(TOKEN_REFRESH_MARGIN, expires_in / 2)
            self.refresh_at = (time.monotonic() if now is None else now) + expires_in - margin
        else:
            self.refresh_at = None

    def invalidate(self) -> None:
        """Forget the access token (the server refused it); the refresh token is kept."""
        self.access = None
        self.refresh_at = None

    def account_id(self) -> str:
        """The account id of the access token (its ``acct`` claim)."""
        if self.access is None:
            raise AssuredError("No access token yet.")
        acct = decode_jwt_claims(self.access).get("acct")
        if not isinstance(acct, str) or not acct:
            raise AssuredError("The access token has no 'acct' claim: cannot address v3 paths.")
        return acct
