"""Every claim of a token, fuzzed: tokens signed with the server's own secret never make a 500.

Each token is a valid one of the server's (HS256 with the secret in the data dir) with some
claims replaced by any JSON value (numbers past any clock, NaN, strings, lists...) or dropped,
and sometimes extra or odd header parameters. Used as an access token on an account path, and
as a refresh token to refresh and to revoke: the answer is the contract's 401 (403 for an
access token of another account or without the scope), never a 500; and a token that breaks a
rule the contract states is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from server_helpers import Api, assert_api_error, assert_contract_error, make_api

from assured_server.api.middleware import MAX_HEADER_BYTES
from assured_server.auth.secrets import split_api_key
from assured_testing import ServerProcess

EXAMPLES = 150
ISSUER, AUDIENCE = "assured", "assured-api"
LEEWAY = 30
LATEST = 253_370_764_800  # 9999-01-01T00:00:00Z: the latest time a token may name
REFRESH_MAX_CHARS = 8192
CLAIMS = ["exp", "nbf", "iat", "sub", "acct", "scope", "typ", "jti", "iss", "aud"]


@dataclass
class Target:
    """An account of its own, the id of its API key (a subject), and the server's secret."""

    api: Api
    key_id: str
    secret: str


@pytest.fixture(scope="module")
def target(server: ServerProcess) -> Iterator[Target]:
    creds = server.new_account("fuzz-tokens")
    api = make_api(server, creds)
    parts = split_api_key(creds.api_key)
    assert parts is not None
    key_id = parts[0]
    secret = (server.data_dir / "jwt_secret").read_text().strip()
    yield Target(api, key_id, secret)
    api.client.close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: dict[str, Any], claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWS by hand: any JSON the standard library writes (NaN, 10**400) can go in."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def good_claims(target: Target, typ: str) -> dict[str, Any]:
    """What the server itself would put in a token of ``typ`` for the account's key."""
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": target.key_id,
        "acct": target.api.account_id,
        "scope": "files:read files:write providers:read providers:write",
        "typ": typ,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and both infinities too
    | st.text(max_size=30)
)
claim_values = st.one_of(
    _json_leaf,
    st.sampled_from([10**30, -(10**30), 10**400, 2**63, 2**64, -1, 0, LATEST + 1, 1e308, -0.0]),
    st.sampled_from(["", " ", "access", "refresh", ISSUER, AUDIENCE, "9999999999", "1e400"]),
    st.integers(min_value=-(10**10), max_value=10**10).map(lambda d: int(time.time()) + d),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda d: time.time() + d),
    st.uuids().map(str),
    st.text(min_size=100, max_size=3000),
    st.lists(_json_leaf, max_size=4),
    st.lists(st.sampled_from([AUDIENCE, ISSUER, "x"]), max_size=3),
    st.dictionaries(st.text(max_size=5), _json_leaf, max_size=3),
)
header_extras = st.dictionaries(
    st.sampled_from(["alg", "crit", "kid", "typ", "b64", "jku", "x5u", "zip", "cty"]),
    st.one_of(
        claim_values,
        st.sampled_from(["none", "None", "HS512", "RS256", "hs256", "HS256 ", "HS256", ["exp"]]),
    ),
    max_size=2,
)


@st.composite
def tokens(draw: st.DrawFn, target: Target, typ: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """``(token, header, claims)``: a good token of ``typ`` with some claims changed."""
    claims = good_claims(target, typ)
    for name in draw(st.lists(st.sampled_from([*CLAIMS, "extra"]), min_size=1, max_size=4)):
        if draw(st.integers(min_value=0, max_value=4)) == 0:
            claims.pop(name, None)
        else:
            claims[name] = draw(claim_values)
    header = {"alg": "HS256", "typ": "JWT", **draw(header_extras)}
    return sign(header, claims, target.secret), header, claims


def _is_time(value: Any) -> bool:
    # An int of any size is a number (math.isnan would overflow on one beyond a float's range).
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and not math.isnan(value))


