"""``client.files`` against a real server: v1 upload and presign, the v3 flow, listing, download."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from live_data import jpeg_bytes, pdf_bytes, png_bytes, sha256
from sdk_live_harness import MAX_UPLOAD_BYTES

from assured import (
    Assured,
    AssuredClient,
    BadRequestError,
    FileRejectedError,
    FileTooLargeError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedFileFormatError,
)

# -- v1 -------------------------------------------------------------------------------------


async def test_v1_upload_of_bytes_then_presigned_download(live_client: AssuredClient) -> None:
    data = pdf_bytes(50_000)
    record = await live_client.files.upload(data, filename="license.pdf")
    assert record.file_url.startswith("s3://")
    assert record.filename == "license.pdf"
    assert record.mime_type == "application/pdf"
    assert record.size == len(data)
    assert record.sha256 == sha256(data)
    assert record.expires_at is None
    url = await live_client.files.presign_url(record.file_url, expires_in=60)
    assert httpx.get(url, timeout=30).content == data


async def test_v1_upload_from_a_path_streams_and_names_the_file(
    live_client: AssuredClient, tmp_path: Path
) -> None:
    path = tmp_path / "Photo.JPG"
    data = jpeg_bytes(3 * 1024 * 1024 + 5)
    path.write_bytes(data)
    progress: list[tuple[int, int | None]] = []
    record = await live_client.files.upload(
        path, progress=lambda done, total: progress.append((done, total))
    )
    assert record.filename == "Photo.JPG"
    assert record.mime_type == "image/jpeg"
    assert record.sha256 == sha256(data)
    assert progress[-1] == (len(data), len(data))


async def test_v1_upload_from_a_file_object_with_expiration(live_client: AssuredClient) -> None:
    data = png_bytes(10_000)
    record = await live_client.files.upload(
        io.BytesIO(data), filename="scan.png", mime_type="image/png", expiration="1h"
    )
    assert record.expires_at is not None
    assert record.size == len(data)


async def test_v1_upload_of_a_mismatched_body_is_a_content_mismatch(
    live_client: AssuredClient,
) -> None:
    with pytest.raises(BadRequestError) as info:
        await live_client.files.upload(png_bytes(), filename="license.pdf")
    assert info.value.code == "CONTENT_MISMATCH"


class _Pipe:
    """A stream of unknown size (no seek): the SDK cannot check it before sending."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int) -> bytes:
        return self._data.read(size)


async def test_v1_upload_of_a_stream_over_the_limit_is_payload_too_large(
    live_client: AssuredClient,
) -> None:
    # The server answers 413 while the body is still being sent; the SDK must report that
    # answer, not the broken pipe that follows it.
    with pytest.raises(PayloadTooLargeError) as info:
        await live_client.files.upload(
            _Pipe(pdf_bytes(MAX_UPLOAD_BYTES + 1024 * 1024)), filename="huge.pdf"
        )
    assert info.value.code == "FILE_TOO_LARGE"


async def _file_count(client: AssuredClient) -> int:
    return len([f async for f in client.files.list(limit=200)])


async def test_uploads_of_a_known_size_over_the_limit_are_refused_before_anything(
    live_client: AssuredClient, tmp_path: Path
) -> None:
    assert await live_client.max_upload_size() == MAX_UPLOAD_BYTES
    path = tmp_path / "huge.pdf"
    path.write_bytes(pdf_bytes(MAX_UPLOAD_BYTES + 1))
    before = await _file_count(live_client)
    with pytest.raises(FileTooLargeError) as info:
        await live_client.files.upload(path)
    assert (info.value.size, info.value.max_size) == (MAX_UPLOAD_BYTES + 1, MAX_UPLOAD_BYTES)
    with pytest.raises(FileTooLargeError):
        await live_client.files.upload_file(path)
    assert await _file_count(live_client) == before  # no record, not even a rejected one
    # At the limit exactly, it is accepted.
    path.write_bytes(pdf_bytes(MAX_UPLOAD_BYTES))
    assert (await live_client.files.upload(path)).size == MAX_UPLOAD_BYTES


async def test_v1_upload_refuses_other_formats_locally(live_client: AssuredClient) -> None:
    with pytest.raises(UnsupportedFileFormatError):
        await live_client.files.upload(b"hello", filename="notes.txt")


async def test_presign_of_a_foreign_uri_is_refused(live_client: AssuredClient) -> None:
    with pytest.raises(BadRequestError) as info:
        await live_client.files.presign_url("s3://some-other-bucket/files/x")
    assert info.value.code == "INVALID_DOCUMENT_URL"


