"""``POST /api/v1/files/handle/`` against a real server: rules, errors, nothing half-stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import (
    TEST_MAX_UPLOAD,
    Api,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    sha256,
    stored_objects,
)

from assured_testing import ServerProcess

HANDLE = "/api/v1/files/handle/"
JPEG = jpeg_bytes(2052)


def _upload(api: Api, files: Any, data: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    return api.client.post(HANDLE, files=files, data=data or {}, **kw)


class Snapshot:
    """The account's file count and the bytes on disk, to prove an error stored nothing."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.count = api.file_count()
        self.objects = set(stored_objects(api.server))

    def unchanged(self) -> None:
        assert self.api.file_count() == self.count
        now = set(stored_objects(self.api.server))
        assert now == self.objects, f"new objects on disk: {now - self.objects}"


@pytest.mark.parametrize(
    ("name", "content", "part_type", "expected"),
    [
        ("license.pdf", pdf_bytes(), "application/pdf", "application/pdf"),
        ("scan.png", png_bytes(), "image/png", "image/png"),
        ("photo.jpg", JPEG, "image/jpeg", "image/jpeg"),
        ("PHOTO.JPEG", JPEG, None, "image/jpeg"),
        ("x.pdf", pdf_bytes(), "application/octet-stream", "application/pdf"),
    ],
)
def test_upload_stores_the_file_and_answers_its_s3_uri(
    api: Api, name: str, content: bytes, part_type: str | None, expected: str
) -> None:
    file_tuple = (name, content, part_type) if part_type else (name, content)
    response = _upload(api, {"file": file_tuple})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "file_url",
        "filename",
        "mime_type",
        "size",
        "sha256",
        "created_at",
        "expires_at",
        "content_flags",
        "scan",
    }
    # This server scans nothing: the checks' findings say so.
    assert body["content_flags"] == []
    assert body["scan"] == {
        "status": "skipped",
        "engine": None,
        "signature": None,
        "scanned_at": None,
    }
    assert body["file_url"] == f"s3://assured-files/files/{body['id']}"
    assert body["filename"] == name and body["mime_type"] == expected
    assert body["size"] == len(content) and body["sha256"] == sha256(content)
    assert body["expires_at"] is None and body["created_at"].endswith("Z")
    v3 = api.get_file(body["id"]).json()
    assert v3["status"] == "available" and v3["contentType"] == expected
    url = api.download_url(body["id"]).json()["url"]
    assert httpx.get(url).content == content


