"""Resumable uploads (tus 1.0.0) with the stock ``tuspy`` client against a real server, on both
deployments: full and resumed uploads, a SIGKILL after a 204, and every protocol error."""

from __future__ import annotations

import base64
import hashlib
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from server_helpers import (
    Api,
    in_database,
    is_s3,
    make_api,
    own_server,
    pdf_bytes,
    png_bytes,
    sha256,
    stored_objects,
    wait_until,
)
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from assured_server.db.models import ResumableUpload
from assured_testing import ServerProcess

MAX = 24 << 20
TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_STREAM = {**TUS, "Content-Type": "application/offset+octet-stream"}


@pytest.fixture(scope="module")
def tus_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: dict[str, str],
) -> Iterator[ServerProcess]:
    """A server of this module, sweeping four times a second, with a 24 MiB limit."""
    env = {"ASSURED_MAX_UPLOAD_BYTES": str(MAX), "ASSURED_SWEEP_INTERVAL": "0.25"}
    with own_server(
        request, tmp_path_factory.mktemp("tus"), backend, env, bucket_prefix="tus"
    ) as proc:
        yield proc


@pytest.fixture(scope="module")
def tus_api(tus_server: ServerProcess) -> Iterator[Api]:
    """An account on the module's server."""
    api = make_api(tus_server, tus_server.new_account("tus"))
    yield api
    api.client.close()


def bucket_client(server: ServerProcess) -> Any:
    """A boto3 client of the server's S3 store."""
    import boto3
    from botocore.config import Config

    env = server.env_overrides
    return boto3.client(
        "s3",
        endpoint_url=env["ASSURED_S3_ENDPOINT_URL"],
        region_name=env["ASSURED_S3_REGION"],
        aws_access_key_id=env["ASSURED_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["ASSURED_S3_SECRET_ACCESS_KEY"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def endpoint(api: Api) -> str:
    """The tus endpoint of the account."""
    return f"{api.server.base_url}/v3/accounts/{api.account_id}/tus"


def tus(api: Api) -> tus_client.TusClient:
    """A stock tuspy client with the account's token."""
    token = api.client.headers["Authorization"]
    return tus_client.TusClient(endpoint(api), headers={"Authorization": token})


def meta(**values: str) -> str:
    """An ``Upload-Metadata`` header."""
    return ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in values.items()
    )


def create(api: Api, length: int, **metadata: str) -> httpx.Response:
    """``POST`` a new upload (a PDF unless the metadata says otherwise)."""
    values = {"filename": "scan.pdf", "contentType": "application/pdf", **metadata}
    headers = {**TUS, "Upload-Length": str(length), "Upload-Metadata": meta(**values)}
    return api.client.post(endpoint(api), headers=headers)


def patch(api: Api, url: str, offset: int, body: Any, **headers: str) -> httpx.Response:
    """``PATCH`` bytes at ``offset``."""
    return api.client.patch(
        url, headers={**OFFSET_STREAM, "Upload-Offset": str(offset), **headers}, content=body
    )


def head_offset(api: Api, url: str) -> int:
    """The offset the server reports."""
    response = api.client.head(url, headers=TUS)
    assert response.status_code == 200, response.status_code
    return int(response.headers["Upload-Offset"])


def tus_objects(server: ServerProcess, file_id: str = "") -> list[str]:
    """Stored segments of unfinished uploads (of ``file_id`` only, when given)."""
    return [
        str(path)
        for path in stored_objects(server)
        if ("tus" in path.parts or "multipart:tus" in str(path)) and file_id in str(path)
    ]


def downloaded(api: Api, file_id: str) -> bytes:
    """The bytes of an available file, through a download URL."""
    url = api.download_url(file_id).json()["url"]
    return httpx.get(url, timeout=30).content


def test_discovery_then_a_full_upload_by_tuspy_becomes_the_verified_file(tus_api: Api) -> None:
    options = tus_api.client.options(endpoint(tus_api))
    assert options.status_code == 204
    assert options.headers["Tus-Version"] == "1.0.0"
    assert options.headers["Tus-Resumable"] == "1.0.0"
    assert options.headers["Tus-Max-Size"] == str(MAX)
    assert options.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert set(options.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "expiration",
        "checksum",
        "termination",
    }
    # 13 MiB in 3 MiB chunks: segments are rewritten under 5 MiB and then start anew.
    data = pdf_bytes(13 << 20)
    uploader = tus(tus_api).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=3 << 20,
        metadata={"filename": "big.pdf", "filetype": "application/pdf", "other": "ignored"},
        upload_checksum=True,
    )
    uploader.upload()
    assert uploader.url is not None
    file_id = uploader.url.rsplit("/", 1)[1]
    file = tus_api.get_file(file_id).json()
    assert file["status"] == "available", file
    assert file["size"] == len(data)
    assert file["sha256"] == sha256(data)
    assert file["fileName"] == "big.pdf"
    assert downloaded(tus_api, file_id) == data
    assert tus_objects(tus_api.server, file_id) == []
    # A finished upload takes no more bytes.
    assert patch(tus_api, uploader.url, len(data), b"x").status_code == 404


