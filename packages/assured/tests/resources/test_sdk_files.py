"""``client.files``: v1 upload and presign, the v3 pre-signed flow, listing, download, delete."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from sdk_helpers import ACCOUNT_ID, error_body, file_json, upload_json

from assured import (
    Assured,
    AssuredClient,
    AssuredError,
    AssuredValidationError,
    FileProcessingTimeoutError,
    FileRejectedError,
    MissingArgumentError,
    NotFoundError,
    PermissionDeniedError,
)

FILES = f"/v3/accounts/{ACCOUNT_ID}/files"
STORAGE = "http://storage.test/storage/assured-files"
DOWNLOAD = "http://storage.test/storage/assured-files/files/f-1?X-Amz-Signature=abc"


def _parts(request: httpx.Request) -> list[tuple[object, str | None, str, object]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.read()
    )
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


def _ticket(file_id: str = "f-1") -> dict[str, object]:
    return {
        "id": file_id,
        "uploadUrl": STORAGE,
        "fields": {
            "key": f"uploads/{file_id}",
            "bucket": "assured-files",
            "Content-Type": "application/pdf",
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "Policy": "eyJ9",
            "X-Amz-Signature": "sig",
        },
        "uploadExpiresAt": "2026-01-15T10:45:00Z",
        "maxSize": 104857600,
        "file": file_json(file_id, status="pending", size=None, sha256=None),
    }


# -- v1 -------------------------------------------------------------------------------------


async def test_upload_bytes_posts_a_multipart_form_with_an_idempotency_key(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.post("/api/v1/files/handle/").mock(
        return_value=httpx.Response(201, json=upload_json("f-7", "scan.png"))
    )
    raw_bytes = b"\x89PNG\r\n\x1a\n...."
    file_record = await client.files.upload(
        file_content=raw_bytes, filename="scan.png", mime_type="image/png"
    )
    assert file_record.file_url == "s3://assured-files/files/f-7"
    request = route.calls.last.request
    assert request.headers["idempotency-key"]
    assert int(request.headers["content-length"]) == len(request.read())
    assert _parts(request) == [
        ("mime_type", None, "text/plain", b"image/png"),
        ("file", "scan.png", "image/png", raw_bytes),
    ]


async def test_upload_path_names_the_file_and_guesses_its_type(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    route = api.post("/api/v1/files/handle/").mock(
        return_value=httpx.Response(201, json=upload_json())
    )
    path = tmp_path / "Photo.JPEG"
    path.write_bytes(b"\xff\xd8\xff\xe0")
    await client.files.upload(path, expiration="30d")
    parts = _parts(route.calls.last.request)
    assert parts[0] == ("expiration", None, "text/plain", b"30d")
    assert parts[1][:3] == ("file", "Photo.JPEG", "image/jpeg")


async def test_upload_of_bytes_needs_a_filename(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    with pytest.raises(AssuredValidationError, match="pass filename=") as info:
        await client.files.upload(b"%PDF-")
    assert isinstance(info.value, MissingArgumentError)
    assert info.value.argument == "filename"
    assert not api.routes["token"].called


@pytest.mark.parametrize("filename", ["report.docx", "scan.pdf.exe", "notes.txt", "README"])
async def test_upload_refuses_other_formats_before_any_request(
    client: AssuredClient, api: respx.MockRouter, filename: str
) -> None:
    with pytest.raises(ValueError, match="Assured only accepts PDF, PNG, and JPEG files"):
        await client.files.upload(b"data", filename=filename)
    assert not api.calls


async def test_presign_url_returns_the_url(client: AssuredClient, api: respx.MockRouter) -> None:
    route = api.post("/api/v1/files/presign/").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "1"}),
            httpx.Response(200, json={"url": DOWNLOAD, "expires_at": "2026-01-15T10:35:00Z"}),
        ]
    )
    url = await client.files.presign_url("s3://assured-files/files/f-1")
    assert url == DOWNLOAD
    assert json.loads(route.calls.last.request.content) == {
        "file_url": "s3://assured-files/files/f-1",
        "expires_in": 300,
    }
    assert route.call_count == 2  # presigning twice is harmless, so it is retried


# -- v3 -------------------------------------------------------------------------------------


async def test_create_upload_sends_camel_case_metadata(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.post(FILES).mock(return_value=httpx.Response(201, json=_ticket()))
    ticket = await client.files.create_upload(
        "invoice.pdf",
        "application/pdf",
        description="Invoice",
        business_process="payment-processing",
        expiration="30d",
    )
    assert ticket.fields["key"] == "uploads/f-1"
    request = route.calls.last.request
    assert request.headers["idempotency-key"]
    assert json.loads(request.content) == {
        "fileName": "invoice.pdf",
        "contentType": "application/pdf",
        "description": "Invoice",
        "businessProcess": "payment-processing",
        "expiration": "30d",
    }


def _v3_flow(api: respx.MockRouter, complete: list[httpx.Response]) -> dict[str, respx.Route]:
    return {
        "create": api.post(FILES).mock(return_value=httpx.Response(201, json=_ticket())),
        "storage": api.post(STORAGE).mock(return_value=httpx.Response(204)),
        "complete": api.post(f"{FILES}/f-1/complete").mock(side_effect=complete),
        "get": api.get(f"{FILES}/f-1"),
    }


async def test_upload_file_creates_posts_fields_then_file_and_completes(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    routes = _v3_flow(api, [httpx.Response(200, json=file_json())])
    progress: list[tuple[int, int | None]] = []
    file = await client.files.upload_file(
        b"%PDF-1.7 hello",
        file_name="invoice.pdf",
        progress=lambda done, total: progress.append((done, total)),
    )
    assert file.status == "available"
    storage = routes["storage"].calls.last.request
    assert "authorization" not in storage.headers
    assert "content-length" in storage.headers
    parts = _parts(storage)
    assert [p[0] for p in parts] == [
        "key",
        "bucket",
        "Content-Type",
        "X-Amz-Algorithm",
        "Policy",
        "X-Amz-Signature",
        "file",
    ]
    assert parts[-1][1:] == ("invoice.pdf", "application/pdf", b"%PDF-1.7 hello")
    assert json.loads(routes["create"].calls.last.request.content)["contentType"] == (
        "application/pdf"
    )
    assert progress[-1] == (14, 14)


async def test_upload_file_polls_with_backoff_until_the_file_is_final(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    not_ready = httpx.Response(409, json=error_body("FILE_NOT_READY", "Nothing uploaded yet."))
    _v3_flow(
        api,
        [
            not_ready,
            not_ready,
            httpx.Response(200, json=file_json(status="pending")),
            httpx.Response(200, json=file_json()),
        ],
    )
    file = await client.files.upload_file(b"%PDF-", file_name="invoice.pdf")
    assert file.status == "available"
    assert sleeps == [0.25, 0.5, 1.0]


async def test_upload_file_raises_when_the_file_is_rejected(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    rejected = file_json(status="rejected", rejectionReason="CONTENT_MISMATCH")
    _v3_flow(api, [httpx.Response(200, json=rejected)])
    with pytest.raises(FileRejectedError, match="CONTENT_MISMATCH") as info:
        await client.files.upload_file(b"not a pdf", file_name="invoice.pdf")
    assert info.value.reason == "CONTENT_MISMATCH"
    assert info.value.file.id == "f-1"


async def test_upload_file_gives_up_after_its_timeout(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    _v3_flow(api, [httpx.Response(200, json=file_json(status="pending"))] * 5)
    with pytest.raises(FileProcessingTimeoutError):
        await client.files.upload_file(b"%PDF-", file_name="invoice.pdf", max_wait_seconds=0)


async def test_storage_refusing_the_content_reports_the_rejection(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    rejected = file_json(status="rejected", rejectionReason="CONTENT_MISMATCH")
    routes = _v3_flow(api, [httpx.Response(200, json=rejected)] * 2)
    routes["storage"].mock(
        return_value=httpx.Response(
            400, text="<Error><Code>InvalidContent</Code><Message>bad</Message></Error>"
        )
    )
    with pytest.raises(FileRejectedError):
        await client.files.upload_file(b"GIF89a", file_name="invoice.pdf")


async def test_storage_failure_with_nothing_uploaded_is_raised(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    not_ready = httpx.Response(409, json=error_body("FILE_NOT_READY", "Nothing uploaded yet."))
    routes = _v3_flow(api, [not_ready])
    routes["storage"].mock(
        return_value=httpx.Response(
            403, text="<Error><Code>AccessDenied</Code><Message>Policy expired</Message></Error>"
        )
    )
    with pytest.raises(PermissionDeniedError) as info:
        await client.files.upload_file(b"%PDF-", file_name="invoice.pdf")
    assert info.value.code == "AccessDenied"
    assert routes["storage"].call_count == 1  # a storage POST is never resent


async def test_lost_storage_answer_is_recovered_when_the_bytes_landed(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    routes = _v3_flow(api, [httpx.Response(200, json=file_json())] * 2)
    routes["storage"].mock(side_effect=httpx.ReadError("connection reset"))
    file = await client.files.upload_file(b"%PDF-", file_name="invoice.pdf")
    assert file.status == "available"
    assert routes["complete"].call_count == 2


async def test_upload_file_needs_a_content_type_it_can_tell(client: AssuredClient) -> None:
    with pytest.raises(AssuredValidationError, match="content_type"):
        await client.files.upload_file(b"data", file_name="data.bin")


async def test_get_download_url_and_delete(client: AssuredClient, api: respx.MockRouter) -> None:
    api.get(f"{FILES}/f-1").mock(return_value=httpx.Response(200, json=file_json()))
    url_route = api.get(f"{FILES}/f-1/download-url").mock(
        return_value=httpx.Response(
            200, json={"url": DOWNLOAD, "expiresAt": "2026-01-15T10:35:00Z"}
        )
    )
    delete = api.delete(f"{FILES}/f-1").mock(return_value=httpx.Response(204))
    assert (await client.files.get("f-1")).file_name == "invoice.pdf"
    assert (await client.files.download_url("f-1", expires_in=60)).url == DOWNLOAD
    assert url_route.calls.last.request.url.params["expiresIn"] == "60"
    await client.files.delete("f-1")
    assert delete.called


async def test_ids_are_escaped_in_paths(client: AssuredClient, api: respx.MockRouter) -> None:
    route = api.get(f"{FILES}/a%2Fb").mock(return_value=httpx.Response(404, json={}))
    with pytest.raises(NotFoundError):
        await client.files.get("a/b")
    assert route.called


async def test_list_walks_every_page_with_the_filters(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(FILES).mock(
        side_effect=[
            httpx.Response(
                200, json={"items": [file_json("a"), file_json("b")], "nextCursor": "c2"}
            ),
            httpx.Response(200, json={"items": [file_json("c")], "nextCursor": None}),
        ]
    )
    ids = [
        f.id async for f in client.files.list(status="available", business_process="bp", limit=2)
    ]
    assert ids == ["a", "b", "c"]
    first, second = (call.request.url.params for call in route.calls)
    assert dict(first) == {"status": "available", "businessProcess": "bp", "limit": "2"}
    assert second["cursor"] == "c2"


async def test_list_filters_by_upload_link_and_reads_the_link_id(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    linked = {**file_json("a"), "uploadLinkId": "link-1"}
    route = api.get(FILES).mock(
        return_value=httpx.Response(200, json={"items": [linked], "nextCursor": None})
    )
    page = await client.files.list_page(upload_link_id="link-1")
    assert page.items[0].upload_link_id == "link-1"
    assert dict(route.calls[0].request.url.params) == {"uploadLinkId": "link-1"}


async def test_list_fetches_pages_lazily(client: AssuredClient, api: respx.MockRouter) -> None:
    route = api.get(FILES).mock(
        return_value=httpx.Response(200, json={"items": [file_json("a")], "nextCursor": "more"})
    )
    async for _ in client.files.list():
        break
    assert route.call_count == 1


async def test_list_stops_on_a_repeated_cursor(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    api.get(FILES).mock(return_value=httpx.Response(200, json={"items": [], "nextCursor": "same"}))
    with pytest.raises(AssuredError, match="same page cursor"):
        await client.files.list().to_list()


# -- download -------------------------------------------------------------------------------


class _Body(httpx.AsyncByteStream, httpx.SyncByteStream):
    """A response body sent in pieces, optionally breaking after the first."""

    def __init__(self, chunks: list[bytes], *, fail: bool = False) -> None:
        self._chunks = chunks
        self._fail = fail

    def __iter__(self) -> Iterator[bytes]:
        yield self._chunks[0]
        if self._fail:
            raise httpx.ReadError("connection reset")
        yield from self._chunks[1:]

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.__iter__():
            yield chunk


def _download_routes(api: respx.MockRouter, body: httpx.Response) -> respx.Route:
    api.get(f"{FILES}/f-1/download-url").mock(
        return_value=httpx.Response(
            200, json={"url": DOWNLOAD, "expiresAt": "2026-01-15T10:35:00Z"}
        )
    )
    return api.get(DOWNLOAD).mock(return_value=body)


def _ok(chunks: list[bytes], name: str = "invoice.pdf", *, fail: bool = False) -> httpx.Response:
    headers = {
        "Content-Length": str(sum(map(len, chunks))),
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}",
    }
    return httpx.Response(200, headers=headers, stream=_Body(chunks, fail=fail))


async def test_download_streams_to_the_path_without_the_bearer_token(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    route = _download_routes(api, _ok([b"%PDF-", b"1.7"]))
    progress: list[tuple[int, int | None]] = []
    target = tmp_path / "out.pdf"
    result = await client.files.download(
        "f-1", target, progress=lambda done, total: progress.append((done, total))
    )
    assert result == target
    assert target.read_bytes() == b"%PDF-1.7"
    assert "authorization" not in route.calls.last.request.headers
    assert str(route.calls.last.request.url) == DOWNLOAD  # the signed query is left untouched
    assert progress[0] == (0, 8)
    assert progress[-1] == (8, 8)
    assert list(tmp_path.iterdir()) == [target]


async def test_download_into_a_directory_uses_the_served_name_safely(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    _download_routes(api, _ok([b"%PDF-"], name="..%2F..%2Fr%C3%A9sum%C3%A9.pdf"))
    result = await client.files.download("f-1", tmp_path)
    assert result == tmp_path / "résumé.pdf"
    assert result.read_bytes() == b"%PDF-"


@pytest.mark.parametrize("missing", ["copies/", "a/b/copies/", "copies" + os.sep])
async def test_download_to_a_missing_directory_ending_in_a_separator_saves_inside_it(
    client: AssuredClient,
    api: respx.MockRouter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    missing: str,
) -> None:
    # As the README writes it: `download(id, "copies/")`, relative to the working directory.
    monkeypatch.chdir(tmp_path)
    _download_routes(api, _ok([b"%PDF-", b"1.7"]))
    result = await client.files.download("f-1", missing)
    assert result is not None
    assert result.resolve() == (tmp_path / missing / "invoice.pdf").resolve()
    assert result.read_bytes() == b"%PDF-1.7"
    assert [p.name for p in result.parent.iterdir()] == ["invoice.pdf"]


async def test_download_to_an_existing_directory_as_a_path_object_saves_inside_it(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    (tmp_path / "copies").mkdir()
    _download_routes(api, _ok([b"%PDF-"]))
    result = await client.files.download("f-1", tmp_path / "copies")
    assert result == tmp_path / "copies" / "invoice.pdf"


async def test_failed_download_into_a_new_directory_leaves_no_directory(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    _download_routes(api, _ok([b"%PDF-", b"rest"], fail=True))
    with pytest.raises(AssuredError):
        await client.files.download("f-1", f"{tmp_path}/new/copies/")
    assert list(tmp_path.iterdir()) == []


def test_sync_download_to_a_directory_ending_in_a_separator(
    sync_client: Assured, api: respx.MockRouter, tmp_path: Path
) -> None:
    _download_routes(api, _ok([b"%PDF-"]))
    result = sync_client.files.download("f-1", f"{tmp_path}/copies/")
    assert result == tmp_path / "copies" / "invoice.pdf"
    assert result.read_bytes() == b"%PDF-"


async def test_failed_download_leaves_no_partial_file_and_keeps_the_old_one(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    _download_routes(api, _ok([b"%PDF-", b"rest"], fail=True))
    target = tmp_path / "out.pdf"
    target.write_bytes(b"previous version")
    with pytest.raises(AssuredError):
        await client.files.download("f-1", target)
    assert target.read_bytes() == b"previous version"
    assert list(tmp_path.iterdir()) == [target]


async def test_download_error_from_storage_creates_nothing(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    _download_routes(
        api,
        httpx.Response(404, text="<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>"),
    )
    with pytest.raises(NotFoundError) as info:
        await client.files.download("f-1", tmp_path / "out.pdf")
    assert info.value.code == "NoSuchKey"
    assert list(tmp_path.iterdir()) == []


async def test_download_of_an_s3_uri_presigns_it(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    presign = api.post("/api/v1/files/presign/").mock(
        return_value=httpx.Response(
            200, json={"url": DOWNLOAD, "expires_at": "2026-01-15T10:35:00Z"}
        )
    )
    api.get(DOWNLOAD).mock(return_value=_ok([b"%PDF-"]))
    sink = io.BytesIO()
    assert await client.files.download("s3://assured-files/files/f-1", sink) is None
    assert sink.getvalue() == b"%PDF-"
    assert presign.called


def test_sync_download_and_upload_file(
    sync_client: Assured, api: respx.MockRouter, tmp_path: Path
) -> None:
    _v3_flow(api, [httpx.Response(200, json=file_json())])
    source = tmp_path / "invoice.pdf"
    source.write_bytes(b"%PDF-1.7")
    assert sync_client.files.upload_file(source).status == "available"
    _download_routes(api, _ok([b"%PDF-", b"1.7"]))
    result = sync_client.files.download("f-1", tmp_path / "copy.pdf")
    assert result is not None
    assert result.read_bytes() == b"%PDF-1.7"


def test_sync_list_walks_every_page(sync_client: Assured, api: respx.MockRouter) -> None:
    api.get(FILES).mock(
        side_effect=[
            httpx.Response(200, json={"items": [file_json("a")], "nextCursor": "x"}),
            httpx.Response(200, json={"items": [file_json("b")], "nextCursor": None}),
        ]
    )
    assert [f.id for f in sync_client.files.list()] == ["a", "b"]
