"""Content safety end to end: a real server scanning with a real clamd, on both deployments.

One server per deployment for the module (PDF active content refused, images over the default
pixel limit refused), a clamd of the module's own that the last test stops and starts again.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from clamd_support import EICAR
from image_support import png
from pdf_support import PAGES, PLAIN, pdf
from safety_server_support import (
    objects_of,
    ready_status,
    rejected_post_status,
    upload_v1,
    upload_v3,
    wait_for_status,
)
from server_helpers import (
    Api,
    assert_api_error,
    is_s3,
    make_api,
    own_server,
    pdf_bytes,
    png_bytes,
    sha256,
    wait_until,
)

from assured_testing import Clamd, ServerProcess

MIB = 1 << 20
MAX_UPLOAD = 12 * MIB  # under the module clamd's 16 MiB stream limit, so the server starts
JS_PDF = pdf(
    b"<</Type /Catalog /Pages 2 0 R /OpenAction 4 0 R>>",
    PAGES,
    b"<</Type /Page /Parent 2 0 R>>",
    b"<</Type /Action /S /JavaScript /JS (app.alert\\(1\\))>>",
)
ENCRYPTED_PDF = pdf(*PLAIN, trailer=b"/Encrypt 9 0 R /ID [<01> <01>]")


@pytest.fixture(scope="module")
def scanning_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: dict[str, str],
    module_clamd: Clamd,
) -> Iterator[ServerProcess]:
    """A server scanning with the module's clamd, refusing active PDFs, sweeping often."""
    env = {
        "ASSURED_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "ASSURED_SWEEP_INTERVAL": "0.25",
        "ASSURED_SCANNER": "clamav",
        "ASSURED_CLAMD_ADDRESS": f"unix://{module_clamd.socket_path}",
        "ASSURED_PDF_ACTIVE_CONTENT": "reject",
    }
    with own_server(
        request, tmp_path_factory.mktemp("scanning"), backend, env, bucket_prefix="scan"
    ) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(scanning_server: ServerProcess) -> Iterator[Api]:
    """An account on the scanning server."""
    client = make_api(scanning_server, scanning_server.new_account("safety"))
    yield client
    client.client.close()


def assert_scanned(scan: dict[str, Any], status: str, signature: str | None = None) -> None:
    """A scan that ran: its status, engine, signature and time."""
    assert scan["status"] == status, scan
    assert scan["engine"] == "clamav", scan
    assert scan["signature"] == signature, scan
    assert scan["scannedAt"] is not None and scan["scannedAt"].endswith("Z"), scan


def assert_rejected(api: Api, post_status: int, file: dict[str, Any], reason: str) -> None:
    """Rejected with ``reason``, its bytes gone, never downloadable."""
    assert post_status == rejected_post_status(api), file
    assert file["status"] == "rejected" and file["rejectionReason"] == reason, file
    assert objects_of(api, file["id"]) == []
    assert_api_error(api.download_url(file["id"]), 409, "FILE_NOT_READY")


def assert_nothing_new(api: Api, before: int, objects: int) -> None:
    """A refused v1 upload left no row and no object behind."""
    assert api.file_count() == before
    assert len(objects_of(api, "")) == objects


def test_clean_files_pass_with_their_scan_recorded(api: Api) -> None:
    content = pdf_bytes(64 * 1024)
    status, file = upload_v3(api, "clean.pdf", "application/pdf", content)
    assert status == 204
    assert file["status"] == "available" and file["sha256"] == sha256(content), file
    assert file["contentFlags"] == []
    assert_scanned(file["scan"], "clean")

    response = upload_v1(api, "photo.png", "image/png", png_bytes(4096))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_flags"] == []
    assert body["scan"]["status"] == "clean" and body["scan"]["engine"] == "clamav", body
    assert body["scan"]["signature"] is None and body["scan"]["scanned_at"], body
    # The same file through v3: the scan is a property of the file, whatever API made it.
    assert_scanned(api.get_file(body["id"]).json()["scan"], "clean")


