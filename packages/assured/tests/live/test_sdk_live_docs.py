"""The public SDK guide's snippets, run verbatim against a real server (only ids filled in).

Between the ``--- verbatim ---`` markers the code is the guide's, character for character,
except that placeholder ids are replaced by real ones. Printed output is captured and checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from live_data import pdf_bytes, png_bytes
from sdk_live_harness import LiveServer

S3_URI = re.compile(r"^s3://[a-z0-9.-]+/files/[0-9a-f-]{36}$")


@pytest.fixture
def in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_quick_upload_then_presigned_download(
    live_env: LiveServer,
    provider_id: str,
    in_tmp_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    license_bytes = pdf_bytes(10_000)
    Path("license.pdf").write_bytes(license_bytes)
    from assured import AssuredClient

    # --- verbatim: Quick Upload ---
    async with AssuredClient() as client:
        with open("license.pdf", "rb") as f:
            document = await client.provider_profile.upload_and_associate_document(
                provider_id=provider_id,
                file_content=f.read(),
                filename="license.pdf",
                document_name="State Medical License",
                document_type="License",
            )

        print(f"Document ID: {document.id}")  # noqa: T201
        print(f"Storage URL: {document.document_url}")  # noqa: T201
    # --- end ---

    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Document ID: {document.id}"
    assert re.fullmatch(r"Document ID: [0-9a-f-]{36}", out[0])
    assert out[1] == f"Storage URL: {document.document_url}"
    assert S3_URI.match(document.document_url)
    assert document.provider == provider_id
    assert document.document_name == "State Medical License"
    assert document.document_type == "License"

    # The guide's next snippet uses the same client after its `async with` block.
    # --- verbatim: Generating Presigned URLs ---
    presigned_url = await client.files.presign_url(document.document_url)
    print(f"Download at: {presigned_url}")  # noqa: T201
    # --- end ---
    await client.close()

    printed = capsys.readouterr().out
    assert printed == f"Download at: {presigned_url}\n"
    assert presigned_url.startswith(("http://", "https://"))
    response = httpx.get(presigned_url, timeout=30)
    assert response.status_code == 200
    assert response.content == license_bytes


async def test_low_level_upload_then_manual_association(
    live_env: LiveServer, provider_id: str
) -> None:
    from assured import AssuredClient

    raw_bytes = png_bytes(5000)
    async with AssuredClient() as client:
        # --- verbatim: Low-Level Upload (provider id filled in) ---
        # Step 1: Upload raw file
        file_record = await client.files.upload(
            file_content=raw_bytes,
            filename="scan.png",
            mime_type="image/png",
        )

        # Step 2: Associate manually
        from assured.models.provider_profile import ProviderDocumentCreate

        doc = ProviderDocumentCreate(
            provider=provider_id,
            document_name="Background Check",
            document_type="Verification",
            document_url=file_record.file_url,
        )
        result = await client.provider_profile.create_document(doc)
        # --- end ---

    assert S3_URI.match(file_record.file_url)
    assert file_record.filename == "scan.png"
    assert file_record.mime_type == "image/png"
    assert file_record.size == len(raw_bytes)
    assert result.document_url == file_record.file_url
    assert result.provider == provider_id
    assert result.document_type == "Verification"
    assert result.mime_type == "image/png"


async def test_error_handling_snippet_reports_the_validation_error(
    live_env: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from assured import AssuredClient

    content = b"PK\x03\x04 not a supported document"
    async with AssuredClient() as client:
        # --- verbatim: Error Handling ---
        from assured.exceptions import AssuredAPIError

        try:
            doc = await client.provider_profile.upload_and_associate_document(  # noqa: F841
                provider_id="...",
                file_content=content,
                filename="report.docx",  # Unsupported format!
                document_name="Report",
                document_type="Other",
            )
        except ValueError as e:
            print(f"Validation error: {e}")  # noqa: T201
            # "Unsupported file format: '.docx'. Assured only accepts PDF, PNG, and JPEG files."

        except AssuredAPIError as e:
            print(f"API error {e.status_code}: {e.detail}")  # noqa: T201
        # --- end ---

    assert capsys.readouterr().out == (
        "Validation error: Unsupported file format: '.docx'. "
        "Assured only accepts PDF, PNG, and JPEG files.\n"
    )


async def test_error_handling_snippet_reports_an_api_error_for_an_unknown_provider(
    live_env: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from assured import AssuredClient

    content = pdf_bytes(1000)
    async with AssuredClient() as client:
        # The same snippet with a supported file: the placeholder provider "..." is unknown.
        from assured.exceptions import AssuredAPIError

        try:
            doc = await client.provider_profile.upload_and_associate_document(  # noqa: F841
                provider_id="...",
                file_content=content,
                filename="report.pdf",
                document_name="Report",
                document_type="Other",
            )
        except ValueError as e:
            print(f"Validation error: {e}")  # noqa: T201
        except AssuredAPIError as e:
            print(f"API error {e.status_code}: {e.detail}")  # noqa: T201

    printed = capsys.readouterr().out
    assert re.fullmatch(r"API error (400|404): .+\n", printed), printed
