"""CORS over HTTP: preflights and the headers of actual requests, on every prefix it covers."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from server_helpers import (
    TEST_MAX_UPLOAD,
    Api,
    assert_api_error,
    assert_s3_error,
    is_s3,
    make_api,
    own_server,
    pdf_bytes,
)

from assured_testing import ServerProcess

ALLOWED = "https://app.example.com"
ALSO_ALLOWED = "http://localhost:3000"
DENIED = "https://evil.example.net"
EXPOSED = {"etag", "location", "x-request-id", "retry-after", "upload-offset", "tus-resumable"}


@pytest.fixture(scope="module")
def cors_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: dict[str, str],
) -> Iterator[ServerProcess]:
    """A server of the module's own with two allowed origins (written as users might)."""
    env = {
        "ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD),
        # Upper case and a default port: compared as the browser serializes the origin.
        "ASSURED_CORS_ORIGINS": " HTTPS://App.Example.com:443 ,http://localhost:3000",
    }
    with own_server(request, tmp_path_factory.mktemp("cors"), backend, env) as proc:
        yield proc


@pytest.fixture(scope="module")
def cors_api(cors_server: ServerProcess) -> Iterator[Api]:
    """An account on the CORS server."""
    client = make_api(cors_server, cors_server.new_account("cors"))
    yield client
    client.client.close()


def _preflight(
    server: ServerProcess, path: str, origin: str, method: str, headers: str | None = None
) -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return httpx.options(f"{server.base_url}{path}", headers=request_headers, timeout=30)


def _methods(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}


def _assert_no_allow_headers(response: httpx.Response) -> None:
    granted = [name for name in response.headers if name.startswith("access-control-allow-")]
    assert not granted, response.headers


def _assert_readable_by(response: httpx.Response, origin: str) -> None:
    assert response.headers["access-control-allow-origin"] == origin, response.headers
    assert "Origin" in response.headers["vary"]
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert exposed >= EXPOSED
    assert "access-control-allow-credentials" not in response.headers


# --- preflights ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "headers", "methods"),
    [
        (
            "/api/v1/files/handle/",
            "POST",
            "authorization,content-type,idempotency-key",
            {"POST"},
        ),
        ("@files", "POST", "Authorization, Content-Type, X-Request-ID", {"GET", "POST"}),
        ("@files/@file", "DELETE", "authorization", {"GET", "DELETE"}),
        ("@files", "POST", "tus-resumable,upload-length,upload-metadata", {"GET", "POST"}),
        ("/storage/@bucket", "POST", None, {"POST"}),
        ("/storage/@bucket/files/@file", "GET", None, {"GET", "HEAD"}),
    ],
)
@pytest.mark.parametrize("origin", [ALLOWED, ALSO_ALLOWED])
def test_a_preflight_from_an_allowed_origin_is_204_with_the_paths_methods(
    cors_api: Api, path: str, method: str, headers: str | None, methods: set[str], origin: str
) -> None:
    path = _path(cors_api, path)
    response = _preflight(cors_api.server, path, origin, method, headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["access-control-allow-origin"] == origin
    assert _methods(response) == methods
    if headers is None:
        assert "access-control-allow-headers" not in response.headers
    else:
        allowed = response.headers["access-control-allow-headers"]
        assert {h.strip() for h in allowed.split(",")} == {
            h.strip().lower() for h in headers.split(",")
        }
    assert response.headers["access-control-max-age"] == "600"
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        (DENIED, "POST", "authorization"),
        (ALLOWED + ".evil.net", "POST", None),
        ("null", "POST", None),
        (ALLOWED, "PUT", "authorization"),  # a method the path does not serve
        (ALLOWED, "POST", "authorization, x-custom"),  # a header not on the list
        (ALLOWED, "POST", "cookie"),
    ],
)
def test_a_refused_preflight_is_a_json_403_without_allow_headers(
    cors_api: Api, origin: str, method: str, headers: str | None
) -> None:
    response = _preflight(cors_api.server, cors_api.files_path, origin, method, headers)
    assert_api_error(response, 403, "FORBIDDEN")
    _assert_no_allow_headers(response)
    assert "Origin" in response.headers["vary"]


