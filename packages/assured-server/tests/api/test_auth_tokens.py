"""Authentication and authorisation: forged and broken tokens, other accounts, scopes, tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from server_helpers import Api, assert_api_error, pdf_bytes

from assured_testing import Credentials, ServerProcess

ISSUER, AUDIENCE = "assured", "assured-api"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _secret(server: ServerProcess) -> str:
    return (server.data_dir / "jwt_secret").read_text().strip()


def _claims(account_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "acct": account_id,
        "scope": "files:read files:write",
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _hmac_token(header: dict[str, Any], claims: dict[str, Any], key: str, digest: str) -> str:
    """A JWS built by hand, so that any header (alg, crit) can be written."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(key.encode(), signing_input.encode(), getattr(hashlib, digest))
    return f"{signing_input}.{_b64(mac.digest())}"


def _good(server: ServerProcess, account_id: str, **changes: Any) -> str:
    return jwt.encode(_claims(account_id, **changes), _secret(server), algorithm="HS256")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _list(api: Api, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{api.server.base_url}{api.files_path}", headers=headers, timeout=30)


def test_a_forged_token_with_the_right_secret_and_claims_is_accepted(api: Api) -> None:
    # The control for every refusal below: the forging itself is sound.
    assert _list(api, _bearer(_good(api.server, api.account_id))).status_code == 200
    within_leeway = _good(api.server, api.account_id, exp=int(time.time()) - 10)
    assert _list(api, _bearer(within_leeway)).status_code == 200


def _flip_signature(token: str) -> str:
    head, payload, signature = token.split(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{payload}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def _swap_payload(token: str, account_id: str) -> str:
    head, _, signature = token.split(".")
    claims = _claims(account_id, scope="files:read files:write providers:write")
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


HeaderMaker = Callable[[ServerProcess, Api], dict[str, str]]


def _raw(value: str) -> HeaderMaker:
    return lambda server, api: {"Authorization": value}


def _forged(**changes: Any) -> HeaderMaker:
    """Claims changed at call time (a callable value is evaluated then)."""

    def make(server: ServerProcess, api: Api) -> dict[str, str]:
        values = {k: v() if callable(v) else v for k, v in changes.items()}
        return _bearer(_good(server, api.account_id, **values))

    return make


def _alg_none(server: ServerProcess, api: Api) -> dict[str, str]:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(api.account_id)).encode())
    return _bearer(f"{header}.{payload}.")