def test_an_upload_resumes_after_a_dropped_connection(tus_api: Api) -> None:
    data = pdf_bytes(3 << 20)
    created = create(tus_api, len(data))
    assert created.status_code == 201, created.text
    url = endpoint(tus_api) + "/" + created.headers["Location"].rsplit("/", 1)[1]
    assert created.headers["Tus-Resumable"] == "1.0.0"
    assert "Upload-Expires" in created.headers
    assert patch(tus_api, url, 0, data[: 1 << 20]).status_code == 204

    def cut() -> Iterator[bytes]:
        yield data[1 << 20 : (1 << 20) + 65536]
        raise ConnectionResetError("the network went away")

    with pytest.raises(ConnectionResetError):
        patch(tus_api, url, 1 << 20, cut(), **{"Content-Length": str(1 << 20)})
    # What the cut request brought is not acknowledged, and once the server has seen the
    # connection go, its hold on the upload is given back (a PATCH at a wrong offset is then
    # 409, not 423): the stock client resumes from HEAD.
    wait_until(lambda: patch(tus_api, url, 0, b"").status_code == 409, timeout=30)
    assert head_offset(tus_api, url) == 1 << 20
    uploader = tus(tus_api).uploader(file_stream=io.BytesIO(data), url=url, chunk_size=1 << 20)
    assert uploader.offset == 1 << 20
    uploader.upload()
    file = tus_api.get_file(url.rsplit("/", 1)[1]).json()
    assert (file["status"], file["sha256"]) == ("available", sha256(data))


def test_an_acknowledged_offset_survives_sigkill_and_the_upload_resumes_intact(
    tus_api: Api,
) -> None:
    data = png_bytes(7 << 20)
    uploader = tus(tus_api).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=2 << 20,
        metadata={"filename": "photo.png", "contentType": "image/png"},
    )
    uploader.upload_chunk()
    uploader.upload_chunk()
    acknowledged = uploader.offset
    assert acknowledged == 4 << 20
    server = tus_api.server
    server.kill()
    server.start()
    url = uploader.url
    assert url is not None
    # The lease of the killed writer does not stand in the way, and nothing acknowledged is lost.
    assert head_offset(tus_api, url) >= acknowledged
    resumed = tus(tus_api).uploader(file_stream=io.BytesIO(data), url=url, chunk_size=2 << 20)
    resumed.upload()
    file_id = url.rsplit("/", 1)[1]
    file = tus_api.get_file(file_id).json()
    assert (file["status"], file["sha256"], file["size"]) == ("available", sha256(data), len(data))
    assert downloaded(tus_api, file_id) == data


