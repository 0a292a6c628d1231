"""Every bad declaration of the Files API (v3) gets its code and creates nothing; lists, URLs."""

from __future__ import annotations

import base64
import json
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from server_helpers import (
    Api,
    assert_api_error,
    assert_s3_error,
    is_s3,
    make_api,
    mismatch_post_status,
    pdf_bytes,
    png_bytes,
    stored_objects,
    wait_until,
)

from assured_testing import ServerProcess

PDF = {"fileName": "doc.pdf", "contentType": "application/pdf"}


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _refused(api: Api, body: Any, status: int, code: str, field: str | None) -> None:
    """POST ``body`` (a dict as JSON, or raw bytes) and check the error and that nothing exists."""
    before = api.file_count()
    if isinstance(body, bytes):
        response = api.client.post(
            api.files_path, content=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = api.create_upload(**body)
    assert_api_error(response, status, code, field)
    assert api.file_count() == before


# --- missing fields, types, unknown fields, lengths, bad JSON --------------------------------

MISSING = [
    pytest.param({"contentType": "application/pdf"}, "fileName", id="fileName-absent"),
    pytest.param(
        {"fileName": None, "contentType": "application/pdf"}, "fileName", id="fileName-null"
    ),
    pytest.param(
        {"fileName": "", "contentType": "application/pdf"}, "fileName", id="fileName-empty"
    ),
    pytest.param(
        {"fileName": " \t ", "contentType": "application/pdf"}, "fileName", id="fileName-blank"
    ),
    pytest.param({"fileName": "doc.pdf"}, "contentType", id="contentType-absent"),
    pytest.param(
        {"fileName": "doc.pdf", "contentType": None}, "contentType", id="contentType-null"
    ),
    pytest.param({"fileName": "doc.pdf", "contentType": ""}, "contentType", id="contentType-empty"),
    pytest.param(
        {"fileName": "doc.pdf", "contentType": "   "}, "contentType", id="contentType-blank"
    ),
    pytest.param({}, "fileName", id="both-absent-names-the-first"),
    pytest.param(
        {"fileName": None, "contentType": None}, "fileName", id="both-null-names-the-first"
    ),
]


@pytest.mark.parametrize(("body", "field"), MISSING)
def test_a_missing_required_field_is_missing_fields_naming_it(
    api: Api, body: dict[str, Any], field: str
) -> None:
    _refused(api, body, 400, "MISSING_FIELDS", field)


WRONG_TYPES = [
    pytest.param({**PDF, "expiration": 5}, "expiration", id="expiration-number"),
    pytest.param({**PDF, "expiration": True}, "expiration", id="expiration-bool"),
    pytest.param({**PDF, "fileName": 5}, "fileName", id="fileName-number"),
    pytest.param({**PDF, "fileName": ["doc.pdf"]}, "fileName", id="fileName-list"),
    pytest.param(
        {**PDF, "contentType": {"type": "application/pdf"}}, "contentType", id="contentType-object"
    ),
    pytest.param({**PDF, "description": 5}, "description", id="description-number"),
    pytest.param({**PDF, "businessProcess": False}, "businessProcess", id="businessProcess-bool"),
    pytest.param({**PDF, "businessProcessAction": 1.5}, "businessProcessAction", id="action-float"),
    pytest.param({**PDF, "filename": "doc.pdf"}, "filename", id="unknown-field-typo"),
    pytest.param({**PDF, "size": 10}, "size", id="unknown-field-size"),
    pytest.param({**PDF, "description": "x" * 1001}, "description", id="description-1001"),
    pytest.param(
        {**PDF, "businessProcess": "x" * 101}, "businessProcess", id="businessProcess-101"
    ),
    pytest.param(
        {**PDF, "businessProcessAction": "é" * 101}, "businessProcessAction", id="action-101-chars"
    ),
]


@pytest.mark.parametrize(("body", "field"), WRONG_TYPES)
def test_a_wrong_type_unknown_field_or_overlong_string_is_invalid_request_naming_it(
    api: Api, body: dict[str, Any], field: str
) -> None:
    _refused(api, body, 400, "INVALID_REQUEST", field)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"fileName": "doc.pdf", "contentType": ', id="truncated"),
        pytest.param(b"{'fileName': 'doc.pdf'}", id="single-quotes"),
        pytest.param(
            b'{"fileName": "doc.pdf", "contentType": "application/pdf",}', id="trailing-comma"
        ),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'["doc.pdf", "application/pdf"]', id="array-of-values"),
        pytest.param(b'"doc.pdf"', id="string"),
        pytest.param(b"5", id="number"),
        pytest.param(b"null", id="null"),
        pytest.param(b"true", id="bool"),
    ],
)
def test_malformed_or_non_object_json_is_invalid_request(api: Api, raw: bytes) -> None:
    _refused(api, raw, 400, "INVALID_REQUEST", None)


