"""The embedded storage endpoints refuse every bad upload or download, S3-style, storing nothing."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
import xml.etree.ElementTree as ET  # noqa: N817 - the usual alias
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import image_support
import pytest
from server_helpers import (
    TEST_MAX_UPLOAD,
    Api,
    assert_s3_error,
    pdf_bytes,
    png_bytes,
    s3_error_code,
    sha256,
    storage_credentials,
    stored_objects,
)

from assured_server.s3_protocol.sigv4 import presign_post, presign_url
from assured_testing import ServerProcess

# These tests are about the server's own S3-protocol endpoints (the filesystem backend).
pytestmark = pytest.mark.usefixtures("embedded_storage")

BUCKET = "assured-files"
BOUNDARY = "assured-contract-7d1f0c2e"
FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
Field = tuple[str, str]


def form_body(fields: Sequence[Field], file: bytes | None, after: Sequence[Field] = ()) -> bytes:
    """A multipart body: ``fields`` in order, then ``file`` (if any), then ``after``."""
    out = bytearray()

    def field(name: str, value: str) -> None:
        out.extend(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        )
        out.extend(value.encode() + b"\r\n")

    for name, value in fields:
        field(name, value)
    if file is not None:
        out.extend(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.extend(file + b"\r\n")
    for name, value in after:
        field(name, value)
    out.extend(f"--{BOUNDARY}--\r\n".encode())
    return bytes(out)


def post_raw(url: str, body: bytes) -> httpx.Response:
    """POST a prepared multipart body."""
    return httpx.post(url, content=body, headers={"Content-Type": FORM_TYPE}, timeout=30)


def post_fields(
    ticket: dict[str, Any], fields: Sequence[Field] | dict[str, str], file: bytes | None
) -> httpx.Response:
    """POST ``fields`` then ``file`` to the ticket's upload URL."""
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
    return post_raw(ticket["uploadUrl"], form_body(pairs, file))


def signed_fields(
    server: ServerProcess,
    key: str,
    content_type: str = "application/pdf",
    *,
    extra: dict[str, str] | None = None,
    now: datetime | None = None,
    expires_in: int = 600,
) -> dict[str, str]:
    """A policy signed with the server's own storage key, pinning ``extra`` fields as well."""
    extra = extra or {}
    return presign_post(
        storage_credentials(server),
        bucket=BUCKET,
        key=key,
        fields={"bucket": BUCKET, "Content-Type": content_type, **extra},
        conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, TEST_MAX_UPLOAD],
            *({name: value} for name, value in extra.items()),
        ],
        expires_in=expires_in,
        now=now or datetime.now(UTC),
    )