@pytest.mark.parametrize(
    ("path", "origin", "method", "resource"),
    [
        ("/storage/@bucket", DENIED, "POST", "BUCKET"),
        ("/storage/@bucket", ALLOWED, "PUT", "BUCKET"),
        ("/storage/@bucket/files/@file", DENIED, "GET", "OBJECT"),
    ],
)
def test_a_refused_preflight_on_storage_is_s3s_xml_access_forbidden(
    cors_api: Api, path: str, origin: str, method: str, resource: str
) -> None:
    response = _preflight(cors_api.server, _path(cors_api, path), origin, method)
    assert_s3_error(response, 403, "AccessForbidden")
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's answer
    assert root.findtext("Method") == method and root.findtext("ResourceType") == resource
    _assert_no_allow_headers(response)


def test_a_preflight_under_u_is_answered_by_the_policy_too(cors_api: Api) -> None:
    # The upload link's API takes POST there (whatever the token: the preflight reads none).
    response = _preflight(cors_api.server, "/u/sometoken/files", ALLOWED, "POST")
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-methods"] == "POST"
    # A method the path does not have is refused.
    response = _preflight(cors_api.server, "/u/sometoken/files", ALLOWED, "DELETE")
    assert_api_error(response, 403, "FORBIDDEN")


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/uploads", "/static/x.js"])
def test_paths_outside_the_prefixes_get_no_cors_at_all(cors_api: Api, path: str) -> None:
    preflight = _preflight(cors_api.server, path, ALLOWED, "GET")
    assert preflight.status_code in (404, 405), preflight.text
    plain = httpx.get(f"{cors_api.server.base_url}{path}", headers={"Origin": ALLOWED}, timeout=30)
    for response in (preflight, plain):
        assert not [h for h in response.headers if h.startswith("access-control-")]
        assert "vary" not in response.headers


def test_an_options_request_that_is_no_preflight_goes_to_the_app(cors_api: Api) -> None:
    response = httpx.options(
        f"{cors_api.server.base_url}{cors_api.files_path}", headers={"Origin": ALLOWED}, timeout=30
    )
    assert_api_error(response, 405, "METHOD_NOT_ALLOWED")
    _assert_readable_by(response, ALLOWED)


# --- actual requests ----------------------------------------------------------------------------


def test_answers_to_an_allowed_origin_are_readable_successes_and_errors_alike(
    cors_api: Api,
) -> None:
    headers = {"Origin": ALLOWED}
    created = cors_api.client.post(
        cors_api.files_path,
        json={"fileName": "a.pdf", "contentType": "application/pdf"},
        headers=headers,
    )
    assert created.status_code == 201
    _assert_readable_by(created, ALLOWED)
    listed = cors_api.client.get(cors_api.files_path, headers=headers)
    assert listed.status_code == 200
    _assert_readable_by(listed, ALLOWED)
    base = cors_api.server.base_url
    unauthorized = httpx.get(f"{base}{cors_api.files_path}", headers=headers, timeout=30)
    assert_api_error(unauthorized, 401, "UNAUTHORIZED")
    _assert_readable_by(unauthorized, ALLOWED)
    missing = httpx.get(f"{base}/api/v1/nothing/", headers=headers, timeout=30)
    assert_api_error(missing, 404, "NOT_FOUND")
    _assert_readable_by(missing, ALLOWED)
    link = httpx.get(f"{base}/u/{uuid.uuid4().hex}", headers=headers, timeout=30)
    assert link.status_code == 404
    _assert_readable_by(link, ALLOWED)
    # The edge's own answers (here 431, before any route) carry the headers too.
    too_big = httpx.get(
        f"{base}{cors_api.files_path}",
        headers={**headers, "X-Big": "a" * (8193 - len("X-Big"))},
        timeout=30,
    )
    assert_api_error(too_big, 431, "HEADERS_TOO_LARGE")
    _assert_readable_by(too_big, ALLOWED)