def test_strings_at_their_length_limits_counted_in_characters_are_accepted(api: Api) -> None:
    ticket = api.created(
        description="é" * 1000,
        businessProcess="ü" * 100,
        businessProcessAction="x" * 100,
    )
    file = ticket["file"]
    assert file["description"] == "é" * 1000
    assert file["businessProcess"] == "ü" * 100
    assert file["businessProcessAction"] == "x" * 100


# --- validation order: missing fields, filename, content type, expiration --------------------

ORDER = [
    pytest.param(
        {"fileName": "a/b.exe", "expiration": "0d"},
        "MISSING_FIELDS",
        "contentType",
        id="missing-first",
    ),
    pytest.param(
        {"fileName": "a/b.exe", "contentType": "application/zip", "expiration": "0d"},
        "INVALID_FILENAME",
        "fileName",
        id="filename-before-content-type",
    ),
    pytest.param(
        {"fileName": "b.png", "contentType": "application/pdf", "expiration": "0d"},
        "INVALID_CONTENT_TYPE",
        "contentType",
        id="content-type-before-expiration",
    ),
    pytest.param(
        {"fileName": "b.pdf", "contentType": "application/pdf", "expiration": "0d"},
        "INVALID_EXPIRATION",
        "expiration",
        id="expiration-last",
    ),
]


@pytest.mark.parametrize(("body", "code", "field"), ORDER)
def test_validation_order_is_missing_filename_content_type_expiration(
    api: Api, body: dict[str, Any], code: str, field: str
) -> None:
    _refused(api, body, 400, code, field)


# --- content types ----------------------------------------------------------------------------

ACCEPTED_TYPES = [
    ("scan.pdf", "application/pdf", "application/pdf"),
    ("SCAN.PDF", "Application/PDF", "application/pdf"),
    ("notes.txt", "text/plain", "text/plain"),
    ("notes.text", "text/plain", "text/plain"),
    ("NOTES.TXT", "TEXT/PLAIN", "text/plain"),
    ("notes.txt", "text/plain; charset=utf-8", "text/plain"),
    ("notes.txt", "text/plain;charset=UTF-8", "text/plain"),
    ("notes.txt", 'text/plain; charset="utf-8"', "text/plain"),
    ("photo.png", "image/png", "image/png"),
    ("photo.PnG", "IMAGE/PNG", "image/png"),
    ("photo.jpg", "image/jpeg", "image/jpeg"),
    ("photo.jpeg", "image/jpeg", "image/jpeg"),
    ("photo.JPEG", "image/JPEG", "image/jpeg"),
    ("photo.webp", "image/webp", "image/webp"),
    ("photo.bmp", "image/bmp", "image/bmp"),
    ("photo.tiff", "image/tiff", "image/tiff"),
    ("photo.tif", "image/tiff", "image/tiff"),
    ("photo.TIF", "Image/Tiff", "image/tiff"),
    ("archive.tar.pdf", "application/pdf", "application/pdf"),
]


@pytest.mark.parametrize(("name", "declared", "stored"), ACCEPTED_TYPES)
def test_every_row_of_the_content_type_table_is_accepted_and_stored_in_lower_case(
    api: Api, name: str, declared: str, stored: str
) -> None:
    ticket = api.created(name, declared)
    assert ticket["file"]["contentType"] == stored
    assert ticket["fields"]["Content-Type"] == stored
    assert ticket["file"]["fileName"] == name
    assert api.get_file(ticket["id"]).json()["contentType"] == stored