def test_mime_type_field_wins_and_expiration_sets_expires_at(api: Api) -> None:
    response = _upload(
        api,
        {"file": ("scan.png", png_bytes(), "application/octet-stream")},
        {"mime_type": "image/png", "expiration": "5h"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["mime_type"] == "image/png" and body["expires_at"] is not None


@pytest.mark.parametrize(
    ("files", "data", "code", "field"),
    [
        ({"file": ("report.docx", pdf_bytes())}, None, "UNSUPPORTED_FILE_FORMAT", "file"),
        ({"file": ("notes.txt", b"hello")}, None, "UNSUPPORTED_FILE_FORMAT", "file"),
        ({"file": ("image.webp", b"RIFF0000WEBP")}, None, "UNSUPPORTED_FILE_FORMAT", "file"),
        ({"file": ("scan.pdf.exe", pdf_bytes())}, None, "UNSUPPORTED_FILE_FORMAT", "file"),
        ({"file": ("noext", pdf_bytes())}, None, "UNSUPPORTED_FILE_FORMAT", "file"),
        (
            {"file": ("a.pdf", pdf_bytes())},
            {"mime_type": "image/png"},
            "INVALID_CONTENT_TYPE",
            "mime_type",
        ),
        (
            {"file": ("a.pdf", pdf_bytes())},
            {"mime_type": "text/plain"},
            "INVALID_CONTENT_TYPE",
            "mime_type",
        ),
        (
            {"file": ("a.pdf", pdf_bytes())},
            {"mime_type": "application/zip"},
            "INVALID_CONTENT_TYPE",
            "mime_type",
        ),
        ({"file": ("a.pdf", pdf_bytes(), "image/png")}, None, "INVALID_CONTENT_TYPE", "file"),
        ({"file": ("a.png", pdf_bytes())}, None, "CONTENT_MISMATCH", "file"),
        ({"file": ("a.jpg", png_bytes())}, None, "CONTENT_MISMATCH", "file"),
        ({"file": ("a.pdf", b"")}, None, "MISSING_FIELDS", "file"),
        ({"file": (" a.pdf", pdf_bytes())}, None, "INVALID_FILENAME", "file"),
        ({"file": ("a\u202efdp.pdf", pdf_bytes())}, None, "INVALID_FILENAME", "file"),
        (
            {"file": ("a.pdf", pdf_bytes())},
            {"expiration": "5H"},
            "INVALID_EXPIRATION",
            "expiration",
        ),
        (
            {"file": ("a.pdf", pdf_bytes())},
            {"expiration": "0d"},
            "INVALID_EXPIRATION",
            "expiration",
        ),
        ({"file": ("a.pdf", pdf_bytes())}, {"colour": "red"}, "INVALID_REQUEST", "colour"),
        ({"other": ("a.pdf", pdf_bytes())}, None, "INVALID_REQUEST", "other"),
        (None, {"mime_type": "application/pdf"}, "MISSING_FIELDS", "file"),
    ],
)
def test_bad_uploads_get_their_code_and_store_nothing(
    api: Api, files: Any, data: dict[str, str] | None, code: str, field: str
) -> None:
    before = Snapshot(api)
    if files is None:
        # A form with fields only: httpx needs a file to send multipart, so build it by hand.
        boundary = "b0undary"
        body = (
            "".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                for k, v in (data or {}).items()
            )
            + f"--{boundary}--\r\n"
        )
        response = api.client.post(
            HANDLE,
            content=body.encode(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    else:
        response = _upload(api, files, data)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    before.unchanged()


def test_a_mime_type_after_the_file_that_contradicts_it_stores_nothing(api: Api) -> None:
    before = Snapshot(api)
    boundary = "xyzboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + pdf_bytes(50_000)
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="mime_type"\r\n\r\nimage/png\r\n'
            f"--{boundary}--\r\n"
        ).encode()
    )
    response = api.client.post(
        HANDLE, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_CONTENT_TYPE"
    before.unchanged()


def test_too_many_parts_and_not_multipart_are_invalid_requests(api: Api) -> None:
    before = Snapshot(api)
    many = {f"x{i}": "v" for i in range(9)}
    response = _upload(api, {"file": ("a.pdf", pdf_bytes())}, many)
    assert response.status_code == 400 and response.json()["code"] == "INVALID_REQUEST"
    response = api.client.post(HANDLE, json={"file": "a.pdf"})
    assert response.status_code == 400 and response.json()["code"] == "INVALID_REQUEST"
    before.unchanged()


def test_one_byte_over_the_limit_is_413_and_leaves_no_bytes_and_no_row(api: Api) -> None:
    before = Snapshot(api)
    response = _upload(api, {"file": ("big.pdf", pdf_bytes(TEST_MAX_UPLOAD + 1))})
    assert response.status_code == 413
    assert response.json()["code"] == "FILE_TOO_LARGE"
    before.unchanged()
    exact = _upload(api, {"file": ("big.pdf", pdf_bytes(TEST_MAX_UPLOAD))})
    assert exact.status_code == 201


def test_a_chunked_body_over_the_limit_is_refused_too(api: Api) -> None:
    before = Snapshot(api)
    request = api.client.build_request(
        "POST", HANDLE, files={"file": ("big.pdf", pdf_bytes(TEST_MAX_UPLOAD + 4096))}
    )
    body = request.read()
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    response = api.client.post(HANDLE, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "FILE_TOO_LARGE"
    before.unchanged()


def test_a_declared_length_far_over_the_limit_is_refused_before_reading(api: Api) -> None:
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(api.server.base_url)
    token = api.client.headers["authorization"]
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {HANDLE} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {token}\r\n"
                "Content-Type: multipart/form-data; boundary=zz\r\n"
                f"Content-Length: {50 * TEST_MAX_UPLOAD}\r\n\r\n"
            ).encode()
        )
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413")


def test_scopes_and_auth_are_enforced(server: ServerProcess, api: Api) -> None:
    assert (
        httpx.post(f"{server.base_url}{HANDLE}", files={"file": ("a.pdf", pdf_bytes())}).status_code
        == 401
    )
    reader = server.new_account("reader", scopes="files:read")
    token = server.token(reader)
    response = httpx.post(
        f"{server.base_url}{HANDLE}",
        files={"file": ("a.pdf", pdf_bytes())},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403 and response.json()["code"] == "FORBIDDEN"


def test_100_concurrent_uploads_all_succeed_with_exact_sizes_and_digests(
    server: ServerProcess, tmp_path: Path
) -> None:
    from server_helpers import make_api

    api = make_api(server, server.new_account("concurrent"))
    token = api.client.headers["authorization"]
    payloads = [pdf_bytes(10_000 + i * 37) for i in range(100)]

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(
            base_url=server.base_url, headers={"Authorization": token}, timeout=120, limits=limits
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(HANDLE, files={"file": (f"f{i}.pdf", p)})
                    for i, p in enumerate(payloads)
                )
            )

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [201] * 100
    for payload, response in zip(payloads, responses, strict=True):
        assert response.json()["size"] == len(payload)
        assert response.json()["sha256"] == sha256(payload)
    assert len({r.json()["id"] for r in responses}) == 100
    assert api.file_count() == 100
    api.client.close()


def test_concurrent_replays_of_one_key_create_exactly_one_file(server: ServerProcess) -> None:
    from server_helpers import make_api

    api = make_api(server, server.new_account("idem"))
    token = api.client.headers["authorization"]
    content = pdf_bytes(200_000)

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=server.base_url,
            headers={"Authorization": token, "Idempotency-Key": "same-key-1"},
            timeout=60,
        ) as client:
            return await asyncio.gather(
                *(client.post(HANDLE, files={"file": ("one.pdf", content)}) for _ in range(20))
            )

    responses = asyncio.run(run())
    created = [r for r in responses if r.status_code == 201]
    running = [r for r in responses if r.status_code == 409]
    assert len(created) + len(running) == 20
    assert created, "at least the first request creates the file"
    assert len({r.json()["id"] for r in created}) == 1
    for r in running:
        assert r.json()["code"] == "IDEMPOTENCY_CONFLICT" and r.headers["retry-after"] == "1"
    assert api.file_count() == 1
    # Once finished, the same request replays and a different one conflicts.
    replay = api.client.post(
        HANDLE, files={"file": ("one.pdf", content)}, headers={"Idempotency-Key": "same-key-1"}
    )
    assert replay.status_code == 201 and replay.json() == created[0].json()
    different = api.client.post(
        HANDLE,
        files={"file": ("one.pdf", content + b"x")},
        headers={"Idempotency-Key": "same-key-1"},
    )
    assert different.status_code == 409 and different.json()["code"] == "IDEMPOTENCY_CONFLICT"
    assert api.file_count() == 1
    api.client.close()