def _alg_none_case(server: ServerProcess, api: Api) -> dict[str, str]:
    header = _b64(json.dumps({"alg": "None", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(api.account_id)).encode())
    return _bearer(f"{header}.{payload}.")


def _hs512(server: ServerProcess, api: Api) -> dict[str, str]:
    claims = _claims(api.account_id)
    return _bearer(jwt.encode(claims, _secret(server), algorithm="HS512"))


def _rs256_header(server: ServerProcess, api: Api) -> dict[str, str]:
    header = {"alg": "RS256", "typ": "JWT"}
    return _bearer(_hmac_token(header, _claims(api.account_id), _secret(server), "sha256"))


def _crit(server: ServerProcess, api: Api) -> dict[str, str]:
    header = {"alg": "HS256", "typ": "JWT", "crit": ["x-unknown"], "x-unknown": 1}
    return _bearer(_hmac_token(header, _claims(api.account_id), _secret(server), "sha256"))


def _other_secret(server: ServerProcess, api: Api) -> dict[str, str]:
    return _bearer(jwt.encode(_claims(api.account_id), "another-secret-" * 4, algorithm="HS256"))


def _bad_signature(server: ServerProcess, api: Api) -> dict[str, str]:
    return _bearer(_flip_signature(api.server.token(api.creds)))


def _tampered_payload(server: ServerProcess, api: Api) -> dict[str, str]:
    return _bearer(_swap_payload(api.server.token(api.creds), api.account_id))


def _real_refresh(server: ServerProcess, api: Api) -> dict[str, str]:
    response = httpx.post(
        f"{server.base_url}/api/v1/auth/token/", json={"api_key": api.creds.api_key}, timeout=30
    )
    return _bearer(response.json()["refresh"])


UNAUTHORIZED = [
    pytest.param(lambda s, a: {}, id="no-header"),
    pytest.param(_raw(""), id="empty-header"),
    pytest.param(_raw("Bearer"), id="bearer-without-token"),
    pytest.param(_raw("Basic dXNlcjpwYXNz"), id="basic-scheme"),
    pytest.param(_raw("Token abc.def.ghi"), id="other-scheme"),
    pytest.param(_raw("Bearer not-a-jwt"), id="not-a-jwt"),
    pytest.param(_raw("Bearer a.b.c"), id="garbage-segments"),
    pytest.param(_raw("Bearer a.b"), id="two-segments"),
    pytest.param(_bad_signature, id="bad-signature"),
    pytest.param(_tampered_payload, id="payload-swapped"),
    pytest.param(_other_secret, id="another-secret"),
    pytest.param(_forged(exp=lambda: int(time.time()) - 120), id="expired-past-leeway"),
    pytest.param(_forged(nbf=lambda: int(time.time()) + 600), id="not-yet-valid"),
    pytest.param(_forged(iat=lambda: "yesterday"), id="iat-not-a-number"),
    pytest.param(_forged(iss="someone-else"), id="wrong-issuer"),
    pytest.param(_forged(aud="another-api"), id="wrong-audience"),
    pytest.param(_forged(aud=["another-api"]), id="wrong-audience-list"),
    pytest.param(_forged(typ="refresh"), id="typ-refresh"),
    pytest.param(_forged(typ="id"), id="typ-other"),
    pytest.param(_real_refresh, id="a-real-refresh-token"),
    pytest.param(_forged(typ=None), id="no-typ"),
    pytest.param(_forged(exp=None), id="no-exp"),
    pytest.param(_forged(iss=None), id="no-iss"),
    pytest.param(_forged(aud=None), id="no-aud"),
    pytest.param(_forged(acct=None), id="no-account"),
    pytest.param(_alg_none, id="alg-none"),
    pytest.param(_alg_none_case, id="alg-None"),
    pytest.param(_hs512, id="hs512-with-our-secret"),
    pytest.param(_rs256_header, id="rs256-header-hmac-with-our-secret"),
    pytest.param(_crit, id="unknown-crit-header"),
]


@pytest.mark.parametrize("make_headers", UNAUTHORIZED)
def test_a_missing_or_bad_token_is_401_with_www_authenticate(
    api: Api, make_headers: HeaderMaker
) -> None:
    response = _list(api, make_headers(api.server, api))
    assert_api_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_an_api_key_sent_as_the_token_is_told_to_exchange_it(api: Api) -> None:
    response = _list(api, _bearer(api.creds.api_key))
    body = assert_api_error(response, 401, "UNAUTHORIZED")
    assert "POST /api/v1/auth/token/" in body["detail"]
    assert '"api_key"' in body["detail"]
    assert api.creds.api_key not in response.text  # the secret is never echoed
    # Anything else that is not a JWT keeps the plain answer.
    other = assert_api_error(_list(api, _bearer("asd-not-a-key")), 401, "UNAUTHORIZED")
    assert other["detail"] == "The token is malformed."


def test_a_bad_token_creates_nothing(api: Api) -> None:
    before = api.file_count()
    response = httpx.post(
        f"{api.server.base_url}{api.files_path}",
        json={"fileName": "a.pdf", "contentType": "application/pdf"},
        headers=_bearer(_flip_signature(api.server.token(api.creds))),
        timeout=30,
    )
    assert_api_error(response, 401, "UNAUTHORIZED")
    assert api.file_count() == before


# --- other accounts ---------------------------------------------------------------------------


def _account_paths(account_id: str) -> list[tuple[str, str]]:
    file_id = str(uuid.uuid4())
    base = f"/v3/accounts/{account_id}/files"
    return [
        ("GET", base),
        ("POST", base),
        ("GET", f"{base}/{file_id}"),
        ("GET", f"{base}/{file_id}/download-url"),
        ("POST", f"{base}/{file_id}/complete"),
        ("DELETE", f"{base}/{file_id}"),
    ]


@pytest.mark.parametrize(
    "which",
    ["other-existing", "unknown-uuid", "malformed", "uppercase-own", "numeric"],
)
def test_a_token_on_another_accounts_path_is_403(api: Api, other_api: Api, which: str) -> None:
    account = {
        "other-existing": other_api.account_id,
        "unknown-uuid": str(uuid.uuid4()),
        "malformed": "not-an-account",
        "uppercase-own": api.account_id.upper(),
        "numeric": "1",
    }[which]
    if account == api.account_id:
        pytest.skip("the account id has no letters to change")
    before = other_api.file_count()
    for method, path in _account_paths(account):
        body = {"fileName": "a.pdf", "contentType": "application/pdf"} if method == "POST" else None
        response = api.client.request(method, path, json=body)
        assert_api_error(response, 403, "FORBIDDEN")
    assert other_api.file_count() == before


@pytest.fixture(scope="module")
def others_file(other_api: Api) -> dict[str, Any]:
    """An available file of the other account."""
    ticket = other_api.created("theirs.pdf")
    assert other_api.post_form(ticket, pdf_bytes()).status_code == 204
    return ticket


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("GET", "/download-url"), ("POST", "/complete"), ("DELETE", "")],
)
def test_another_accounts_file_id_is_404_on_my_path(
    api: Api, other_api: Api, others_file: dict[str, Any], method: str, suffix: str
) -> None:
    response = api.client.request(method, f"{api.files_path}/{others_file['id']}{suffix}")
    assert_api_error(response, 404, "NOT_FOUND")
    theirs = other_api.get_file(others_file["id"])
    assert theirs.status_code == 200 and theirs.json()["status"] == "available"