REFUSED_TYPES = [
    pytest.param("scan.png", "application/pdf", id="png-as-pdf"),
    pytest.param("scan.pdf", "image/png", id="pdf-as-png"),
    pytest.param("photo.jpg", "image/png", id="jpg-as-png"),
    pytest.param("photo.tif", "image/jpeg", id="tif-as-jpeg"),
    pytest.param("notes.txt", "application/pdf", id="txt-as-pdf"),
    pytest.param("scan.pdf.exe", "application/pdf", id="double-extension-last-counts"),
    pytest.param("scan", "application/pdf", id="no-extension"),
    pytest.param("scan.", "application/pdf", id="empty-extension"),
    pytest.param(".pdf", "application/pdf", id="dotfile-has-no-extension"),
    pytest.param("scan.zip", "application/zip", id="zip"),
    pytest.param("scan.gif", "image/gif", id="gif"),
    pytest.param("scan.html", "text/html", id="html"),
    pytest.param("scan.svg", "image/svg+xml", id="svg"),
    pytest.param("scan.pdf", "application/octet-stream", id="octet-stream"),
    pytest.param("scan.pdf", "application/x-pdf", id="x-pdf"),
    pytest.param("scan.pdf", "pdf", id="bare-word"),
    pytest.param("scan.pdf", "application/pdf/", id="trailing-slash"),
    pytest.param("notes.txt", "text/plain; charset=latin-1", id="charset-latin-1"),
    pytest.param("notes.txt", "text/plain; charset=utf-16", id="charset-utf-16"),
    pytest.param("notes.txt", "text/plain; format=flowed", id="other-text-parameter"),
    pytest.param("notes.txt", "text/plain; charset=utf-8; x=1", id="charset-plus-parameter"),
    pytest.param("scan.pdf", "application/pdf; x=1", id="pdf-parameter"),
    pytest.param("scan.pdf", "application/pdf; charset=utf-8", id="pdf-charset"),
]


@pytest.mark.parametrize(("name", "declared"), REFUSED_TYPES)
def test_an_unknown_type_a_mismatched_extension_or_a_parameter_is_invalid_content_type(
    api: Api, name: str, declared: str
) -> None:
    _refused(
        api, {"fileName": name, "contentType": declared}, 400, "INVALID_CONTENT_TYPE", "contentType"
    )


# --- file names -------------------------------------------------------------------------------

BAD_NAMES = [
    pytest.param("é" * 126 + ".pdf", id="256-utf8-bytes-in-130-chars"),
    pytest.param("a" * 252 + ".pdf", id="256-ascii-bytes"),
    pytest.param("a/b.pdf", id="slash"),
    pytest.param("../etc/passwd.pdf", id="traversal"),
    pytest.param("a\\b.pdf", id="backslash"),
    pytest.param("a\x00b.pdf", id="nul"),
    pytest.param("a\x01b.pdf", id="ctrl-01"),
    pytest.param("a\nb.pdf", id="newline"),
    pytest.param("a\rb.pdf", id="carriage-return"),
    pytest.param("a\x1bb.pdf", id="escape"),
    pytest.param("a\x7fb.pdf", id="delete"),
    pytest.param("a\x85b.pdf", id="c1-next-line"),
    pytest.param("a\x9bb.pdf", id="c1-csi"),
    pytest.param("invoice\u202efdp.pdf", id="u202e-rlo"),
    pytest.param("invoice\u202a.pdf", id="u202a-lre"),
    pytest.param("invoice\u2066.pdf", id="u2066-lri"),
    pytest.param("invoice\u2069.pdf", id="u2069-pdi"),
    pytest.param(".", id="dot"),
    pytest.param("..", id="dot-dot"),
    pytest.param(" doc.pdf", id="leading-space"),
    pytest.param("doc.pdf ", id="trailing-space"),
    pytest.param("\u00a0doc.pdf", id="leading-nbsp"),
    pytest.param("doc.pdf\u3000", id="trailing-ideographic-space"),
    pytest.param("\tdoc.pdf", id="leading-tab"),
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_file_name_is_invalid_filename(api: Api, name: str) -> None:
    _refused(
        api,
        {"fileName": name, "contentType": "application/pdf"},
        400,
        "INVALID_FILENAME",
        "fileName",
    )


def test_a_lone_surrogate_in_the_file_name_is_refused(api: Api) -> None:
    raw = b'{"fileName": "a\\ud800b.pdf", "contentType": "application/pdf"}'
    before = api.file_count()
    response = api.client.post(
        api.files_path, content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] in ("INVALID_FILENAME", "INVALID_REQUEST")
    assert api.file_count() == before


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a" * 251 + ".pdf", id="255-ascii-bytes"),
        pytest.param("é" * 125 + "a.pdf", id="255-utf8-bytes"),
        pytest.param("Résumé (final) ~v2+ #1 & co.pdf", id="punctuation"),
        pytest.param("文档.pdf", id="cjk"),
        pytest.param("a.pdf", id="short"),
        pytest.param("my doc.pdf", id="inner-space"),
    ],
)
def test_a_good_file_name_is_kept_as_given(api: Api, name: str) -> None:
    ticket = api.created(name, "application/pdf")
    assert ticket["file"]["fileName"] == name
    assert ticket["fields"]["key"] == f"uploads/{ticket['id']}"
    assert ticket["file"]["storageUrl"] == f"s3://assured-files/files/{ticket['id']}"