class Snapshot:
    """What is on disk before a refused request, to prove it added nothing."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.before = set(stored_objects(server))

    def assert_nothing_new(self) -> None:
        after = set(stored_objects(self.server))
        assert after - self.before == set(), sorted(map(str, after - self.before))
        temps = [p for p in after if p.name.startswith(".tmp.")]
        assert temps == [], temps


def status_of(api: Api, ticket: dict[str, Any]) -> dict[str, Any]:
    response = api.get_file(ticket["id"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def flip(value: str, at: int) -> str:
    """``value`` with one base64 character changed."""
    replacement = "B" if value[at] != "B" else "C"
    return value[:at] + replacement + value[at + 1 :]


def reencoded_policy(policy: str, change: Any) -> str:
    document = json.loads(base64.b64decode(policy))
    change(document)
    return base64.b64encode(json.dumps(document).encode()).decode()


def _raise_limit(document: dict[str, Any]) -> None:
    document["conditions"] = [
        ["content-length-range", 1, 1 << 40] if isinstance(c, list) else c
        for c in document["conditions"]
    ]


def _extend_expiry(document: dict[str, Any]) -> None:
    document["expiration"] = "2099-01-01T00:00:00.000Z"


def _pin_png(document: dict[str, Any]) -> None:
    document["conditions"] = [
        {"Content-Type": "image/png"} if isinstance(c, dict) and "Content-Type" in c else c
        for c in document["conditions"]
    ]


# --- refused forms: the file stays pending and nothing is stored ------------------------------


def _tampered_policy_flip(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"Policy": flip(t["fields"]["Policy"], 20)}


def _tampered_policy_limit(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"Policy": reencoded_policy(t["fields"]["Policy"], _raise_limit)}


def _tampered_policy_expiry(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"Policy": reencoded_policy(t["fields"]["Policy"], _extend_expiry)}


def _tampered_policy_type(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    policy = reencoded_policy(t["fields"]["Policy"], _pin_png)
    return t["fields"] | {"Policy": policy, "Content-Type": "image/png"}


def _tampered_signature(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    signature = t["fields"]["X-Amz-Signature"]
    return t["fields"] | {"X-Amz-Signature": ("0" if signature[0] != "0" else "1") + signature[1:]}


def _signed_by_another_secret(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    from assured_server.s3_protocol.sigv4 import Credentials

    creds = storage_credentials(s)
    forged = Credentials(creds.access_key_id, "not-the-secret", creds.region)
    return presign_post(
        forged,
        bucket=BUCKET,
        key=t["fields"]["key"],
        fields={"bucket": BUCKET, "Content-Type": "application/pdf"},
        conditions=[{"Content-Type": "application/pdf"}],
        expires_in=600,
        now=datetime.now(UTC),
    )


def _unknown_access_key(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    credential = t["fields"]["X-Amz-Credential"].split("/")
    credential[0] = "AKUNKNOWNUNKNOWNUNKN"
    return t["fields"] | {"X-Amz-Credential": "/".join(credential)}


def _without(name: str) -> Any:
    def build(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
        return {k: v for k, v in t["fields"].items() if k != name}

    return build


def _with(**changes: str) -> Any:
    def build(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
        return t["fields"] | {k.replace("_", "-"): v for k, v in changes.items()}

    return build


def _another_files_key(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"key": t["other"]["fields"]["key"]}


def _permanent_key(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"key": f"files/{t['id']}"}


def _random_key(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"key": f"uploads/{uuid.uuid4()}"}


def _signed_for_permanent_key(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return signed_fields(s, f"files/{t['id']}")


def _signed_for_unknown_upload(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return signed_fields(s, f"uploads/{uuid.uuid4()}")


def _signed_for_traversal_key(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return signed_fields(s, f"uploads/../files/{t['id']}")


def _signed_for_another_type(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return signed_fields(s, t["fields"]["key"], "image/png")


def _expired_policy(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return signed_fields(
        s, t["fields"]["key"], now=datetime.now(UTC) - timedelta(hours=1), expires_in=60
    )


def _extra_field(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"acl": "public-read"}


def _extra_meta_field(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"x-amz-meta-owner": "mallory"}


def _success_status(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"success_action_status": "200"}


def _algorithm(t: dict[str, Any], s: ServerProcess) -> dict[str, str]:
    return t["fields"] | {"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}


REFUSED_FORMS = [
    pytest.param(_tampered_policy_flip, 403, "AccessDenied", id="policy-one-char-flipped"),
    pytest.param(_tampered_policy_limit, 403, "AccessDenied", id="policy-reencoded-bigger-limit"),
    pytest.param(_tampered_policy_expiry, 403, "AccessDenied", id="policy-reencoded-later-expiry"),
    pytest.param(_tampered_policy_type, 403, "AccessDenied", id="policy-reencoded-other-type"),
    pytest.param(_tampered_signature, 403, "AccessDenied", id="signature-tampered"),
    pytest.param(_signed_by_another_secret, 403, "AccessDenied", id="signed-with-another-secret"),
    pytest.param(_unknown_access_key, 403, "InvalidAccessKeyId", id="unknown-access-key"),
    pytest.param(_without("Policy"), 403, "AccessDenied", id="missing-policy"),
    pytest.param(_without("X-Amz-Signature"), 400, "InvalidArgument", id="missing-signature"),
    pytest.param(_without("X-Amz-Credential"), 400, "InvalidArgument", id="missing-credential"),
    pytest.param(_without("key"), 400, "InvalidArgument", id="missing-key"),
    pytest.param(_without("Content-Type"), 403, "AccessDenied", id="missing-content-type"),
    pytest.param(_without("bucket"), 204, None, id="bucket-field-is-optional-control"),
    pytest.param(_success_status, 200, None, id="success-status-is-covered-control"),
    pytest.param(_algorithm, 400, "InvalidArgument", id="other-algorithm"),
    pytest.param(_another_files_key, 403, "AccessDenied", id="key-of-another-file"),
    pytest.param(_permanent_key, 403, "AccessDenied", id="key-files-id"),
    pytest.param(_random_key, 403, "AccessDenied", id="key-random"),
    pytest.param(_signed_for_permanent_key, 403, "AccessDenied", id="signed-for-files-id"),
    pytest.param(_signed_for_unknown_upload, 403, "AccessDenied", id="signed-for-unknown-upload"),
    pytest.param(_signed_for_traversal_key, 403, "AccessDenied", id="signed-for-traversal-key"),
    pytest.param(_with(Content_Type="image/png"), 403, "AccessDenied", id="content-type-changed"),
    pytest.param(
        _with(Content_Type="application/pdf; x=1"), 403, "AccessDenied", id="content-type-param"
    ),
    pytest.param(_signed_for_another_type, 403, "AccessDenied", id="signed-for-another-type"),
    pytest.param(_with(bucket="other-bucket"), 403, "AccessDenied", id="bucket-field-changed"),
    pytest.param(_extra_field, 403, "AccessDenied", id="extra-uncovered-field"),
    pytest.param(_extra_meta_field, 403, "AccessDenied", id="extra-meta-field"),
    pytest.param(_expired_policy, 403, "AccessDenied", id="expired-policy"),
]


@pytest.mark.parametrize(("build", "status", "code"), REFUSED_FORMS)
def test_a_bad_form_is_refused_and_the_file_stays_pending_with_nothing_stored(
    api: Api, build: Any, status: int, code: str | None
) -> None:
    ticket = api.created()
    ticket["other"] = api.created()
    snapshot = Snapshot(api.server)
    response = post_fields(ticket, build(ticket, api.server), pdf_bytes())
    if code is None:  # the control case: the change is harmless
        assert response.status_code == status, response.text
        assert status_of(api, ticket)["status"] == "available"
        return
    assert_s3_error(response, status, code)
    snapshot.assert_nothing_new()
    for t in (ticket, ticket["other"]):
        file = status_of(api, t)
        assert file["status"] == "pending" and file["size"] is None, file
    # The untouched form still works: the refusal consumed nothing.
    assert post_fields(ticket, ticket["fields"], pdf_bytes()).status_code == 204


def test_the_extra_fields_message_names_the_field(api: Api) -> None:
    ticket = api.created()
    response = post_fields(ticket, ticket["fields"] | {"acl": "public-read"}, pdf_bytes())
    assert_s3_error(response, 403, "AccessDenied")
    assert "Extra input fields" in response.text and "acl" in response.text


def test_the_expired_policy_message_says_so(api: Api) -> None:
    ticket = api.created()
    response = post_fields(ticket, _expired_policy(ticket, api.server), pdf_bytes())
    assert_s3_error(response, 403, "AccessDenied")
    assert "expired" in response.text.lower()


def test_x_ignore_fields_need_no_condition(api: Api) -> None:
    ticket = api.created()
    fields = ticket["fields"] | {"x-ignore-note": "hi", "X-Ignore-Other": "there"}
    assert post_fields(ticket, fields, pdf_bytes()).status_code == 204
    assert status_of(api, ticket)["status"] == "available"


def test_fields_after_the_file_are_ignored(api: Api) -> None:
    ticket = api.created()
    content = pdf_bytes()
    after = [("acl", "public-read"), ("key", f"files/{ticket['id']}"), ("Policy", "garbage")]
    body = form_body(list(ticket["fields"].items()), content, after)
    assert post_raw(ticket["uploadUrl"], body).status_code == 204
    file = status_of(api, ticket)
    assert file["status"] == "available" and file["sha256"] == sha256(content)


@pytest.mark.parametrize(
    "duplicate",
    [
        pytest.param(("key", None), id="key-twice-same-value"),
        pytest.param(("Content-Type", "image/png"), id="content-type-twice"),
        pytest.param(("content-type", None), id="content-type-other-case"),
        pytest.param(("x-amz-signature", None), id="signature-other-case"),
        pytest.param(("Policy", None), id="policy-twice"),
    ],
)
def test_a_duplicate_field_is_refused(api: Api, duplicate: tuple[str, str | None]) -> None:
    ticket = api.created()
    name, value = duplicate
    if value is None:
        original = next(v for k, v in ticket["fields"].items() if k.lower() == name.lower())
        value = original
    snapshot = Snapshot(api.server)
    response = post_fields(ticket, [*ticket["fields"].items(), (name, value)], pdf_bytes())
    assert_s3_error(response, 400, "InvalidArgument")
    snapshot.assert_nothing_new()
    assert status_of(api, ticket)["status"] == "pending"


def test_a_form_without_a_file_part_is_refused(api: Api) -> None:
    ticket = api.created()
    snapshot = Snapshot(api.server)
    response = post_fields(ticket, ticket["fields"], None)
    assert_s3_error(response, 400, "InvalidArgument")
    snapshot.assert_nothing_new()
    assert status_of(api, ticket)["status"] == "pending"


def test_a_body_that_is_not_multipart_is_refused(api: Api) -> None:
    ticket = api.created()
    snapshot = Snapshot(api.server)
    response = httpx.post(ticket["uploadUrl"], data=ticket["fields"], timeout=30)  # urlencoded
    assert response.status_code == 400
    assert s3_error_code(response) in ("MalformedPOSTRequest", "InvalidArgument")
    snapshot.assert_nothing_new()
    assert status_of(api, ticket)["status"] == "pending"


def test_a_wrong_bucket_is_no_such_bucket(api: Api) -> None:
    ticket = api.created()
    snapshot = Snapshot(api.server)
    url = ticket["uploadUrl"].replace(f"/{BUCKET}", "/other-bucket")
    response = post_raw(url, form_body(list(ticket["fields"].items()), pdf_bytes()))
    assert_s3_error(response, 404, "NoSuchBucket")
    snapshot.assert_nothing_new()
    assert status_of(api, ticket)["status"] == "pending"


# --- size limits ------------------------------------------------------------------------------


def test_one_byte_over_the_limit_is_entity_too_large_and_rejects_the_file(api: Api) -> None:
    ticket = api.created()
    snapshot = Snapshot(api.server)
    response = post_fields(ticket, ticket["fields"], pdf_bytes(TEST_MAX_UPLOAD + 1))
    assert_s3_error(response, 400, "EntityTooLarge")
    snapshot.assert_nothing_new()
    file = status_of(api, ticket)
    assert file["status"] == "rejected" and file["rejectionReason"] == "FILE_TOO_LARGE"
    assert file["size"] is None and file["sha256"] is None
    # A rejected file is final: the same form cannot bring it back.
    assert_s3_error(post_fields(ticket, ticket["fields"], pdf_bytes()), 403, "AccessDenied")
    snapshot.assert_nothing_new()
    assert status_of(api, ticket)["status"] == "rejected"


def test_exactly_the_limit_is_accepted(api: Api) -> None:
    ticket = api.created()
    content = pdf_bytes(TEST_MAX_UPLOAD)
    assert post_fields(ticket, ticket["fields"], content).status_code == 204
    file = status_of(api, ticket)
    assert file["status"] == "available"
    assert file["size"] == TEST_MAX_UPLOAD and file["sha256"] == sha256(content)


def test_zero_bytes_is_entity_too_small_and_the_file_stays_pending(api: Api) -> None:
    ticket = api.created()
    snapshot = Snapshot(api.server)
    response = post_fields(ticket, ticket["fields"], b"")
    assert_s3_error(response, 400, "EntityTooSmall")
    snapshot.assert_nothing_new()
    file = status_of(api, ticket)
    assert file["status"] == "pending" and file["rejectionReason"] is None
    assert post_fields(ticket, ticket["fields"], pdf_bytes()).status_code == 204


def _chunked(head: bytes, size: int, tail: bytes) -> Iterator[bytes]:
    yield head
    content = pdf_bytes(size)
    for start in range(0, size, 64 << 10):
        yield content[start : start + (64 << 10)]
    yield tail


def test_a_chunked_body_over_the_limit_is_refused(api: Api) -> None:
    ticket = api.created()
    body = form_body(list(ticket["fields"].items()), b"@@FILE@@")
    head, _, tail = body.partition(b"@@FILE@@")
    snapshot = Snapshot(api.server)
    response = httpx.post(
        ticket["uploadUrl"],
        content=_chunked(head, TEST_MAX_UPLOAD + (256 << 10), tail),
        headers={"Content-Type": FORM_TYPE},
        timeout=30,
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_s3_error(response, 400, "EntityTooLarge")
    snapshot.assert_nothing_new()
    file = status_of(api, ticket)
    assert file["status"] == "rejected" and file["rejectionReason"] == "FILE_TOO_LARGE"


def test_a_chunked_body_within_the_limit_is_accepted(api: Api) -> None:
    ticket = api.created()
    body = form_body(list(ticket["fields"].items()), b"@@FILE@@")
    head, _, tail = body.partition(b"@@FILE@@")
    response = httpx.post(
        ticket["uploadUrl"],
        content=_chunked(head, 300_000, tail),
        headers={"Content-Type": FORM_TYPE},
        timeout=30,
    )
    assert response.status_code == 204, response.text
    assert status_of(api, ticket)["sha256"] == sha256(pdf_bytes(300_000))


def _read_response(sock: socket.socket, deadline: float) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        assert time.monotonic() < deadline, "no response headers in time"
        chunk = sock.recv(65536)
        assert chunk, f"connection closed early: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        assert time.monotonic() < deadline, "response body not complete in time"
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response body ended"
        body += chunk
    return status, body[:length]


def test_the_over_limit_answer_arrives_before_the_body_is_sent(api: Api) -> None:
    ticket = api.created()
    head = form_body(list(ticket["fields"].items()), b"@@FILE@@").partition(b"@@FILE@@")[0]
    declared_file = 64 << 20  # the client claims far more than it will ever send
    total = len(head) + declared_file + len(f"\r\n--{BOUNDARY}--\r\n")
    path = urlsplit(ticket["uploadUrl"]).path
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{api.server.port}\r\n"
        f"Content-Type: {FORM_TYPE}\r\nContent-Length: {total}\r\n\r\n"
    ).encode()
    snapshot = Snapshot(api.server)
    deadline = time.monotonic() + 20
    with socket.create_connection(("127.0.0.1", api.server.port), timeout=10) as sock:
        sock.sendall(request + head)
        sock.sendall(pdf_bytes(TEST_MAX_UPLOAD + 1))
        status, body = _read_response(sock, deadline)
    assert status == 400, body
    assert b"<Code>EntityTooLarge</Code>" in body
    snapshot.assert_nothing_new()
    file = status_of(api, ticket)
    assert file["status"] == "rejected" and file["rejectionReason"] == "FILE_TOO_LARGE"


# --- content verification ---------------------------------------------------------------------

PDF_AT_1019 = b" " * 1019 + b"%PDF-1.4\n" + b"x" * 100
PDF_AT_1024 = b" " * 1024 + b"%PDF-1.4\n" + b"x" * 100
# Readable headers (the server reads images' dimensions), then filler standing for the pixels.
JPEG = image_support.jpeg(16, 16) + bytes(range(256)) * 4
WEBP = image_support.webp_vp8(16, 16) + bytes(200)
BMP = image_support.bmp(16, 16) + bytes(range(256)) * 2
TIFF_LE = image_support.tiff(16, 16) + bytes(300)
TIFF_BE = image_support.tiff(16, 16, order=">") + bytes(300)

GOOD_CONTENT = [
    pytest.param("scan.pdf", "application/pdf", pdf_bytes(), id="pdf"),
    pytest.param("scan.pdf", "application/pdf", PDF_AT_1019, id="pdf-header-ends-at-1024"),
    pytest.param("scan.pdf", "application/pdf", b"%PDF-", id="pdf-header-only"),
    pytest.param("notes.txt", "text/plain", b"hello\nworld\n", id="text-ascii"),
    pytest.param("notes.txt", "text/plain", "Grüße, 世界 🎉\n".encode(), id="text-utf8"),
    pytest.param("notes.txt", "text/plain", b"\xef\xbb\xbfwith a BOM\n", id="text-bom"),
    pytest.param("notes.text", "text/plain", "é".encode() * 70_000, id="text-multibyte-chunks"),
    pytest.param("photo.png", "image/png", png_bytes(), id="png"),
    pytest.param("photo.jpg", "image/jpeg", JPEG, id="jpeg"),
    pytest.param("photo.webp", "image/webp", WEBP, id="webp"),
    pytest.param("photo.bmp", "image/bmp", BMP, id="bmp"),
    pytest.param("photo.tif", "image/tiff", TIFF_LE, id="tiff-little-endian"),
    pytest.param("photo.tiff", "image/tiff", TIFF_BE, id="tiff-big-endian"),
]


@pytest.mark.parametrize(("name", "content_type", "content"), GOOD_CONTENT)
def test_bytes_that_match_the_declared_type_are_accepted(
    api: Api, name: str, content_type: str, content: bytes
) -> None:
    ticket = api.created(name, content_type)
    response = post_fields(ticket, ticket["fields"], content)
    assert response.status_code == 204, response.text
    file = status_of(api, ticket)
    assert file["status"] == "available"
    assert file["size"] == len(content) and file["sha256"] == sha256(content)


BAD_CONTENT = [
    pytest.param("scan.pdf", "application/pdf", b"hello world " * 200, id="pdf-text"),
    pytest.param("scan.pdf", "application/pdf", PDF_AT_1024, id="pdf-header-at-1025th-byte"),
    pytest.param("scan.pdf", "application/pdf", b"%PDF", id="pdf-short"),
    pytest.param("scan.pdf", "application/pdf", png_bytes(), id="pdf-is-png"),
    pytest.param("notes.txt", "text/plain", b"\xff\xfe h\x00i", id="text-invalid-utf8"),
    pytest.param("notes.txt", "text/plain", b"hello\x00world", id="text-nul"),
    pytest.param("notes.txt", "text/plain", b"ends mid-char \xc3", id="text-truncated-char"),
    pytest.param("notes.txt", "text/plain", b"overlong \xc0\xaf", id="text-overlong"),
    pytest.param("notes.txt", "text/plain", b"surrogate \xed\xa0\x80", id="text-surrogate"),
    pytest.param("notes.txt", "text/plain", b"x" * 200_000 + b"\x00", id="text-late-nul"),
    pytest.param("notes.txt", "text/plain", b"\xfe\xff\x00h", id="text-utf16-bom"),
    pytest.param("photo.png", "image/png", pdf_bytes(), id="png-is-pdf"),
    pytest.param("photo.png", "image/png", b"\x89PNG", id="png-truncated-magic"),
    pytest.param("photo.png", "image/png", b"\x89PNG\r\n\x1a\x00" + bytes(100), id="png-bad-byte"),
    pytest.param("photo.jpg", "image/jpeg", b"\xff\xd8\x00" + bytes(100), id="jpeg-bad"),
    pytest.param("photo.jpg", "image/jpeg", png_bytes(), id="jpeg-is-png"),
    pytest.param(
        "photo.webp", "image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(50), id="webp-wave"
    ),
    pytest.param(
        "photo.webp", "image/webp", b"RIFX\x24\x00\x00\x00WEBP" + bytes(50), id="webp-rifx"
    ),
    pytest.param("photo.webp", "image/webp", b"RIFF\x24\x00", id="webp-truncated"),
    pytest.param("photo.bmp", "image/bmp", b"MB" + bytes(100), id="bmp-bad"),
    pytest.param("photo.bmp", "image/bmp", b"B", id="bmp-truncated"),
    pytest.param("photo.tif", "image/tiff", b"II\x00*" + bytes(100), id="tiff-mixed-order"),
    pytest.param("photo.tif", "image/tiff", b"MM*\x00" + bytes(100), id="tiff-mixed-order-2"),
]


@pytest.mark.parametrize(("name", "content_type", "content"), BAD_CONTENT)
def test_bytes_that_do_not_match_are_invalid_content_and_reject_the_file(
    api: Api, name: str, content_type: str, content: bytes
) -> None:
    ticket = api.created(name, content_type)
    snapshot = Snapshot(api.server)
    response = post_fields(ticket, ticket["fields"], content)
    assert_s3_error(response, 400, "InvalidContent")
    snapshot.assert_nothing_new()
    file = status_of(api, ticket)
    assert file["status"] == "rejected" and file["rejectionReason"] == "CONTENT_MISMATCH"
    assert file["size"] is None and file["sha256"] is None
    assert api.client.post(f"{api.files_path}/{ticket['id']}/complete").json()["status"] == (
        "rejected"
    )


# --- success_action_status --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [("200", 200), ("201", 201), ("204", 204), ("202", 204), ("303", 204), ("abc", 204)],
)
def test_success_action_status_is_honoured_or_ignored(api: Api, value: str, status: int) -> None:
    ticket = api.created()
    key = ticket["fields"]["key"]
    fields = signed_fields(api.server, key, extra={"success_action_status": value})
    response = post_fields(ticket, fields, pdf_bytes())
    assert response.status_code == status, response.text
    assert response.headers["etag"].startswith('"')
    assert status_of(api, ticket)["status"] == "available"
    if status == 201:
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.content)  # noqa: S314 - our own server's answer
        assert root.tag == "PostResponse"
        assert root.findtext("Bucket") == BUCKET
        assert root.findtext("Key") == key
        assert root.findtext("ETag") == response.headers["etag"]
        assert (root.findtext("Location") or "").endswith(f"/{BUCKET}/{key}")
    else:
        assert response.content == b""


# --- pre-signed GET and HEAD ------------------------------------------------------------------


@pytest.fixture(scope="module")
def downloadable(api: Api) -> dict[str, Any]:
    """Two available files and a fresh GET URL for the first."""
    files = []
    for size in (5000, 6000):
        ticket = api.created()
        assert api.post_form(ticket, pdf_bytes(size)).status_code == 204
        files.append(ticket["id"])
    return {"id": files[0], "other": files[1]}


def _url(api: Api, file_id: str) -> str:
    response = api.download_url(file_id, expiresIn=600)
    assert response.status_code == 200, response.text
    return str(response.json()["url"])


def _set_param(url: str, name: str, value: str | None) -> str:
    """Replace (or drop, or append) one query parameter, keeping the others byte for byte."""
    base, _, query = url.partition("?")
    pairs = [p.partition("=") for p in query.split("&")]
    out, seen = [], False
    for key, _, val in pairs:
        if key == name:
            seen = True
            if value is not None:
                out.append(f"{key}={value}")
        else:
            out.append(f"{key}={val}")
    if not seen and value is not None:
        out.append(f"{name}={value}")
    return f"{base}?{'&'.join(out)}"


def _param(url: str, name: str) -> str:
    for piece in url.partition("?")[2].split("&"):
        key, _, value = piece.partition("=")
        if key == name:
            return value
    raise KeyError(name)


def _other_second(amz_date: str) -> str:
    stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    moved = stamp + timedelta(seconds=1 if stamp.second == 0 else -1)
    return moved.strftime("%Y%m%dT%H%M%SZ")


def _tamper_signature(url: str, d: dict[str, Any]) -> str:
    signature = _param(url, "X-Amz-Signature")
    return _set_param(url, "X-Amz-Signature", ("0" if signature[0] != "0" else "1") + signature[1:])


def _tamper_expires(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "X-Amz-Expires", "601")


def _tamper_date(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "X-Amz-Date", _other_second(_param(url, "X-Amz-Date")))


def _tamper_path(url: str, d: dict[str, Any]) -> str:
    return url.replace(d["id"], d["other"])


def _tamper_bucket_case(url: str, d: dict[str, Any]) -> str:
    return url.replace(f"/{BUCKET}/", f"/{BUCKET.upper()}/")


def _tamper_response_type(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "response-content-type", quote("text/html", safe=""))


def _tamper_disposition(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "response-content-disposition", "inline")


def _drop_response_param(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "response-cache-control", None)


def _add_param(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "response-expires", "0")


def _tamper_credential_region(url: str, d: dict[str, Any]) -> str:
    return _set_param(
        url, "X-Amz-Credential", _param(url, "X-Amz-Credential").replace("us-east-1", "eu-west-1")
    )


def _unknown_key(url: str, d: dict[str, Any]) -> str:
    credential = _param(url, "X-Amz-Credential")
    return _set_param(url, "X-Amz-Credential", "AKUNKNOWNUNKNOWNUNKN" + credential[20:])


def _no_signature(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "X-Amz-Signature", None)


def _no_query(url: str, d: dict[str, Any]) -> str:
    return url.partition("?")[0]


def _algorithm_param(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "X-Amz-Algorithm", "AWS4-HMAC-SHA1")


def _signed_headers(url: str, d: dict[str, Any]) -> str:
    return _set_param(url, "X-Amz-SignedHeaders", "host%3Brange")


def _expires(value: str) -> Any:
    return lambda url, d: _set_param(url, "X-Amz-Expires", value)


REFUSED_URLS = [
    pytest.param(_no_query, 403, "AccessDenied", id="no-signature-at-all"),
    pytest.param(_no_signature, 403, "AccessDenied", id="signature-removed"),
    pytest.param(_tamper_signature, 403, "SignatureDoesNotMatch", id="signature"),
    pytest.param(_tamper_expires, 403, "SignatureDoesNotMatch", id="expires"),
    pytest.param(_tamper_date, 403, "SignatureDoesNotMatch", id="date"),
    pytest.param(_tamper_path, 403, "SignatureDoesNotMatch", id="path-other-file"),
    pytest.param(_tamper_bucket_case, 403, "SignatureDoesNotMatch", id="path-bucket-case"),
    pytest.param(_tamper_response_type, 403, "SignatureDoesNotMatch", id="response-content-type"),
    pytest.param(_tamper_disposition, 403, "SignatureDoesNotMatch", id="response-disposition"),
    pytest.param(_drop_response_param, 403, "SignatureDoesNotMatch", id="response-param-dropped"),
    pytest.param(_add_param, 403, "SignatureDoesNotMatch", id="param-added"),
    pytest.param(_tamper_credential_region, 403, "AccessDenied", id="credential-region"),
    pytest.param(_unknown_key, 403, "InvalidAccessKeyId", id="unknown-access-key"),
    pytest.param(_algorithm_param, 400, "AuthorizationQueryParametersError", id="algorithm"),
    pytest.param(_signed_headers, 400, "AuthorizationQueryParametersError", id="signed-headers"),
    pytest.param(_expires("0"), 400, "AuthorizationQueryParametersError", id="expires-0"),
    pytest.param(_expires("604801"), 400, "AuthorizationQueryParametersError", id="expires-604801"),
    pytest.param(_expires("abc"), 400, "AuthorizationQueryParametersError", id="expires-abc"),
]


@pytest.mark.parametrize(("tamper", "status", "code"), REFUSED_URLS)
def test_a_tampered_download_url_is_refused(
    api: Api, downloadable: dict[str, Any], tamper: Any, status: int, code: str
) -> None:
    url = _url(api, downloadable["id"])
    assert httpx.get(url, timeout=30).status_code == 200  # control
    response = httpx.get(tamper(url, downloadable), timeout=30)
    assert_s3_error(response, status, code)
    assert b"%PDF" not in response.content


def test_an_expired_url_is_refused(api: Api, downloadable: dict[str, Any]) -> None:
    url = presign_url(
        storage_credentials(api.server),
        method="GET",
        url=f"{api.server.base_url}/storage/{BUCKET}/files/{downloadable['id']}",
        params=None,
        expires_in=60,
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    response = httpx.get(url, timeout=30)
    assert_s3_error(response, 403, "AccessDenied")
    assert "expired" in response.text.lower()


def test_head_with_a_get_url_is_refused(api: Api, downloadable: dict[str, Any]) -> None:
    response = httpx.head(_url(api, downloadable["id"]), timeout=30)
    assert response.status_code == 403
    assert response.content == b""


def test_a_url_signed_for_head_serves_head_only(api: Api, downloadable: dict[str, Any]) -> None:
    url = presign_url(
        storage_credentials(api.server),
        method="HEAD",
        url=f"{api.server.base_url}/storage/{BUCKET}/files/{downloadable['id']}",
        params=None,
        expires_in=60,
        now=datetime.now(UTC),
    )
    head = httpx.head(url, timeout=30)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "5000"
    assert head.headers["content-type"] == "application/pdf"
    assert head.headers["content-disposition"].startswith("attachment")
    assert head.headers["x-content-type-options"] == "nosniff"
    assert head.headers["etag"].startswith('"')
    assert_s3_error(httpx.get(url, timeout=30), 403, "SignatureDoesNotMatch")


def test_a_url_for_a_pending_file_key_finds_nothing(api: Api) -> None:
    ticket = api.created()
    url = presign_url(
        storage_credentials(api.server),
        method="GET",
        url=f"{api.server.base_url}/storage/{BUCKET}/files/{ticket['id']}",
        params=None,
        expires_in=60,
        now=datetime.now(UTC),
    )
    assert_s3_error(httpx.get(url, timeout=30), 404, "NoSuchKey")
    landing = url.replace("/files/", "/uploads/")
    assert httpx.get(landing, timeout=30).status_code in (403, 404)


def test_text_is_served_as_utf8_text_under_its_encoded_name(api: Api) -> None:
    name = "Grüße & notes (v2).txt"
    ticket = api.created(name, "text/plain; charset=utf-8")
    content = "Grüße, 世界\n".encode()
    assert post_fields(ticket, ticket["fields"], content).status_code == 204
    downloaded = httpx.get(_url(api, ticket["id"]), timeout=30)
    assert downloaded.status_code == 200 and downloaded.content == content
    assert downloaded.headers["content-type"] == "text/plain; charset=utf-8"
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%26%20notes%20%28v2%29.txt"
    )
    assert downloaded.headers["x-content-type-options"] == "nosniff"