def test_protocol_errors_have_their_codes_and_keep_nothing(tus_api: Api) -> None:
    api = tus_api
    data = pdf_bytes(4096)
    created = create(api, len(data))
    url = endpoint(api) + "/" + created.headers["Location"].rsplit("/", 1)[1]
    assert patch(api, url, 0, data[:1000]).status_code == 204
    # Offset off by one either way: 409, nothing kept.
    for wrong in (999, 1001):
        response = patch(api, url, wrong, data[1000:2000])
        assert response.status_code == 409
        assert response.json()["code"] == "OFFSET_MISMATCH"
        assert response.headers["Tus-Resumable"] == "1.0.0"
    # A checksum that does not match: 460, the offset unchanged.
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    response = patch(api, url, 1000, data[1000:2000], **{"Upload-Checksum": f"sha256 {bad}"})
    assert response.status_code == 460
    assert response.json()["code"] == "CHECKSUM_MISMATCH"
    assert head_offset(api, url) == 1000
    good = base64.b64encode(hashlib.sha1(data[1000:2000]).digest()).decode()
    response = patch(api, url, 1000, data[1000:2000], **{"Upload-Checksum": f"sha1 {good}"})
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "2000"
    response = patch(api, url, 2000, b"x", **{"Upload-Checksum": "md5 AAAA"})
    assert response.status_code == 400
    # Bytes past Upload-Length: 400 and nothing of the request kept.
    response = patch(api, url, 2000, data[2000:] + b"more")
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_REQUEST")
    assert head_offset(api, url) == 2000
    # Headers of the protocol.
    missing = api.client.patch(
        url, headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "2000"}
    )
    assert missing.status_code == 412
    assert missing.headers["Tus-Version"] == "1.0.0"
    wrong_type = api.client.patch(
        url, headers={**TUS, "Content-Type": "application/json", "Upload-Offset": "2000"}
    )
    assert wrong_type.status_code == 415
    # X-HTTP-Method-Override: a POST that is a PATCH finishes the upload.
    response = api.client.post(
        url,
        headers={**OFFSET_STREAM, "Upload-Offset": "2000", "X-HTTP-Method-Override": "PATCH"},
        content=data[2000:],
    )
    assert response.status_code == 204, response.text
    assert api.get_file(url.rsplit("/", 1)[1]).json()["sha256"] == sha256(data)
    # Creation: the v3 create's validation and codes, JSON bodies.
    for metadata, status, code in (
        ({"filename": ""}, 400, "MISSING_FIELDS"),
        ({"contentType": ""}, 400, "MISSING_FIELDS"),
        ({"filename": "a/b.pdf"}, 400, "INVALID_FILENAME"),
        ({"filename": "scan.png"}, 400, "INVALID_CONTENT_TYPE"),
        ({"expiration": "5x"}, 400, "INVALID_EXPIRATION"),
        ({"description": "d" * 1001}, 400, "INVALID_REQUEST"),
    ):
        response = create(api, 10, **metadata)
        assert (response.status_code, response.json()["code"]) == (status, code), metadata
        assert response.headers["Tus-Resumable"] == "1.0.0"
    too_large = create(api, MAX + 1)
    assert (too_large.status_code, too_large.json()["code"]) == (413, "FILE_TOO_LARGE")
    deferred = api.client.post(
        endpoint(api),
        headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": meta(filename="a.pdf")},
    )
    assert deferred.status_code == 400
    # Another account's upload is not found; a path of another account is forbidden.
    other = make_api(api.server, api.server.new_account("intruder"))
    try:
        assert other.client.head(url, headers=TUS).status_code == 403
        intruding_url = f"{endpoint(other)}/{url.rsplit('/', 1)[1]}"
        assert other.client.head(intruding_url, headers=TUS).status_code == 404
        assert patch(other, intruding_url, 0, b"%PDF-").status_code == 404
        assert other.client.post(endpoint(api), headers=TUS).status_code == 403
    finally:
        other.client.close()


