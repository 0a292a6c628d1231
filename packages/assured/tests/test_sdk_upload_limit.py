"""A file over the server's upload limit is refused before a byte is sent or a record made."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import httpx
import pytest
import respx
from sdk_helpers import ACCOUNT_ID, upload_json

from assured import Assured, AssuredClient, AssuredValidationError, FileTooLargeError
from assured._limits import LIMIT_TTL

UPLOAD = "/api/v1/files/handle/"
FILES = f"/v3/accounts/{ACCOUNT_ID}/files"


@pytest.fixture
def small_limit(api: respx.MockRouter) -> respx.Route:
    route: respx.Route = api.routes["limits"]
    return route.mock(return_value=httpx.Response(200, json={"maxSize": 1000}))


async def test_a_v1_upload_over_the_limit_sends_nothing(
    client: AssuredClient, api: respx.MockRouter, small_limit: respx.Route, tmp_path: Path
) -> None:
    upload = api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    path = tmp_path / "huge.pdf"
    path.write_bytes(b"%PDF-" + b"x" * 1996)
    with pytest.raises(FileTooLargeError) as info:
        await client.files.upload(path)
    assert not upload.called
    assert small_limit.calls.last.request.url.path == f"/v3/accounts/{ACCOUNT_ID}/upload-limits"
    error = info.value
    assert (error.size, error.max_size, error.filename) == (2001, 1000, "huge.pdf")
    assert isinstance(error, AssuredValidationError) and isinstance(error, ValueError)
    assert str(error) == (
        "huge.pdf is 2.0 kB (2,001 bytes): over the server's upload limit of 1.0 kB "
        "(1,000 bytes). Nothing was sent."
    )
    assert pickle.loads(pickle.dumps(error)).max_size == 1000
    # At the limit exactly, it goes.
    await client.files.upload(b"%PDF-" + b"x" * 995, filename="fits.pdf")
    assert upload.call_count == 1


async def test_a_v3_upload_over_the_limit_creates_no_file(
    client: AssuredClient, api: respx.MockRouter, small_limit: respx.Route
) -> None:
    create = api.post(FILES).mock(return_value=httpx.Response(500))
    with pytest.raises(FileTooLargeError):
        await client.files.upload_file(b"%PDF-" + b"x" * 2000, file_name="huge.pdf")
    assert not create.called


async def test_the_associating_upload_is_refused_the_same_way(
    client: AssuredClient, api: respx.MockRouter, small_limit: respx.Route
) -> None:
    upload = api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    with pytest.raises(FileTooLargeError):
        await client.provider_profile.upload_and_associate_document(
            provider_id="p-1",
            file_content=b"%PDF-" + b"x" * 2000,
            filename="license.pdf",
            document_name="License",
            document_type="License",
        )
    assert not upload.called


async def test_the_limit_is_asked_once_then_again_after_a_while(
    client: AssuredClient, api: respx.MockRouter, small_limit: respx.Route
) -> None:
    api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    for _ in range(3):
        await client.files.upload(b"%PDF-", filename="a.pdf")
    await client.with_options(timeout=5).files.upload(b"%PDF-", filename="a.pdf")
    assert small_limit.call_count == 1
    assert await client.max_upload_size() == 1000
    client._upload_limit.asked_at = client._upload_limit.asked_at - LIMIT_TTL  # type: ignore[operator]
    await client.files.upload(b"%PDF-", filename="a.pdf")
    assert small_limit.call_count == 2


async def test_a_stream_of_unknown_size_is_sent_and_left_to_the_server(
    client: AssuredClient, api: respx.MockRouter, small_limit: respx.Route
) -> None:
    class Pipe:
        def __init__(self) -> None:
            self._data = io.BytesIO(b"%PDF-" + b"x" * 2000)

        def read(self, size: int) -> bytes:
            return self._data.read(size)

    upload = api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    await client.files.upload(Pipe(), filename="piped.pdf")
    assert upload.called
    assert not small_limit.called


def test_the_sync_client_refuses_too(
    sync_client: Assured, api: respx.MockRouter, small_limit: respx.Route
) -> None:
    upload = api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    with pytest.raises(FileTooLargeError):
        sync_client.files.upload(b"%PDF-" + b"x" * 2000, filename="huge.pdf")
    assert not upload.called
    assert sync_client.max_upload_size() == 1000


@pytest.mark.parametrize(
    "answer", [httpx.Response(404), httpx.Response(200, json={"maxSize": "big"})]
)
async def test_a_server_that_does_not_say_gets_the_upload(
    client: AssuredClient, api: respx.MockRouter, answer: httpx.Response
) -> None:
    api.routes["limits"].mock(return_value=answer)
    upload = api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    await client.files.upload(b"%PDF-" + b"x" * 2000, filename="a.pdf")
    assert upload.called
    assert await client.max_upload_size() is None