def test_an_nfd_name_is_stored_as_nfc(api: Api) -> None:
    nfd = unicodedata.normalize("NFD", "Café résumé.pdf")
    assert nfd != unicodedata.normalize("NFC", nfd)
    ticket = api.created(nfd, "application/pdf")
    nfc = unicodedata.normalize("NFC", nfd)
    assert ticket["file"]["fileName"] == nfc
    assert api.get_file(ticket["id"]).json()["fileName"] == nfc


def test_an_nfd_name_over_255_bytes_that_fits_as_nfc_is_accepted(api: Api) -> None:
    # 100 x "é": 300 bytes decomposed, 200 bytes composed; the limit applies to the NFC form.
    name = unicodedata.normalize("NFD", "é" * 100) + ".pdf"
    assert len(name.encode()) > 255
    ticket = api.created(name, "application/pdf")
    assert ticket["file"]["fileName"] == "é" * 100 + ".pdf"


# --- expiration -------------------------------------------------------------------------------

BAD_EXPIRATIONS = [
    "0d",
    "0m",
    "-5h",
    "5x",
    " 5h",
    "5h ",
    "5 h",
    "5H",
    "5D",
    "1.5h",
    "99999999d",
    "999999999999999999999d",
    "01d",
    "+5h",
    "",
    "5",
    "d",
    "h5",
    "5hd",
    "5h\n",
    "\u0665d",
    "3651d",
    "87601h",
    "5256001m",
    "P5D",
]


@pytest.mark.parametrize("value", BAD_EXPIRATIONS)
def test_a_bad_expiration_is_invalid_expiration(api: Api, value: str) -> None:
    _refused(api, {**PDF, "expiration": value}, 400, "INVALID_EXPIRATION", "expiration")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1m", 60),
        ("59m", 59 * 60),
        ("5h", 5 * 3600),
        ("30d", 30 * 86400),
        ("3650d", 3650 * 86400),
        ("87600h", 3650 * 86400),
        ("5256000m", 3650 * 86400),
    ],
)
def test_a_good_expiration_sets_expires_at(api: Api, value: str, seconds: int) -> None:
    file = api.created(expiration=value)["file"]
    assert file["expiresAt"].endswith("Z") and file["createdAt"].endswith("Z")
    lifetime = _ts(file["expiresAt"]) - _ts(file["createdAt"])
    assert abs(lifetime - timedelta(seconds=seconds)) <= timedelta(seconds=1)


def test_without_expiration_a_v3_file_lives_60_days(api: Api) -> None:
    file = api.created()["file"]
    lifetime = _ts(file["expiresAt"]) - _ts(file["createdAt"])
    assert abs(lifetime - timedelta(days=60)) <= timedelta(seconds=1)


def test_the_upload_window_never_outlasts_a_one_minute_file(api: Api) -> None:
    ticket = api.created(expiration="1m")
    assert _ts(ticket["uploadExpiresAt"]) <= _ts(ticket["file"]["expiresAt"])