def test_creation_with_upload_and_a_type_mismatch_rejects_the_file(tus_api: Api) -> None:
    api = tus_api
    data = png_bytes(5000)
    headers = {
        **OFFSET_STREAM,
        "Upload-Length": str(len(data)),
        "Upload-Metadata": meta(filename="p.png", contentType="image/png"),
    }
    created = api.client.post(endpoint(api), headers=headers, content=data[:100])
    assert created.status_code == 201
    assert created.headers["Upload-Offset"] == "100"
    file_id = created.headers["Location"].rsplit("/", 1)[1]
    # A PDF declared, PNG bytes sent: rejected on the first bytes, nothing kept.
    pdf_declared = api.client.post(
        endpoint(api),
        headers=headers
        | {"Upload-Metadata": meta(filename="d.pdf", contentType="application/pdf")},
        content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000,
    )
    assert (pdf_declared.status_code, pdf_declared.json()["code"]) == (400, "CONTENT_MISMATCH")
    rejected = [
        f
        for f in api.client.get(api.files_path, params={"status": "rejected"}).json()["items"]
        if f["fileName"] == "d.pdf"
    ]
    assert rejected and rejected[0]["rejectionReason"] == "CONTENT_MISMATCH"
    # Termination: the bytes and the File go.
    url = f"{endpoint(api)}/{file_id}"
    assert api.client.delete(url, headers=TUS).status_code == 204
    assert api.client.head(url, headers=TUS).status_code == 404
    assert api.get_file(file_id).status_code == 404
    wait_until(lambda: tus_objects(api.server, file_id) == [])


def test_one_writer_at_a_time_gets_the_upload_others_423(tus_api: Api) -> None:
    api = tus_api
    data = pdf_bytes(1 << 20)
    created = create(api, len(data))
    url = endpoint(api) + "/" + created.headers["Location"].rsplit("/", 1)[1]
    started, go_on = threading.Event(), threading.Event()
    results: list[int] = []

    def slow() -> Iterator[bytes]:
        yield data[:65536]
        started.set()
        assert go_on.wait(30)
        yield data[65536:131072]

    def first() -> None:
        with httpx.Client(headers=api.client.headers, timeout=60) as client:
            results.append(
                client.patch(
                    url, headers={**OFFSET_STREAM, "Upload-Offset": "0"}, content=slow()
                ).status_code
            )

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(30)

        file_id = url.rsplit("/", 1)[1]

        async def writer_until(session: AsyncSession) -> object:
            row = await session.get(ResumableUpload, file_id)
            return None if row is None else row.writer_until

        # Watched in the database, not by asking the API: a request that asked would take the
        # upload's lease for a moment itself, and could be the one the first request meets.
        wait_until(lambda: in_database(api.server, writer_until) is not None, timeout=30)
        response = patch(api, url, 0, data[:10])
        assert (response.status_code, response.json()["code"]) == (423, "UPLOAD_LOCKED")
        assert api.client.delete(url, headers=TUS).status_code == 423
    finally:
        go_on.set()
        thread.join(60)
    assert results == [204]
    assert head_offset(api, url) == 131072


def test_an_unfinished_upload_expires_and_the_sweep_removes_its_bytes_and_file(
    tus_api: Api,
) -> None:
    api = tus_api
    data = pdf_bytes(6 << 20)
    created = create(api, len(data))
    file_id = created.headers["Location"].rsplit("/", 1)[1]
    url = f"{endpoint(api)}/{file_id}"
    assert patch(api, url, 0, data[: 1 << 20]).status_code == 204
    assert tus_objects(api.server, file_id)
    if is_s3(api.server):
        # What a writer that died mid-segment leaves behind: an open multipart upload.
        s3 = bucket_client(api.server)
        key = f"tus/{file_id}/{1 << 20:020d}"
        s3.create_multipart_upload(Bucket=api.server.env_overrides["ASSURED_BUCKET"], Key=key)
        s3.close()
        assert any("multipart:" in name for name in tus_objects(api.server, file_id))

    async def expire(session: AsyncSession) -> None:
        await session.execute(
            update(ResumableUpload)
            .where(ResumableUpload.file_id == file_id)
            .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )

    in_database(api.server, expire)
    wait_until(lambda: api.get_file(file_id).status_code == 404)
    assert api.client.head(url, headers=TUS).status_code in (404, 410)
    assert tus_objects(api.server, file_id) == []


def test_tuspy_reports_a_refused_upload(tus_api: Api) -> None:
    """A stock client sees the 400 of a type mismatch as a failed upload."""
    uploader = tus(tus_api).uploader(
        file_stream=io.BytesIO(b"not a pdf at all" * 100),
        chunk_size=1 << 20,
        metadata={"filename": "fake.pdf", "filetype": "application/pdf"},
    )
    with pytest.raises(TusCommunicationError):
        uploader.upload()