def test_eicar_in_a_text_file_is_rejected_with_its_signature_and_no_bytes_kept(api: Api) -> None:
    status, file = upload_v3(api, "notes.txt", "text/plain", b"hello\n" + EICAR + b"\n")
    assert_rejected(api, status, file, "MALWARE_DETECTED")
    assert_scanned(file["scan"], "infected", "Assured.Test.EICAR.UNOFFICIAL")


def test_eicar_inside_a_pdf_is_refused_by_v1_and_rejected_by_v3(api: Api) -> None:
    content = pdf(*PLAIN, b"<</Note (" + EICAR + b")>>")
    before, objects = api.file_count(), len(objects_of(api, ""))
    response = upload_v1(api, "infected.pdf", "application/pdf", content)
    body = assert_api_error(response, 400, "MALWARE_DETECTED", field="file")
    assert "Assured.Test.EICAR" in body["detail"]
    assert_nothing_new(api, before, objects)

    status, file = upload_v3(api, "infected.pdf", "application/pdf", content)
    assert_rejected(api, status, file, "MALWARE_DETECTED")
    assert file["scan"]["status"] == "infected"


def test_eicar_at_the_very_end_of_an_8_mib_file_is_found(api: Api) -> None:
    content = pdf_bytes(8 * MIB - len(EICAR)) + EICAR
    status, file = upload_v3(api, "big.pdf", "application/pdf", content)
    assert_rejected(api, status, file, "MALWARE_DETECTED")

    before, objects = api.file_count(), len(objects_of(api, ""))
    response = upload_v1(api, "big.pdf", "application/pdf", content)
    assert_api_error(response, 400, "MALWARE_DETECTED", field="file")
    assert_nothing_new(api, before, objects)


def test_javascript_pdf_is_rejected_and_an_encrypted_one_only_flagged(api: Api) -> None:
    status, file = upload_v3(api, "form.pdf", "application/pdf", JS_PDF)
    assert_rejected(api, status, file, "ACTIVE_CONTENT")
    assert file["contentFlags"] == ["pdf_auto_action", "pdf_javascript"], file
    assert_scanned(file["scan"], "clean")

    before, objects = api.file_count(), len(objects_of(api, ""))
    assert_api_error(upload_v1(api, "form.pdf", "application/pdf", JS_PDF), 400, "ACTIVE_CONTENT")
    assert_nothing_new(api, before, objects)

    # Encryption alone is noted, never refused.
    status, file = upload_v3(api, "locked.pdf", "application/pdf", ENCRYPTED_PDF)
    assert status == 204 and file["status"] == "available", file
    assert file["contentFlags"] == ["pdf_encrypted"]
    response = upload_v1(api, "locked.pdf", "application/pdf", ENCRYPTED_PDF)
    assert response.status_code == 201, response.text
    assert response.json()["content_flags"] == ["pdf_encrypted"]


def test_image_bomb_headers_are_rejected_and_unreadable_ones_mismatch(api: Api) -> None:
    bomb = png(40_000, 40_000) + bytes(4096)
    status, file = upload_v3(api, "bomb.png", "image/png", bomb)
    assert_rejected(api, status, file, "IMAGE_TOO_LARGE")

    before, objects = api.file_count(), len(objects_of(api, ""))
    assert_api_error(upload_v1(api, "bomb.png", "image/png", bomb), 400, "IMAGE_TOO_LARGE")
    assert_nothing_new(api, before, objects)

    # The PNG signature, then no readable IHDR: not an image of its type.
    status, file = upload_v3(api, "cut.png", "image/png", png(16, 16)[:20])
    assert_rejected(api, status, file, "CONTENT_MISMATCH")