def test_a_created_upload_has_the_documented_shape(api: Api) -> None:
    ticket = api.created("invoice.pdf", "application/pdf", description="d")
    assert set(ticket) == {"id", "uploadUrl", "fields", "uploadExpiresAt", "maxSize", "file"}
    store = api.server.env_overrides.get("ASSURED_S3_ENDPOINT_URL")
    expected = f"{store}/assured-files" if store else f"{api.server.base_url}/storage/assured-files"
    assert ticket["uploadUrl"] == expected
    assert set(ticket["fields"]) == {
        "key",
        "bucket",
        "Content-Type",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "Policy",
        "X-Amz-Signature",
    }
    assert ticket["fields"]["bucket"] == "assured-files"
    assert ticket["fields"]["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    policy = json.loads(base64.b64decode(ticket["fields"]["Policy"]))
    assert ["content-length-range", 1, ticket["maxSize"]] in policy["conditions"]
    window = _ts(ticket["uploadExpiresAt"]) - _ts(ticket["file"]["createdAt"])
    assert timedelta(minutes=14) <= window <= timedelta(minutes=15, seconds=1)
    file = ticket["file"]
    assert set(file) == {
        "id",
        "accountId",
        "fileName",
        "contentType",
        "size",
        "sha256",
        "status",
        "rejectionReason",
        "description",
        "businessProcess",
        "businessProcessAction",
        "storageUrl",
        "createdAt",
        "uploadedAt",
        "expiresAt",
        "contentFlags",
        "scan",
        "uploadLinkId",
    }
    assert file["status"] == "pending" and file["size"] is None and file["sha256"] is None
    # Nothing inspected yet: no flags, and the scan (if any) still to come.
    assert file["contentFlags"] == [] and file["scan"]["status"] == "pending"
    assert file["scan"]["engine"] is None and file["scan"]["scannedAt"] is None
    assert file["accountId"] == api.account_id and file["uploadedAt"] is None
    assert file["rejectionReason"] is None and file["businessProcess"] is None
    assert file["uploadLinkId"] is None


# --- list -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lister(server: ServerProcess) -> Iterator[Api]:
    """A fresh account with seven files: five pending (two 'claims'), two available."""
    client = make_api(server, server.new_account("lister"))
    for i in range(5):
        client.created(f"p{i}.pdf", businessProcess="claims" if i % 2 else "billing")
    for i in range(2):
        ticket = client.created(f"a{i}.pdf", businessProcess="claims")
        assert client.post_form(ticket, pdf_bytes()).status_code == 204
    yield client
    client.client.close()


def _pages(api: Api, **params: Any) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    for _ in range(50):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = api.client.get(api.files_path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "nextCursor"}
        pages.append(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            return pages
    raise AssertionError("listing did not end")


def test_list_pages_with_a_cursor_newest_first(lister: Api) -> None:
    pages = _pages(lister, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    items = [item for page in pages for item in page]
    names = [item["fileName"] for item in items]
    assert names == ["a1.pdf", "a0.pdf", "p4.pdf", "p3.pdf", "p2.pdf", "p1.pdf", "p0.pdf"]
    assert len({item["id"] for item in items}) == 7
    created = [_ts(item["createdAt"]) for item in items]
    assert created == sorted(created, reverse=True)
    assert [len(p) for p in _pages(lister)] == [7]  # the default limit is 50
    assert [len(p) for p in _pages(lister, limit=7)] == [7]
    assert [len(p) for p in _pages(lister, limit=1)] == [1] * 7


def test_list_filters_by_status_and_business_process(lister: Api) -> None:
    def names(**params: Any) -> list[str]:
        return [i["fileName"] for page in _pages(lister, **params) for i in page]

    assert names(status="available") == ["a1.pdf", "a0.pdf"]
    assert names(status="pending") == ["p4.pdf", "p3.pdf", "p2.pdf", "p1.pdf", "p0.pdf"]
    assert names(status="rejected") == []
    assert names(status="expired") == []
    assert names(businessProcess="claims") == ["a1.pdf", "a0.pdf", "p3.pdf", "p1.pdf"]
    assert names(businessProcess="claims", status="pending") == ["p3.pdf", "p1.pdf"]
    assert names(businessProcess="claims", status="pending", limit=1) == ["p3.pdf", "p1.pdf"]
    assert names(businessProcess="nothing") == []


def test_another_accounts_files_are_never_listed(lister: Api, api: Api) -> None:
    ids = {i["id"] for page in _pages(lister) for i in page}
    others = {i["id"] for page in _pages(api, limit=200) for i in page}
    assert not ids & others


BAD_LIST_PARAMS = [
    pytest.param({"limit": "0"}, "limit", id="limit-0"),
    pytest.param({"limit": "201"}, "limit", id="limit-201"),
    pytest.param({"limit": "-1"}, "limit", id="limit-negative"),
    pytest.param({"limit": "abc"}, "limit", id="limit-abc"),
    pytest.param({"limit": "1.5"}, "limit", id="limit-float"),
    pytest.param({"limit": ""}, "limit", id="limit-empty"),
    pytest.param({"limit": "99999999999999999999"}, "limit", id="limit-huge"),
    pytest.param({"cursor": "abc"}, "cursor", id="cursor-garbage"),
    pytest.param({"cursor": "0190000000000000000000000000000000"}, "cursor", id="cursor-not-uuid"),
    pytest.param({"status": "done"}, "status", id="status-unknown"),
    pytest.param({"status": ""}, "status", id="status-empty"),
]


@pytest.mark.parametrize(("params", "field"), BAD_LIST_PARAMS)
def test_a_bad_list_parameter_is_invalid_request_naming_it(
    lister: Api, params: dict[str, str], field: str
) -> None:
    response = lister.client.get(lister.files_path, params=params)
    assert_api_error(response, 400, "INVALID_REQUEST", field)


def test_a_repeated_list_parameter_is_invalid_request(lister: Api) -> None:
    response = lister.client.get(f"{lister.files_path}?limit=1&limit=2")
    assert_api_error(response, 400, "INVALID_REQUEST", "limit")


# --- download URLs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def available(api: Api) -> dict[str, Any]:
    """An available PDF of the main account."""
    ticket = api.created("available.pdf")
    assert api.post_form(ticket, pdf_bytes(4096)).status_code == 204
    file: dict[str, Any] = api.get_file(ticket["id"]).json()
    assert file["status"] == "available"
    return file


@pytest.mark.parametrize(
    "value", ["0", "3601", "-1", "abc", "1.5", "", "300s", "99999999999999999999"]
)
def test_a_bad_expires_in_is_invalid_request(
    api: Api, available: dict[str, Any], value: str
) -> None:
    response = api.download_url(available["id"], expiresIn=value)
    assert_api_error(response, 400, "INVALID_REQUEST", "expiresIn")


@pytest.mark.parametrize("seconds", [1, 300, 3600])
def test_expires_in_within_bounds_signs_a_url_for_that_long(
    api: Api, available: dict[str, Any], seconds: int
) -> None:
    response = api.download_url(available["id"], expiresIn=seconds)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"url", "expiresAt"}
    query = parse_qs(urlsplit(body["url"]).query)
    assert query["X-Amz-Expires"] == [str(seconds)]
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    assert _ts(body["expiresAt"]).replace(tzinfo=None) == signed + timedelta(seconds=seconds)


def test_the_default_download_url_lives_300_seconds(api: Api, available: dict[str, Any]) -> None:
    url = api.download_url(available["id"]).json()["url"]
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    downloaded = httpx.get(url, timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.content == pdf_bytes(4096)


def test_a_download_url_of_a_pending_file_is_file_not_ready(api: Api) -> None:
    ticket = api.created()
    assert_api_error(api.download_url(ticket["id"]), 409, "FILE_NOT_READY")


def test_a_download_url_of_a_rejected_file_is_file_not_ready(api: Api) -> None:
    ticket = api.created("fake.png", "image/png")
    assert api.post_form(ticket, pdf_bytes()).status_code == mismatch_post_status(api.server)
    file = api.get_file(ticket["id"]).json()
    assert file["status"] == "rejected" and file["rejectionReason"] == "CONTENT_MISMATCH"
    assert_api_error(api.download_url(ticket["id"]), 409, "FILE_NOT_READY")


def test_a_download_url_never_outlives_its_file(api: Api) -> None:
    ticket = api.created("short.png", "image/png", expiration="1m")
    assert api.post_form(ticket, png_bytes()).status_code == 204
    file = api.get_file(ticket["id"]).json()
    response = api.download_url(ticket["id"], expiresIn=3600)
    assert response.status_code == 200, response.text
    body = response.json()
    assert _ts(body["expiresAt"]) <= _ts(file["expiresAt"])
    expires = int(parse_qs(urlsplit(body["url"]).query)["X-Amz-Expires"][0])
    assert 1 <= expires <= 60
    assert httpx.get(body["url"], timeout=30).content == png_bytes()


def test_delete_removes_the_file_its_bytes_and_every_url(api: Api) -> None:
    ticket = api.created()
    assert api.post_form(ticket, pdf_bytes(3000)).status_code == 204
    url = api.download_url(ticket["id"]).json()["url"]
    assert httpx.get(url, timeout=30).status_code == 200
    assert any(ticket["id"] in p.name for p in stored_objects(api.server))
    before = api.file_count()

    response = api.client.delete(f"{api.files_path}/{ticket['id']}")
    assert response.status_code == 204 and response.content == b""

    assert_api_error(api.get_file(ticket["id"]), 404, "NOT_FOUND")
    assert_api_error(api.download_url(ticket["id"]), 404, "NOT_FOUND")
    assert_api_error(api.client.delete(f"{api.files_path}/{ticket['id']}"), 404, "NOT_FOUND")
    assert_s3_error(httpx.get(url, timeout=30), 404, "NoSuchKey")
    assert not any(ticket["id"] in p.name for p in stored_objects(api.server))
    assert api.file_count() == before - 1


def test_delete_of_a_pending_file_closes_its_upload(api: Api) -> None:
    ticket = api.created()
    assert api.client.delete(f"{api.files_path}/{ticket['id']}").status_code == 204
    before = set(stored_objects(api.server))
    response = httpx.post(
        ticket["uploadUrl"], data=ticket["fields"], files={"file": ("a.pdf", pdf_bytes())}
    )
    if is_s3(api.server):
        # A plain S3 store cannot refuse the form; the sweep deletes the stray landing object.
        assert response.status_code == 204
        wait_until(lambda: set(stored_objects(api.server)) == before)
    else:
        assert_s3_error(response, 403, "AccessDenied")
        assert set(stored_objects(api.server)) == before
    assert_api_error(api.get_file(ticket["id"]), 404, "NOT_FOUND")


# --- Idempotency-Key --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"k" * 256, id="256-chars"),
        pytest.param(b"tab\there", id="tab"),
        pytest.param("clé".encode("latin-1"), id="non-ascii"),
    ],
)
def test_a_bad_idempotency_key_is_invalid_request_and_creates_nothing(api: Api, key: bytes) -> None:
    before = api.file_count()
    response = api.client.post(api.files_path, json=PDF, headers=[(b"Idempotency-Key", key)])
    assert_api_error(response, 400, "INVALID_REQUEST", "Idempotency-Key")
    assert api.file_count() == before


def test_two_idempotency_keys_are_invalid_request(api: Api) -> None:
    headers = [(b"Idempotency-Key", b"one"), (b"Idempotency-Key", b"two")]
    response = api.client.post(api.files_path, json=PDF, headers=headers)
    assert_api_error(response, 400, "INVALID_REQUEST", "Idempotency-Key")


def test_an_idempotent_create_replays_and_a_different_body_conflicts(
    api: Api, other_api: Api
) -> None:
    key = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
    before = api.file_count()
    first = api.client.post(api.files_path, json=PDF, headers=key)
    assert first.status_code == 201, first.text
    reordered = b'{ "contentType":"application/pdf",  "fileName":"doc.pdf"}'
    again = api.client.post(
        api.files_path, content=reordered, headers=key | {"Content-Type": "application/json"}
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert api.file_count() == before + 1
    other = api.client.post(api.files_path, json={**PDF, "description": "x"}, headers=key)
    assert_api_error(other, 409, "IDEMPOTENCY_CONFLICT")
    assert api.file_count() == before + 1
    elsewhere = other_api.client.post(other_api.files_path, json=PDF, headers=key)
    assert elsewhere.status_code == 201 and elsewhere.json()["id"] != first.json()["id"]


def test_a_refused_create_does_not_burn_its_idempotency_key(api: Api) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    bad = api.client.post(api.files_path, json={**PDF, "expiration": "0d"}, headers=key)
    assert_api_error(bad, 400, "INVALID_EXPIRATION", "expiration")
    good = api.client.post(api.files_path, json=PDF, headers=key)
    assert good.status_code == 201, good.text
