"""``POST /api/v1/files/presign/``: download URLs for ``s3://`` file URIs, under the file's rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from server_helpers import Api, assert_api_error, make_api, pdf_bytes, png_bytes
from v1_support import (
    available_file,
    expire_now,
    file_url,
    pending_file,
    rejected_file,
)

from assured_testing import ServerProcess

PRESIGN = "/api/v1/files/presign/"
CONTENT = pdf_bytes(3000)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _signed_at(url: str) -> datetime:
    stamp = parse_qs(urlsplit(url).query)["X-Amz-Date"][0]
    return datetime.strptime(stamp + "+0000", "%Y%m%dT%H%M%SZ%z")


def _expires(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])


@pytest.fixture(scope="module")
def file(api: Api) -> dict[str, Any]:
    """An available PDF of the main account."""
    return available_file(api, CONTENT)


def test_the_default_url_lives_300_seconds_and_downloads_the_file(
    api: Api, file: dict[str, Any]
) -> None:
    response = api.client.post(PRESIGN, json={"file_url": file["storageUrl"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"url", "expires_at"}
    assert body["expires_at"].endswith("Z")
    assert _expires(body["url"]) == 300
    assert _ts(body["expires_at"]) == _signed_at(body["url"]) + timedelta(seconds=300)
    downloaded = httpx.get(body["url"], timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.content == CONTENT
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["content-disposition"] == "attachment; filename*=UTF-8''doc.pdf"


@pytest.mark.parametrize("seconds", [1, 300, 3600])
def test_expires_in_within_bounds_signs_for_that_long(
    api: Api, file: dict[str, Any], seconds: int
) -> None:
    response = api.client.post(
        PRESIGN, json={"file_url": file["storageUrl"], "expires_in": seconds}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert _expires(body["url"]) == seconds
    assert _ts(body["expires_at"]) == _signed_at(body["url"]) + timedelta(seconds=seconds)


def test_a_null_expires_in_is_the_default(api: Api, file: dict[str, Any]) -> None:
    response = api.client.post(PRESIGN, json={"file_url": file["storageUrl"], "expires_in": None})
    assert response.status_code == 200, response.text
    assert _expires(response.json()["url"]) == 300


@pytest.mark.parametrize(
    "raw",
    ["0", "3601", "-1", '"300"', "300.0", "3e2", "true", "[300]", "99999999999999999999999"],
)
def test_a_bad_expires_in_is_invalid_request(api: Api, file: dict[str, Any], raw: str) -> None:
    content = f'{{"file_url": "{file["storageUrl"]}", "expires_in": {raw}}}'
    response = api.client.post(
        PRESIGN, content=content, headers={"Content-Type": "application/json"}
    )
    assert_api_error(response, 400, "INVALID_REQUEST", "expires_in")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_file_url_is_missing_fields(api: Api, value: str | None) -> None:
    assert_api_error(
        api.client.post(PRESIGN, json={"file_url": value}), 400, "MISSING_FIELDS", "file_url"
    )
    assert_api_error(
        api.client.post(PRESIGN, json={"expires_in": 60}), 400, "MISSING_FIELDS", "file_url"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"file_url": 5}, "file_url"),
        ({"file_url": "s3://assured-files/files/x", "expiresIn": 60}, "expiresIn"),
        ({"file_url": "s3://assured-files/files/x", "url": "x"}, "url"),
    ],
)
def test_a_wrong_type_or_unknown_field_is_invalid_request(
    api: Api, body: dict[str, Any], field: str
) -> None:
    assert_api_error(api.client.post(PRESIGN, json=body), 400, "INVALID_REQUEST", field)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'"s3://assured-files/files/x"'])
def test_malformed_or_non_object_json_is_invalid_request(api: Api, raw: bytes) -> None:
    response = api.client.post(PRESIGN, content=raw, headers={"Content-Type": "application/json"})
    assert_api_error(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    "url",
    [
        "https://assured-files/files/{id}",
        "http://127.0.0.1/storage/assured-files/files/{id}",
        "S3://assured-files/files/{id}",
        "s3:/assured-files/files/{id}",
        "s3://other-bucket/files/{id}",
        "s3://assured-files-2/files/{id}",
        "s3://ASSURED-FILES/files/{id}",
        "s3://",
        "files/{id}",
        "{id}",
    ],
)
def test_a_uri_of_another_place_is_invalid_document_url(
    api: Api, file: dict[str, Any], url: str
) -> None:
    response = api.client.post(PRESIGN, json={"file_url": url.format(id=file["id"])})
    assert_api_error(response, 400, "INVALID_DOCUMENT_URL", "file_url")


@pytest.mark.parametrize(
    "key",
    [
        "files/8d2f6a1e-0c7b-4e93-a5d4-7b1e2c9f3a60",
        "files/not-a-uuid",
        "files/{id}/",
        "files/{id}?x=1",
        "files/{ID}",
        "files/",
        "uploads/{id}",
        "",
        "/files/{id}",
    ],
)
def test_a_key_of_this_bucket_that_is_no_file_of_the_caller_is_404(
    api: Api, file: dict[str, Any], key: str
) -> None:
    url = "s3://assured-files/" + key.format(id=file["id"], ID=file["id"].upper())
    assert_api_error(api.client.post(PRESIGN, json={"file_url": url}), 404, "NOT_FOUND")


def test_the_bucket_alone_is_404(api: Api) -> None:
    assert_api_error(
        api.client.post(PRESIGN, json={"file_url": "s3://assured-files"}), 404, "NOT_FOUND"
    )


def test_another_accounts_file_is_404(api: Api, other_api: Api, file: dict[str, Any]) -> None:
    response = other_api.client.post(PRESIGN, json={"file_url": file["storageUrl"]})
    assert_api_error(response, 404, "NOT_FOUND")


def test_a_deleted_file_is_404(api: Api) -> None:
    gone = available_file(api)
    assert api.client.delete(f"{api.files_path}/{gone['id']}").status_code == 204
    response = api.client.post(PRESIGN, json={"file_url": file_url(gone["id"])})
    assert_api_error(response, 404, "NOT_FOUND")


def test_a_pending_file_is_file_not_ready(api: Api) -> None:
    response = api.client.post(PRESIGN, json={"file_url": file_url(pending_file(api)["id"])})
    assert_api_error(response, 409, "FILE_NOT_READY")


def test_a_rejected_file_is_file_not_ready(api: Api) -> None:
    response = api.client.post(PRESIGN, json={"file_url": file_url(rejected_file(api)["id"])})
    assert_api_error(response, 409, "FILE_NOT_READY")


def test_an_expired_file_is_file_expired(api: Api, server: ServerProcess) -> None:
    doomed = available_file(api)
    expire_now(server, doomed["id"])
    response = api.client.post(PRESIGN, json={"file_url": file_url(doomed["id"])})
    assert_api_error(response, 410, "FILE_EXPIRED")


def test_a_url_never_outlives_its_file(api: Api) -> None:
    ticket = api.created("short.png", "image/png", expiration="1m")
    assert api.post_form(ticket, png_bytes()).status_code == 204
    short = api.get_file(ticket["id"]).json()
    response = api.client.post(PRESIGN, json={"file_url": short["storageUrl"], "expires_in": 3600})
    assert response.status_code == 200, response.text
    body = response.json()
    assert _ts(body["expires_at"]) <= _ts(short["expiresAt"])
    assert 1 <= _expires(body["url"]) <= 60
    assert _ts(body["expires_at"]) == _signed_at(body["url"]) + timedelta(
        seconds=_expires(body["url"])
    )
    assert httpx.get(body["url"], timeout=30).content == png_bytes()


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        ("files:read", True),
        ("files:write", False),
        ("providers:read providers:write", False),
    ],
)
def test_presign_needs_files_read(server: ServerProcess, scopes: str, allowed: bool) -> None:
    creds = server.new_account("presign-scopes", scopes=scopes)
    key = server.admin("create-api-key", "--account", creds.account_id)["api_key"]
    full = make_api(server, type(creds)(creds.account_id, key))
    scoped = make_api(server, creds)
    try:
        owned = available_file(full)
        response = scoped.client.post(PRESIGN, json={"file_url": owned["storageUrl"]})
        if allowed:
            assert response.status_code == 200, response.text
        else:
            assert_api_error(response, 403, "FORBIDDEN")
    finally:
        full.client.close()
        scoped.client.close()


def test_without_a_token_presign_is_401(server: ServerProcess, file: dict[str, Any]) -> None:
    response = httpx.post(
        server.base_url + PRESIGN, json={"file_url": file["storageUrl"]}, timeout=10
    )
    assert_api_error(response, 401, "UNAUTHORIZED")