@pytest.mark.parametrize(
    "file_id",
    [
        "not-a-uuid",
        "123",
        "0190f1e4-0000-7000-8000-00000000000g",
        "%20",
        "5b0e7c4d-93a1-4f6e-b2d8-1c7a9e3f6d05",
    ],
)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("GET", "/download-url"), ("POST", "/complete"), ("DELETE", "")],
)
def test_a_malformed_or_unknown_file_id_is_404(
    api: Api, file_id: str, method: str, suffix: str
) -> None:
    response = api.client.request(method, f"{api.files_path}/{file_id}{suffix}")
    assert_api_error(response, 404, "NOT_FOUND")


# --- scopes -----------------------------------------------------------------------------------


def _scoped(api: Api, scopes: str) -> httpx.Client:
    key = api.server.admin("create-api-key", "--account", api.account_id, "--scopes", scopes)
    token = api.server.token(Credentials(api.account_id, key["api_key"]))
    return httpx.Client(base_url=api.server.base_url, headers=_bearer(token), timeout=30)


@pytest.fixture(scope="module")
def reader(api: Api) -> Iterator[httpx.Client]:
    """A client of the main account whose key has only ``files:read``."""
    with _scoped(api, "files:read") as client:
        yield client


@pytest.fixture(scope="module")
def writer(api: Api) -> Iterator[httpx.Client]:
    """A client of the main account whose key has only ``files:write``."""
    with _scoped(api, "files:write") as client:
        yield client


def test_a_read_only_key_reads_but_cannot_change(api: Api, reader: httpx.Client) -> None:
    ticket = api.created()
    path = f"{api.files_path}/{ticket['id']}"
    assert reader.get(api.files_path).status_code == 200
    assert reader.get(path).status_code == 200
    assert_api_error(reader.get(f"{path}/download-url"), 409, "FILE_NOT_READY")  # scope passed
    before = api.file_count()
    body = {"fileName": "a.pdf", "contentType": "application/pdf"}
    assert_api_error(reader.post(api.files_path, json=body), 403, "FORBIDDEN")
    assert_api_error(reader.post(f"{path}/complete"), 403, "FORBIDDEN")
    assert_api_error(reader.delete(path), 403, "FORBIDDEN")
    assert api.file_count() == before
    assert api.get_file(ticket["id"]).status_code == 200


def test_a_write_only_key_changes_but_cannot_read(api: Api, writer: httpx.Client) -> None:
    ticket = api.created()
    path = f"{api.files_path}/{ticket['id']}"
    assert_api_error(writer.get(api.files_path), 403, "FORBIDDEN")
    assert_api_error(writer.get(path), 403, "FORBIDDEN")
    assert_api_error(writer.get(f"{path}/download-url"), 403, "FORBIDDEN")
    created = writer.post(
        api.files_path, json={"fileName": "w.pdf", "contentType": "application/pdf"}
    )
    assert created.status_code == 201, created.text
    assert_api_error(writer.post(f"{path}/complete"), 409, "FILE_NOT_READY")  # scope passed
    assert writer.delete(path).status_code == 204


def test_a_forged_token_without_the_scope_is_403(api: Api) -> None:
    token = _good(api.server, api.account_id, scope="providers:read providers:write")
    assert_api_error(_list(api, _bearer(token)), 403, "FORBIDDEN")
    token = _good(api.server, api.account_id, scope="")
    assert_api_error(_list(api, _bearer(token)), 403, "FORBIDDEN")


# --- the token endpoints ----------------------------------------------------------------------

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test fixture


