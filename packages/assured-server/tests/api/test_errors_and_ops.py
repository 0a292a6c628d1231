"""The error format, request ids, header limits, and the operations endpoints."""

from __future__ import annotations

import uuid

import httpx
import pytest
from server_helpers import Api, assert_api_error, pdf_bytes, s3_error_code, stored_objects

from assured_testing import ServerProcess


def _get(server: ServerProcess, path: str, **kwargs: object) -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", timeout=30, **kwargs)  # type: ignore[arg-type]


# --- unknown routes and methods ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/v3"),
        ("GET", "/v3/accounts"),
        ("POST", "/v3/accounts/files"),
        ("GET", "/v3/accounts/@acct/nothing"),
        ("GET", "/v3/accounts/@acct/files/@file/nothing"),
        ("DELETE", "/api/v1/unknown/"),
        ("GET", "/api/v2/files/"),
    ],
)
@pytest.mark.parametrize("auth", ["none", "garbage"])
def test_an_unknown_route_is_a_json_404_before_any_auth_check(
    server: ServerProcess, method: str, path: str, auth: str
) -> None:
    path = path.replace("@acct", str(uuid.uuid4())).replace("@file", str(uuid.uuid4()))
    headers = {"Authorization": "Bearer garbage"} if auth == "garbage" else {}
    response = httpx.request(method, f"{server.base_url}{path}", headers=headers, timeout=30)
    assert_api_error(response, 404, "NOT_FOUND")
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v3/accounts/@acct/files", {"GET", "POST"}),
        ("DELETE", "/v3/accounts/@acct/files", {"GET", "POST"}),
        ("PATCH", "/v3/accounts/@acct/files/@file", {"GET", "DELETE"}),
        ("POST", "/v3/accounts/@acct/files/@file/download-url", {"GET"}),
        ("GET", "/v3/accounts/@acct/files/@file/complete", {"POST"}),
        ("POST", "/healthz", {"GET"}),
        ("GET", "/api/v1/auth/token/", {"POST"}),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    server: ServerProcess, method: str, path: str, allowed: set[str]
) -> None:
    path = path.replace("@acct", str(uuid.uuid4())).replace("@file", str(uuid.uuid4()))
    response = httpx.request(method, f"{server.base_url}{path}", timeout=30)
    assert_api_error(response, 405, "METHOD_NOT_ALLOWED")
    allow = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed <= allow and method not in allow


# --- the one error shape ----------------------------------------------------------------------


def test_every_error_has_exactly_code_detail_request_id_and_field_when_set(api: Api) -> None:
    without_field = [
        _get(api.server, "/nope"),
        _get(api.server, api.files_path),  # no token
        api.client.get(f"{api.files_path}/{uuid.uuid4()}"),
        api.client.get(f"/v3/accounts/{uuid.uuid4()}/files"),
        api.client.post(api.files_path, content=b"{", headers={"Content-Type": "application/json"}),
    ]
    for response in without_field:
        body = response.json()
        assert set(body) == {"code", "detail", "request_id"}, body
    with_field = [
        api.create_upload(contentType="application/pdf"),
        api.create_upload(fileName="a.png", contentType="application/pdf"),
        api.create_upload(fileName="a/b.pdf", contentType="application/pdf"),
        api.create_upload(fileName="a.pdf", contentType="application/pdf", expiration="0d"),
        api.client.get(api.files_path, params={"limit": "0"}),
    ]
    for response in with_field:
        body = response.json()
        assert set(body) == {"code", "detail", "field", "request_id"}, body
    for response in without_field + with_field:
        assert response.status_code >= 400
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert not response.text.lstrip().startswith("<")
        assert "Traceback" not in response.text
        assert response.json()["request_id"] == response.headers["x-request-id"]


def test_json_answers_are_utf8_json(api: Api) -> None:
    for response in (
        api.client.get(api.files_path),
        api.create_upload(fileName="é.pdf", contentType="application/pdf"),
        _get(api.server, "/healthz"),
        _get(api.server, "/readyz"),
    ):
        assert response.status_code < 300, response.text
        assert response.headers["content-type"] == "application/json; charset=utf-8"


# --- request ids ------------------------------------------------------------------------------


def test_a_given_request_id_is_echoed_on_success_and_on_error(api: Api) -> None:
    for response in (
        api.client.get(api.files_path, headers={"X-Request-ID": "req-success-1"}),
        _get(api.server, "/nope", headers={"X-Request-ID": "req-error-1"}),
    ):
        expected = "req-success-1" if response.status_code == 200 else "req-error-1"
        assert response.headers["x-request-id"] == expected
        if response.status_code != 200:
            assert response.json()["request_id"] == expected


def test_a_request_id_is_generated_when_absent(server: ServerProcess) -> None:
    first, second = _get(server, "/healthz"), _get(server, "/nope")
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and all(ids)
    assert second.json()["request_id"] == second.headers["x-request-id"]