def must_be_refused(header: dict[str, Any], claims: dict[str, Any], typ: str) -> str | None:
    """Why the contract refuses this token (401), or ``None`` if it might be good.

    Rules of API.md "Authentication" and RFC 7519, with a margin around the leeway so that
    a token near a time limit is not judged here.
    """
    now = time.time()
    required = ["exp", "iat", "nbf", "iss", "aud", "sub", "acct", "scope", "typ", "jti"]
    if header.get("alg") != "HS256" or "crit" in header:
        return "algorithm or critical header"
    if any(name not in claims for name in required):
        return "a required claim is missing"
    if claims["typ"] != typ:
        return "wrong typ"
    if claims["iss"] != ISSUER:
        return "wrong issuer"
    aud = claims["aud"]
    if not (aud == AUDIENCE or (isinstance(aud, list) and AUDIENCE in aud)):
        return "wrong audience"
    for name in ("exp", "nbf", "iat"):
        if not _is_time(claims[name]) or not 0 <= claims[name] <= LATEST:
            return f"{name} is no time"
    if claims["exp"] < now - LEEWAY - 60:
        return "expired"
    if claims["nbf"] > now + LEEWAY + 60 or claims["iat"] > now + LEEWAY + 60:
        return "not yet valid"
    for name in ("sub", "acct"):
        if not isinstance(claims[name], str):
            return f"{name} is no id"
    if not isinstance(claims["scope"], str) or not isinstance(claims["jti"], str):
        return "scope or jti is no string"
    if not re.fullmatch(r"[\x21-\x7e]{1,64}", claims["jti"]):
        return "jti is not 1 to 64 printable ASCII characters"
    return None


def _check(response: httpx.Response, refused: str | None, possible: set[int]) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if refused is not None:
        assert_api_error(response, 401, "UNAUTHORIZED")
        assert response.headers["www-authenticate"] == "Bearer", refused
    elif response.status_code >= 400:
        assert_contract_error(response)
    assert response.status_code in possible, (response.status_code, response.text[:300])


def test_the_unchanged_tokens_are_accepted(target: Target) -> None:
    # The control for the fuzzing below: the hand-made tokens themselves are sound.
    access = sign({"alg": "HS256", "typ": "JWT"}, good_claims(target, "access"), target.secret)
    listed = target.api.client.get(
        target.api.files_path, headers={"Authorization": f"Bearer {access}"}
    )
    assert listed.status_code == 200, listed.text
    refresh = sign({"alg": "HS256", "typ": "JWT"}, good_claims(target, "refresh"), target.secret)
    refreshed = httpx.post(
        f"{target.api.server.base_url}/api/v1/auth/token/refresh/",
        json={"refresh": refresh},
        timeout=30,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_no_access_token_claim_makes_a_500(target: Target) -> None:
    base = target.api.server.base_url

    @settings(max_examples=EXAMPLES)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        token, header, claims = data.draw(tokens(target, "access"))
        authorization = f"Bearer {token}"
        response = httpx.get(
            f"{base}{target.api.files_path}",
            headers={"Authorization": authorization},
            timeout=30,
        )
        if len("authorization") + len(authorization) > MAX_HEADER_BYTES:
            assert_api_error(response, 431, "HEADERS_TOO_LARGE")
            return
        _check(response, must_be_refused(header, claims, "access"), {200, 401, 403})

    fuzz()
    assert target.api.client.get(target.api.files_path).status_code == 200


@pytest.mark.parametrize(("path", "success"), [("refresh/", 200), ("revoke/", 204)])
def test_no_refresh_token_claim_makes_a_500(target: Target, path: str, success: int) -> None:
    url = f"{target.api.server.base_url}/api/v1/auth/token/{path}"

    @settings(max_examples=EXAMPLES)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        token, header, claims = data.draw(tokens(target, "refresh"))
        response = httpx.post(url, json={"refresh": token}, timeout=30)
        if len(token) > REFRESH_MAX_CHARS:
            assert_api_error(response, 400, "INVALID_REQUEST", field="refresh")
            return
        _check(response, must_be_refused(header, claims, "refresh"), {success, 401})

    fuzz()
    assert target.api.client.get(target.api.files_path).status_code == 200


@pytest.mark.parametrize("exp", [10**30, 10**400, 1e308, float("inf"), float("nan"), "9999999999"])
def test_a_token_whose_expiry_no_clock_reaches_is_401(target: Target, exp: Any) -> None:
    # exp = 10**30 passed PyJWT's check and then overflowed datetime: a 500.
    claims = {**good_claims(target, "access"), "exp": exp}
    token = sign({"alg": "HS256", "typ": "JWT"}, claims, target.secret)
    response = target.api.client.get(
        target.api.files_path, headers={"Authorization": f"Bearer {token}"}
    )
    assert_api_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("jti", ["j" * 65, "\x00", "a\x00b", "é", "a b", ""])
def test_a_refresh_token_with_a_jti_we_never_issue_is_401_and_cannot_be_revoked(
    target: Target, jti: str
) -> None:
    # The revocation row keeps at most 64 characters of jti, and PostgreSQL refuses a NUL in
    # text: both inserts failed (500) before the claim was checked.
    claims = {**good_claims(target, "refresh"), "jti": jti}
    token = sign({"alg": "HS256", "typ": "JWT"}, claims, target.secret)
    url = f"{target.api.server.base_url}/api/v1/auth/token/revoke/"
    assert_api_error(httpx.post(url, json={"refresh": token}, timeout=30), 401, "UNAUTHORIZED")