@pytest.fixture(scope="module")
def user(api: Api) -> dict[str, Any]:
    """A username/password user of the main account."""
    name = f"user-{uuid.uuid4().hex[:8]}"
    created = api.server.admin(
        "create-user",
        "--account",
        api.account_id,
        "--username",
        name,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert created["username"] == name and created["account"] == api.account_id
    return created


def _post(api: Api, path: str, body: Any) -> httpx.Response:
    return httpx.post(f"{api.server.base_url}/api/v1/auth/{path}", json=body, timeout=30)


def test_username_and_password_obtain_refresh_and_revoke(api: Api, user: dict[str, Any]) -> None:
    obtained = _post(api, "token/", {"username": user["username"], "password": PASSWORD})
    assert obtained.status_code == 200, obtained.text
    pair = obtained.json()
    assert set(pair) == {"access", "refresh", "token_type", "expires_in"}
    assert pair["token_type"] == "Bearer" and pair["expires_in"] == 900

    claims = jwt.decode(pair["access"], options={"verify_signature": False})
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["sub"] == user["id"] and claims["acct"] == api.account_id
    assert claims["typ"] == "access" and claims["exp"] - claims["iat"] == 900
    assert set(claims["scope"].split()) == {
        "files:read",
        "files:write",
        "providers:read",
        "providers:write",
    }
    assert {"nbf", "jti"} <= set(claims)
    assert jwt.get_unverified_header(pair["access"])["alg"] == "HS256"
    refresh_claims = jwt.decode(pair["refresh"], options={"verify_signature": False})
    assert refresh_claims["typ"] == "refresh"
    assert refresh_claims["exp"] - refresh_claims["iat"] == 86400
    assert _list(api, _bearer(pair["access"])).status_code == 200

    refreshed = _post(api, "token/refresh/", {"refresh": pair["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    assert set(refreshed.json()) == {"access", "expires_in"}
    assert refreshed.json()["expires_in"] == 900
    assert _list(api, _bearer(refreshed.json()["access"])).status_code == 200

    revoked = _post(api, "token/revoke/", {"refresh": pair["refresh"]})
    assert revoked.status_code == 204 and revoked.content == b""
    again = _post(api, "token/refresh/", {"refresh": pair["refresh"]})
    assert_api_error(again, 401, "UNAUTHORIZED")
    assert again.headers["www-authenticate"].startswith("Bearer")


def test_an_access_token_does_not_refresh(api: Api) -> None:
    response = _post(api, "token/refresh/", {"refresh": api.server.token(api.creds)})
    assert_api_error(response, 401, "UNAUTHORIZED")


def test_a_forged_refresh_token_does_not_refresh(api: Api) -> None:
    claims = _claims(api.account_id, typ="refresh")
    forged = jwt.encode(claims, "another-secret-" * 4, algorithm="HS256")
    assert_api_error(_post(api, "token/refresh/", {"refresh": forged}), 401, "UNAUTHORIZED")
    assert_api_error(_post(api, "token/revoke/", {"refresh": forged}), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"username": "nobody-here", "password": PASSWORD}, id="unknown-user"),
        pytest.param({"username": "@user", "password": "wrong password"}, id="wrong-password"),
        pytest.param({"username": "@user", "password": PASSWORD.upper()}, id="password-case"),
        pytest.param({"api_key": "not-a-key"}, id="unknown-api-key"),
        pytest.param({"api_key": "@key-tampered"}, id="tampered-api-key"),
    ],
)
def test_wrong_credentials_are_401(api: Api, user: dict[str, Any], body: dict[str, str]) -> None:
    if body.get("username") == "@user":
        body = body | {"username": user["username"]}
    if body.get("api_key") == "@key-tampered":
        key = api.creds.api_key
        body = {"api_key": key[:-1] + ("x" if key[-1] != "x" else "y")}
    response = _post(api, "token/", body)
    assert_api_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("path", "body", "code", "field"),
    [
        ("token/", {}, "MISSING_FIELDS", "username"),
        ("token/", {"username": "someone"}, "MISSING_FIELDS", "password"),
        ("token/", {"username": "  ", "password": "x"}, "MISSING_FIELDS", "username"),
        ("token/", {"api_key": ""}, "MISSING_FIELDS", "api_key"),
        ("token/", {"api_key": 5}, "INVALID_REQUEST", "api_key"),
        ("token/", {"username": ["a"], "password": "x"}, "INVALID_REQUEST", "username"),
        ("token/", {"apikey": "x"}, "INVALID_REQUEST", "apikey"),
        ("token/refresh/", {}, "MISSING_FIELDS", "refresh"),
        ("token/refresh/", {"refresh": ""}, "MISSING_FIELDS", "refresh"),
        ("token/refresh/", {"refresh": 5}, "INVALID_REQUEST", "refresh"),
        ("token/revoke/", {"refresh": None}, "MISSING_FIELDS", "refresh"),
        ("token/revoke/", {"token": "x"}, "INVALID_REQUEST", "token"),
    ],
)
def test_a_bad_token_request_body_is_400(
    api: Api, path: str, body: dict[str, Any], code: str, field: str
) -> None:
    assert_api_error(_post(api, path, body), 400, code, field)