@pytest.mark.usefixtures("embedded_storage")
def test_a_storage_error_carries_the_request_id_too(server: ServerProcess) -> None:
    response = _get(
        server, f"/storage/assured-files/files/{uuid.uuid4()}", headers={"X-Request-ID": "s3-req"}
    )
    assert response.status_code == 403
    assert response.headers["x-request-id"] == "s3-req"
    assert b"<RequestId>s3-req</RequestId>" in response.content


# --- header limits ----------------------------------------------------------------------------


def test_one_header_over_8_kib_is_431(server: ServerProcess) -> None:
    name = "X-Big"
    at_limit = _get(server, "/healthz", headers={name: "a" * (8192 - len(name))})
    assert at_limit.status_code == 200
    over = _get(server, "/healthz", headers={name: "a" * (8193 - len(name))})
    assert_api_error(over, 431, "HEADERS_TOO_LARGE")


def test_headers_over_32_kib_in_total_are_431(server: ServerProcess) -> None:
    headers = {f"X-Part-{i}": "b" * 7000 for i in range(5)}
    assert_api_error(_get(server, "/healthz", headers=headers), 431, "HEADERS_TOO_LARGE")
    assert (
        _get(server, "/healthz", headers={f"X-Part-{i}": "b" * 7000 for i in range(4)}).status_code
        == 200
    )


def test_headers_too_large_on_an_authenticated_route_is_431_not_401(api: Api) -> None:
    response = _get(api.server, api.files_path, headers={"X-Big": "c" * 9000})
    assert_api_error(response, 431, "HEADERS_TOO_LARGE")


# --- operations -------------------------------------------------------------------------------


def test_healthz_and_readyz(server: ServerProcess) -> None:
    health = _get(server, "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = _get(server, "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_metrics_are_prometheus_text_0_0_4(server: ServerProcess) -> None:
    _get(server, "/healthz")
    response = _get(server, "/metrics")
    assert response.status_code == 200
    content_type = response.headers["content-type"].replace(" ", "")
    assert content_type.startswith("text/plain;version=0.0.4")
    assert "# TYPE assured_http_request_duration_seconds histogram" in response.text
    assert (
        'assured_http_request_duration_seconds_count{method="GET",route="/healthz"' in response.text
    )
    # Route templates, never raw paths: ids and signatures stay out of the labels.
    assert "X-Amz-Signature" not in response.text


def test_openapi_and_docs(server: ServerProcess) -> None:
    spec = _get(server, "/openapi.json")
    assert spec.status_code == 200
    document = spec.json()
    assert document["openapi"].startswith("3.")
    assert "/v3/accounts/{account_id}/files" in document["paths"]
    assert "/api/v1/auth/token/" in document["paths"]
    docs = _get(server, "/docs")
    assert docs.status_code == 200 and docs.headers["content-type"].startswith("text/html")


# --- storage errors are XML, API errors are JSON ---------------------------------------------


@pytest.mark.usefixtures("embedded_storage")
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/storage/assured-files/files/@file", 403),
        ("HEAD", "/storage/assured-files/files/@file", 403),
        ("GET", "/storage/assured-files/uploads/@file?X-Amz-Signature=abc", 400),
        ("GET", "/storage/assured-files", 405),
        ("PUT", "/storage/assured-files/files/@file", 405),
        ("DELETE", "/storage/assured-files/files/@file", 405),
        ("POST", "/storage/other-bucket", 404),
        ("POST", "/storage/assured-files", 400),
    ],
)
def test_a_storage_error_is_s3_xml_never_json(
    server: ServerProcess, method: str, path: str, status: int
) -> None:
    path = path.replace("@file", str(uuid.uuid4()))
    response = httpx.request(method, f"{server.base_url}{path}", timeout=30)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/xml")
    if method == "HEAD":
        assert response.content == b""
        return
    assert s3_error_code(response)
    assert not response.text.lstrip().startswith("{")


@pytest.mark.usefixtures("embedded_storage")
def test_too_many_multipart_parts_is_400_and_stores_nothing(api: Api) -> None:
    ticket = api.created()
    fields = dict(ticket["fields"]) | {f"x-ignore-{i}": "x" for i in range(20)}
    before = set(stored_objects(api.server))
    response = httpx.post(
        ticket["uploadUrl"], data=fields, files={"file": ("a.pdf", pdf_bytes())}, timeout=30
    )
    assert response.status_code == 400, response.text
    assert s3_error_code(response) == "MalformedPOSTRequest"
    assert set(stored_objects(api.server)) - before == set()
    assert api.get_file(ticket["id"]).json()["status"] == "pending"


@pytest.mark.parametrize("given", ["has space", "<script>", "x" * 201, "semi;colon"])
def test_an_unsafe_request_id_is_replaced_by_a_generated_one(
    server: ServerProcess, given: str
) -> None:
    response = _get(server, "/nope", headers={"X-Request-ID": given})
    generated = response.headers["x-request-id"]
    assert generated and generated != given
    assert response.json()["request_id"] == generated
