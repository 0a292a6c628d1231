"""File models: v1 snake_case, v3 camelCase on the wire and snake_case in Python."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sdk_helpers import file_json, upload_json

from assured.models.files import DownloadURL, File, FilePage, FileUpload, UploadTicket


def test_file_upload_parses_the_v1_answer() -> None:
    upload = FileUpload.model_validate(upload_json("f-9", "scan.png"))
    assert upload.file_url == "s3://assured-files/files/f-9"
    assert upload.filename == "scan.png"
    assert upload.created_at == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert upload.expires_at is None


def test_file_reads_camel_case_and_exposes_snake_case() -> None:
    file = File.model_validate(
        file_json(businessProcess="payment-processing", rejectionReason=None)
    )
    assert file.file_name == "invoice.pdf"
    assert file.content_type == "application/pdf"
    assert file.business_process == "payment-processing"
    assert file.storage_url == "s3://assured-files/files/f-1"
    assert file.uploaded_at is not None


def test_file_dumps_back_to_the_wire_shape() -> None:
    wire = File.model_validate(file_json()).model_dump(mode="json", by_alias=True)
    assert wire["fileName"] == "invoice.pdf"
    assert wire["createdAt"] == "2026-01-15T10:30:00Z"


def test_file_accepts_snake_case_names_too() -> None:
    file = File(
        id="f",
        account_id="a",
        file_name="x.pdf",
        content_type="application/pdf",
        status="pending",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert file.size is None


def test_pending_file_has_no_size_or_hash_yet() -> None:
    file = File.model_validate(file_json(status="pending", size=None, sha256=None))
    assert (file.status, file.size, file.sha256) == ("pending", None, None)


def test_unknown_fields_from_a_newer_server_are_kept() -> None:
    file = File.model_validate(file_json(newThing=1))
    assert file.model_extra == {"newThing": 1}


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValidationError):
        File.model_validate(file_json(status="exploded"))


def test_upload_ticket_keeps_fields_in_order() -> None:
    fields = {"key": "uploads/f-1", "bucket": "assured-files", "Content-Type": "application/pdf"}
    ticket = UploadTicket.model_validate(
        {
            "id": "f-1",
            "uploadUrl": "http://h/storage/assured-files",
            "fields": fields,
            "uploadExpiresAt": "2026-01-15T10:45:00Z",
            "maxSize": 104857600,
            "file": file_json(status="pending"),
        }
    )
    assert list(ticket.fields) == ["key", "bucket", "Content-Type"]
    assert ticket.upload_url.endswith("/assured-files")
    assert ticket.file.status == "pending"
    assert ticket.max_size == 104857600


def test_download_url_and_page() -> None:
    url = DownloadURL.model_validate({"url": "http://x", "expiresAt": "2026-01-15T10:35:00.123Z"})
    assert url.expires_at.microsecond == 123000
    page = FilePage.model_validate({"items": [file_json()], "nextCursor": None})
    assert page.next_cursor is None
    assert page.items[0].id == "f-1"


def test_file_reads_its_scan_and_content_flags() -> None:
    file = File.model_validate(
        file_json(
            status="rejected",
            rejectionReason="MALWARE_DETECTED",
            contentFlags=["pdf_javascript"],
            scan={
                "status": "infected",
                "engine": "clamav",
                "signature": "Eicar-Test-Signature",
                "scannedAt": "2026-01-15T10:31:00Z",
            },
        )
    )
    assert file.content_flags == ["pdf_javascript"]
    assert file.scan is not None and file.scan.status == "infected"
    assert file.scan.signature == "Eicar-Test-Signature"
    assert file.scan.scanned_at == datetime(2026, 1, 15, 10, 31, tzinfo=UTC)
    wire = file.model_dump(mode="json", by_alias=True)
    assert wire["contentFlags"] == ["pdf_javascript"] and wire["scan"]["scannedAt"]


def test_a_file_from_a_server_without_content_checks_has_no_scan() -> None:
    file = File.model_validate(file_json())
    assert file.scan is None and file.content_flags == []


def test_file_upload_reads_the_v1_scan_in_snake_case() -> None:
    upload = FileUpload.model_validate(
        upload_json("f-9", "scan.pdf")
        | {
            "content_flags": ["pdf_encrypted"],
            "scan": {
                "status": "clean",
                "engine": "clamav",
                "signature": None,
                "scanned_at": "2026-01-15T10:30:01Z",
            },
        }
    )
    assert upload.content_flags == ["pdf_encrypted"]
    assert upload.scan is not None and upload.scan.status == "clean"
    assert upload.scan.scanned_at == datetime(2026, 1, 15, 10, 30, 1, tzinfo=UTC)


def test_an_unknown_scan_status_is_refused() -> None:
    with pytest.raises(ValidationError):
        File.model_validate(file_json(scan={"status": "maybe"}))