async def test_v1_files_are_v3_files_too(live_client: AssuredClient) -> None:
    record = await live_client.files.upload(pdf_bytes(), filename="both.pdf")
    file = await live_client.files.get(record.id)
    assert file.status == "available"
    assert file.storage_url == record.file_url
    assert file.sha256 == record.sha256


# -- v3 -------------------------------------------------------------------------------------


async def test_v3_upload_file_end_to_end(live_client: AssuredClient, tmp_path: Path) -> None:
    data = pdf_bytes(200_000)
    source = tmp_path / "invoice_2024_001.pdf"
    source.write_bytes(data)
    file = await live_client.files.upload_file(
        source,
        description="Invoice for customer CUST001",
        business_process="payment-processing",
        business_process_action="document-upload",
        expiration="30d",
    )
    assert file.status == "available"
    assert file.file_name == "invoice_2024_001.pdf"
    assert file.content_type == "application/pdf"
    assert file.size == len(data)
    assert file.sha256 == sha256(data)
    assert file.business_process == "payment-processing"
    assert file.storage_url is not None

    target = tmp_path / "copy.pdf"
    assert await live_client.files.download(file.id, target) == target
    assert target.read_bytes() == data

    into_dir = tmp_path / "downloads"
    into_dir.mkdir()
    written = await live_client.files.download(file.id, into_dir)
    assert written == into_dir / "invoice_2024_001.pdf"

    url = await live_client.files.download_url(file.id, expires_in=30)
    assert httpx.get(url.url, timeout=30).content == data

    await live_client.files.delete(file.id)
    with pytest.raises(NotFoundError):
        await live_client.files.get(file.id)


async def test_v3_rejected_content_raises_with_the_reason(live_client: AssuredClient) -> None:
    with pytest.raises(FileRejectedError) as info:
        await live_client.files.upload_file(png_bytes(), file_name="fake.pdf")
    assert info.value.reason == "CONTENT_MISMATCH"
    assert (await live_client.files.get(info.value.file.id)).status == "rejected"


async def test_v3_upload_of_a_stream_over_the_limit_is_refused_by_storage(
    live_client: AssuredClient,
) -> None:
    with pytest.raises((FileRejectedError, BadRequestError, PayloadTooLargeError)):
        await live_client.files.upload_file(
            _Pipe(pdf_bytes(MAX_UPLOAD_BYTES + 1024 * 1024)), file_name="huge.pdf"
        )


async def test_v3_create_upload_validates_like_the_contract(live_client: AssuredClient) -> None:
    with pytest.raises(BadRequestError) as info:
        await live_client.files.create_upload("photo.png", "application/pdf")
    assert info.value.code == "INVALID_CONTENT_TYPE"
    with pytest.raises(BadRequestError) as info:
        await live_client.files.create_upload("a.pdf", "application/pdf", expiration="5H")
    assert info.value.code == "INVALID_EXPIRATION"


async def test_v3_list_walks_pages_newest_first(live_client: AssuredClient) -> None:
    process = f"sdk-list-{id(live_client)}"
    ids = []
    for n in range(3):
        file = await live_client.files.upload_file(
            pdf_bytes(1000 + n), file_name=f"p{n}.pdf", business_process=process
        )
        ids.append(file.id)
    listed = [f.id async for f in live_client.files.list(business_process=process, limit=1)]
    assert listed == list(reversed(ids))
    page = await live_client.files.list_page(business_process=process, limit=2)
    assert len(page.items) == 2
    assert page.next_cursor is not None


async def test_download_of_an_s3_uri_to_a_file_object(live_client: AssuredClient) -> None:
    data = pdf_bytes(7777)
    record = await live_client.files.upload(data, filename="stream.pdf")
    sink = io.BytesIO()
    await live_client.files.download(record.file_url, sink)
    assert sink.getvalue() == data


def test_sync_client_does_the_same(live_sync_client: Assured, tmp_path: Path) -> None:
    data = pdf_bytes(12_345)
    file = live_sync_client.files.upload_file(data, file_name="sync.pdf")
    assert file.status == "available"
    target = tmp_path / "sync.pdf"
    live_sync_client.files.download(file.id, target)
    assert target.read_bytes() == data
    record = live_sync_client.files.upload(data, filename="sync-v1.pdf")
    assert (
        httpx.get(live_sync_client.files.presign_url(record.file_url), timeout=30).content == data
    )