def test_a_redirect_to_an_allowed_origin_is_readable(cors_api: Api) -> None:
    response = cors_api.client.get(
        "/api/v1/users/provider-profiles", headers={"Origin": ALLOWED}, follow_redirects=False
    )
    assert response.status_code in (301, 307, 308), response.text
    _assert_readable_by(response, ALLOWED)


@pytest.mark.parametrize("origin", [DENIED, None])
def test_answers_to_another_or_no_origin_vary_but_grant_nothing(
    cors_api: Api, origin: str | None
) -> None:
    headers = {"Origin": origin} if origin else {}
    response = cors_api.client.get(cors_api.files_path, headers=headers)
    assert response.status_code == 200
    assert not [h for h in response.headers if h.startswith("access-control-")]
    assert response.headers["vary"] == "Origin"


def test_the_upload_form_and_the_download_are_readable_from_an_allowed_origin(
    cors_api: Api,
) -> None:
    ticket = cors_api.created()
    fields = ticket["fields"] | {"success_action_status": "201"}
    content = pdf_bytes()
    response = httpx.post(
        ticket["uploadUrl"],
        data=fields,
        files={"file": ("a.pdf", content, "application/pdf")},
        headers={"Origin": ALLOWED},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert b"<PostResponse>" in response.content
    if is_s3(cors_api.server):
        # The form went to the S3 store, whose bucket CORS rules govern it (none here).
        assert cors_api.client.post(f"{cors_api.files_path}/{ticket['id']}/complete").is_success
        return
    _assert_readable_by(response, ALLOWED)
    url = cors_api.download_url(ticket["id"]).json()["url"]
    download = httpx.get(url, headers={"Origin": ALLOWED}, timeout=30)
    assert download.status_code == 200 and download.content == content
    _assert_readable_by(download, ALLOWED)
    refused = httpx.get(url + "0", headers={"Origin": ALLOWED}, timeout=30)
    assert refused.status_code == 403
    _assert_readable_by(refused, ALLOWED)


# --- off by default -----------------------------------------------------------------------------


def test_without_the_setting_there_are_no_cors_headers_anywhere(api: Api) -> None:
    preflight = _preflight(api.server, api.files_path, ALLOWED, "POST", "authorization")
    assert_api_error(preflight, 405, "METHOD_NOT_ALLOWED")
    plain = api.client.get(api.files_path, headers={"Origin": ALLOWED})
    assert plain.status_code == 200
    for response in (preflight, plain):
        assert not [h for h in response.headers if h.startswith("access-control-")]
        assert "vary" not in response.headers


def _path(api: Api, template: str) -> str:
    bucket = "assured-files"
    if is_s3(api.server):
        bucket = api.server.env_overrides["ASSURED_BUCKET"]
    return (
        template.replace("@files", api.files_path)
        .replace("@bucket", bucket)
        .replace("@file", str(uuid.uuid4()))
    )


# --- the policy itself --------------------------------------------------------------------------


def test_a_wildcard_allows_every_origin_and_echoes_it() -> None:
    from assured_server.api.cors import CorsPolicy

    policy = CorsPolicy(["*"], routes=[])
    assert policy.allowed(b"https://anyone.example") and policy.allowed(b"null")
    assert not policy.allowed(None) and not policy.allowed(b"")
    origin, *_ = policy.response_headers(b"https://anyone.example")
    assert origin == (b"access-control-allow-origin", b"https://anyone.example")


@pytest.mark.parametrize(
    ("path", "covered"),
    [
        ("/api", True),
        ("/api/v1/files/handle/", True),
        ("/v3/accounts/x/files", True),
        ("/u/token", True),
        ("/storage/b/k", True),
        ("/uploads", False),
        ("/apix", False),
        ("/v30/x", False),
        ("/healthz", False),
        ("/docs", False),
        ("/", False),
    ],
)
def test_the_prefixes_are_whole_path_segments(path: str, covered: bool) -> None:
    from assured_server.api.cors import CorsPolicy

    assert CorsPolicy.applies(path) is covered
