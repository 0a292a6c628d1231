"""Verified access tokens are remembered, but never past their expiry or for another type."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
import pytest

from assured_server.auth.tokens import LEEWAY, InvalidToken, TokenService
from assured_server.config import Settings, with_generated_secrets

# Ids as the server issues them (UUIDs): a token with any other sub or acct is refused.
SUBJECT = "01a25190-0000-7000-8000-000000000001"
ACCOUNT = "01a25190-0000-7000-8000-000000000002"


def _service(tmp_path: Path) -> tuple[TokenService, Settings]:
    settings = with_generated_secrets(Settings(data_dir=tmp_path))
    return TokenService(settings), settings


def _token(settings: Settings, *, exp: float, typ: str = "access") -> str:
    now = time.time()
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": SUBJECT,
        "acct": ACCOUNT,
        "scope": "files:read",
        "typ": typ,
        "iat": int(now) - 60,
        "nbf": int(now) - 60,
        "exp": exp,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_secret.encode(), algorithm="HS256")


def test_a_cached_token_is_refused_once_it_expires(tmp_path: Path) -> None:
    service, settings = _service(tmp_path)
    # Past its exp but inside the leeway for about one more second.
    exp = int(time.time()) - int(LEEWAY.total_seconds()) + 1
    token = _token(settings, exp=exp)
    assert service.verify(token, "access").subject == SUBJECT
    deadline = time.monotonic() + 5
    while time.time() < exp + LEEWAY.total_seconds() + 0.05:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(InvalidToken, match="expired"):
        service.verify(token, "access")


def test_a_cached_access_token_is_not_accepted_as_a_refresh_token(tmp_path: Path) -> None:
    service, settings = _service(tmp_path)
    token = _token(settings, exp=time.time() + 600)
    service.verify(token, "access")
    with pytest.raises(InvalidToken, match="refresh"):
        service.verify(token, "refresh")
    # And it still works as what it is.
    assert service.verify(token, "access").account_id == ACCOUNT


def test_a_token_that_fails_is_never_remembered(tmp_path: Path) -> None:
    service, settings = _service(tmp_path)
    good = _token(settings, exp=time.time() + 600)
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            service.verify(forged, "access")
    assert service.verify(good, "access").subject == SUBJECT