def test_clamd_down_keeps_files_pending_then_they_settle_when_it_returns(
    api: Api, module_clamd: Clamd
) -> None:
    clean = pdf_bytes(32 * 1024)
    module_clamd.stop()
    try:
        wait_until(lambda: ready_status(api) == 503, 30)

        before, objects = api.file_count(), len(objects_of(api, ""))
        response = upload_v1(api, "later.pdf", "application/pdf", clean)
        assert_api_error(response, 503, "SCANNER_UNAVAILABLE")
        assert int(response.headers["retry-after"]) >= 1
        assert_nothing_new(api, before, objects)

        status, waiting = upload_v3(api, "waiting.pdf", "application/pdf", clean)
        assert status == 204
        status, infected = upload_v3(api, "waiting.txt", "text/plain", EICAR)
        assert status == 204
        for file in (waiting, infected):
            assert file["status"] == "pending", file
            assert file["scan"] == {
                "status": "pending",
                "engine": None,
                "signature": None,
                "scannedAt": None,
            }
            assert_api_error(api.download_url(file["id"]), 409, "FILE_NOT_READY")
        # Still pending after sweeps have come and gone: nothing passes unscanned.
        if is_s3(api.server):
            complete = api.client.post(f"{api.files_path}/{waiting['id']}/complete")
            assert complete.status_code == 200 and complete.json()["status"] == "pending"
        assert api.get_file(waiting["id"]).json()["status"] == "pending"
    finally:
        module_clamd.start()

    wait_until(lambda: ready_status(api) == 200, 30)
    settled = wait_for_status(api, waiting["id"], "available")
    assert_scanned(settled["scan"], "clean")
    assert settled["sha256"] == sha256(clean) and settled["size"] == len(clean)
    url = api.download_url(waiting["id"]).json()["url"]

    assert httpx.get(url, timeout=30).content == clean
    rejected = wait_for_status(api, infected["id"], "rejected")
    assert rejected["rejectionReason"] == "MALWARE_DETECTED"
    assert_scanned(rejected["scan"], "infected", "Assured.Test.EICAR.UNOFFICIAL")
    wait_until(lambda: objects_of(api, infected["id"]) == [], 30)


def tus_upload(api: Api, name: str, content_type: str, parts: list[bytes]) -> httpx.Response:
    """A tus upload (``POST``, then a ``PATCH`` per part): the last ``PATCH``'s answer."""
    tus = {"Tus-Resumable": "1.0.0"}
    metadata = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in (("filename", name), ("contentType", content_type))
    )
    created = api.client.post(
        f"/v3/accounts/{api.account_id}/tus",
        headers={**tus, "Upload-Length": str(sum(map(len, parts))), "Upload-Metadata": metadata},
    )
    assert created.status_code == 201, created.text
    offset, answer = 0, created
    for part in parts:
        answer = api.client.patch(
            created.headers["Location"],
            headers={
                **tus,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
            },
            content=part,
        )
        offset += len(part)
    return answer


def tus_file_id(response: httpx.Response) -> str:
    """The File's id from a tus answer's request URL (the upload's id is the File's)."""
    return str(response.request.url).rstrip("/").rsplit("/", 1)[1]


def test_tus_uploads_are_scanned_when_their_last_byte_arrives(api: Api) -> None:
    # A clean PDF over two requests: available with its scan, like any other path.
    content = pdf_bytes(300 * 1024)
    done = tus_upload(api, "clean.pdf", "application/pdf", [content[:100_000], content[100_000:]])
    assert done.status_code == 204, done.text
    file = api.get_file(tus_file_id(done)).json()
    assert file["status"] == "available" and file["sha256"] == sha256(content), file
    assert_scanned(file["scan"], "clean")

    # EICAR split across the two requests: found in the assembled file, nothing kept.
    infected = b"notes\n" + EICAR + b"\n"
    refused = tus_upload(api, "notes.txt", "text/plain", [infected[:30], infected[30:]])
    assert_api_error(refused, 400, "MALWARE_DETECTED")
    file = api.get_file(tus_file_id(refused)).json()
    assert file["status"] == "rejected" and file["rejectionReason"] == "MALWARE_DETECTED", file
    assert_scanned(file["scan"], "infected", "Assured.Test.EICAR.UNOFFICIAL")
    assert objects_of(api, file["id"]) == []
