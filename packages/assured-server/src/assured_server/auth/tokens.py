"""JWT access and refresh tokens: one configured algorithm, strict claims, rotation by ``kid``."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeGuard

import jwt
from cryptography.hazmat.primitives import serialization

from assured_server.auth.secrets import API_KEY_PREFIX
from assured_server.clock import is_uuid
from assured_server.config import Settings

LEEWAY = timedelta(seconds=30)
# Verified access tokens remembered (by their exact text) so that a client's next request
# skips PyJWT's parse and HMAC/signature check (≈60 µs, far more for RS256/ES256 keys).
VERIFIED_CACHE_SIZE = 4096
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "typ", "jti"]
# An API key sent where a token belongs is the most common first mistake: say what to do.
API_KEY_AS_BEARER = (
    "This is an API key, not an access token: exchange it at POST /api/v1/auth/token/ with "
    '{"api_key": "<your key>"} and send the "access" token of the answer.'
)
TIME_CLAIMS = ("exp", "iat", "nbf")
# PyJWT compares times as int(value), which takes numeric strings, booleans and 10**30; what
# it lets through must still become a datetime (and one with room for the leeway).
LATEST_NUMERIC_DATE = datetime(9999, 1, 1, tzinfo=UTC).timestamp()
# The column revocations are kept in (and more than the 32 hex digits issued).
MAX_JTI_LENGTH = 64
# Printable ASCII only: a jti is stored (revocations), and PostgreSQL refuses a NUL in text.
_JTI = re.compile(rf"[\x21-\x7e]{{1,{MAX_JTI_LENGTH}}}")


class InvalidToken(Exception):
    """The token cannot be accepted; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says about its bearer."""

    subject: str
    account_id: str
    scopes: frozenset[str]
    token_type: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TokenPair:
    """An access and a refresh token, as the token endpoint answers them."""

    access: str
    refresh: str
    expires_in: int


class TokenService:
    """Signs and verifies tokens with the one algorithm the settings name."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._algorithm = settings.jwt_algorithm
        self._kid = settings.jwt_key_id or None
        self._verify_keys: dict[str | None, Any] = {}
        self._verified: dict[str, Claims] = {}
        if self._algorithm == "HS256":
            self._signing_key: Any = settings.jwt_secret.encode("utf-8")
            self._verify_keys[None] = self._signing_key
        else:
            assert settings.jwt_private_key_file is not None  # noqa: S101 - checked by Settings
            private = serialization.load_pem_private_key(
                settings.jwt_private_key_file.read_bytes(), password=None
            )
            self._signing_key = private
            self._verify_keys[self._kid] = private.public_key()
            if settings.jwt_public_keys_dir is not None:
                self._verify_keys.update(_load_public_keys(settings.jwt_public_keys_dir))

    def issue(self, subject: str, account_id: str, scopes: str) -> TokenPair:
        """A new access and refresh token for the subject."""
        access = self._encode(
            subject, account_id, scopes, "access", self._settings.access_token_ttl
        )
        refresh = self._encode(
            subject, account_id, scopes, "refresh", self._settings.refresh_token_ttl
        )
        return TokenPair(access, refresh, self._settings.access_token_ttl)

    def issue_access(self, claims: Claims) -> str:
        """A new access token for the bearer of a verified refresh token."""
        return self._encode(
            claims.subject,
            claims.account_id,
            " ".join(sorted(claims.scopes)),
            "access",
            self._settings.access_token_ttl,
        )

    def verify(self, token: str, expected_type: str) -> Claims:
        """Verify signature, algorithm, expiry, issuer, audience and type; return the claims.

        An access token verified before is found by its exact text and only its expiry is
        checked again (the rest of what was checked cannot change).
        """
        known = self._verified.get(token)
        if known is not None and known.token_type == expected_type:
            if datetime.now(UTC) < known.expires_at + LEEWAY:
                return known
            del self._verified[token]
        claims = self._verify(token, expected_type)
        if expected_type == "access":
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                # Forget the oldest entry (dicts keep insertion order).
                del self._verified[next(iter(self._verified))]
            self._verified[token] = claims
        return claims

    def _verify(self, token: str, expected_type: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            if token.startswith(API_KEY_PREFIX):
                raise InvalidToken(API_KEY_AS_BEARER) from exc
            raise InvalidToken("The token is malformed.") from exc
        # We implement no JWS extension, so any critical one must be refused (RFC 7515 4.1.11).
        if "crit" in header:
            raise InvalidToken("The token has an unsupported critical header.")
        if header.get("alg") != self._algorithm:
            raise InvalidToken("The token's algorithm is not accepted.")
        key = self._verify_keys.get(header.get("kid") if self._algorithm != "HS256" else None)
        if key is None:
            raise InvalidToken("The token's key is unknown.")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=LEEWAY,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("The token is invalid.") from exc
        if payload.get("typ") != expected_type:
            raise InvalidToken(f"A {expected_type} token is required.")
        for name in TIME_CLAIMS:
            if not _is_numeric_date(payload[name]):
                raise InvalidToken("The token's times are invalid.")
        subject, account, scope = payload.get("sub"), payload.get("acct"), payload.get("scope")
        jti = payload["jti"]
        if not (
            _is_id(subject)
            and _is_id(account)
            and isinstance(scope, str)
            and isinstance(jti, str)
            and _JTI.fullmatch(jti) is not None
        ):
            raise InvalidToken("The token's claims are invalid.")
        return Claims(
            subject=subject,
            account_id=account,
            scopes=frozenset(scope.split()),
            token_type=expected_type,
            jti=jti,
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )

    def _encode(self, subject: str, account_id: str, scopes: str, typ: str, ttl: int) -> str:
        now = datetime.now(UTC)
        payload = {
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "sub": subject,
            "acct": account_id,
            "scope": scopes,
            "typ": typ,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl),
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._kid} if self._kid and self._algorithm != "HS256" else None
        return jwt.encode(payload, self._signing_key, algorithm=self._algorithm, headers=headers)


def _is_numeric_date(value: object) -> bool:
    """A JSON number of seconds since 1970 (RFC 7519 2) that a datetime can hold."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value <= LATEST_NUMERIC_DATE  # NaN fails both comparisons


def _is_id(value: object) -> TypeGuard[str]:
    """An id of ours (``sub``, ``acct``): the server issues UUIDs only."""
    return isinstance(value, str) and is_uuid(value)


def _load_public_keys(directory: Path) -> dict[str | None, Any]:
    """Public keys of earlier key pairs, one ``<kid>.pem`` each, so their tokens still verify."""
    return {
        path.stem: serialization.load_pem_public_key(path.read_bytes())
        for path in sorted(directory.glob("*.pem"))
    }
