"""A real server on the S3 backend (SeaweedFS): direct uploads, verification, v1, downloads.

Two servers, each with a bucket of its own: one sweeps every half second (nobody calls
``complete`` there), the other practically never, so that ``complete`` is what settles its
files. They must not share a bucket: each would take the other's landing objects for strays.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import httpx
import pytest
from server_helpers import Api, assert_s3_error, make_api, pdf_bytes, png_bytes, sha256

from assured_testing import SeaweedFS, ServerProcess

MAX_UPLOAD = 12 << 20  # room for a v1 upload of two 8 MiB-or-less parts
WAIT = 30.0


def _start(weed: SeaweedFS, base: Path, bucket: str, sweep_interval: str) -> Api:
    weed.create_bucket(bucket)
    env = weed.server_env(bucket) | {
        "ASSURED_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "ASSURED_SWEEP_INTERVAL": sweep_interval,
    }
    proc = ServerProcess(base, env_overrides=env).start()
    try:
        return make_api(proc, proc.new_account("s3"))
    except BaseException:
        proc.stop()
        raise


@pytest.fixture(scope="module")
def servers(
    seaweedfs: SeaweedFS, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Api]]:
    """Both servers, started side by side (each start mostly waits on imports and the CLI)."""
    specs = {"complete": ("assured-api", "3600"), "sweep": ("assured-sweep", "0.5")}
    with ThreadPoolExecutor(len(specs)) as pool:
        futures = {
            name: pool.submit(_start, seaweedfs, tmp_path_factory.mktemp(name), *spec)
            for name, spec in specs.items()
        }
        wait(futures.values())
    apis = {name: future.result() for name, future in futures.items() if not future.exception()}
    try:
        for future in futures.values():
            future.result()  # re-raise a failed start, after the others are in ``apis``
        yield apis
    finally:
        for started in apis.values():
            started.client.close()
            started.server.stop()


@pytest.fixture(scope="module")
def s3_api(servers: dict[str, Api]) -> Api:
    """Settles files only through ``complete`` (its sweep runs at start, then hourly)."""
    return servers["complete"]


@pytest.fixture(scope="module")
def sweep_api(servers: dict[str, Api]) -> Api:
    """Sweeps every 0.5 s; nobody calls ``complete`` there."""
    return servers["sweep"]


@pytest.fixture(scope="module")
def s3_server(s3_api: Api) -> ServerProcess:
    return s3_api.server


def bucket_of(s3_api: Api) -> str:
    return s3_api.server.env_overrides["ASSURED_BUCKET"]


def complete(s3_api: Api, file_id: str) -> httpx.Response:
    return s3_api.client.post(f"{s3_api.files_path}/{file_id}/complete")


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {WAIT}s")


def test_upload_to_the_store_then_complete_makes_the_file_available(
    s3_api: Api, seaweedfs: SeaweedFS
) -> None:
    content = pdf_bytes(300_000)
    ticket = s3_api.created("invoice_2024_001.pdf", "application/pdf")
    file_id, bucket = ticket["id"], bucket_of(s3_api)
    assert ticket["uploadUrl"] == f"{seaweedfs.endpoint}/{bucket}"
    assert ticket["fields"]["key"] == f"uploads/{file_id}"
    assert complete(s3_api, file_id).json()["code"] == "FILE_NOT_READY"

    assert s3_api.post_form(ticket, content, settle=False).status_code == 204
    assert s3_api.get_file(file_id).json()["status"] == "pending"  # S3 cannot tell the server
    for _ in range(2):  # idempotent
        done = complete(s3_api, file_id)
        assert done.status_code == 200, done.text
        file = done.json()
        assert file["status"] == "available"
        assert file["size"] == len(content) and file["sha256"] == sha256(content)
    assert seaweedfs.keys(bucket, f"uploads/{file_id}") == []
    assert seaweedfs.keys(bucket, f"files/{file_id}") == [f"files/{file_id}"]

    url = s3_api.download_url(file_id).json()["url"]
    assert url.startswith(f"{seaweedfs.endpoint}/{bucket}/files/{file_id}?")
    downloaded = httpx.get(url, timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.content == content
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename*=UTF-8''invoice_2024_001.pdf"
    )
    assert downloaded.headers["cache-control"] == "private"


def test_without_complete_the_sweep_makes_the_file_available(
    sweep_api: Api, seaweedfs: SeaweedFS
) -> None:
    content = pdf_bytes(50_000)
    ticket = sweep_api.created()
    assert sweep_api.post_form(ticket, content, settle=False).status_code == 204
    wait_for(lambda: sweep_api.get_file(ticket["id"]).json()["status"] != "pending", "settling")
    file = sweep_api.get_file(ticket["id"]).json()
    assert file["status"] == "available" and file["sha256"] == sha256(content)
    assert seaweedfs.keys(bucket_of(sweep_api), f"uploads/{ticket['id']}") == []


def test_a_mismatching_upload_is_rejected_and_nothing_is_left(
    s3_api: Api, seaweedfs: SeaweedFS
) -> None:
    ticket = s3_api.created("scan.pdf", "application/pdf")
    assert (
        s3_api.post_form(ticket, png_bytes(4000), settle=False).status_code == 204
    )  # S3 cannot look inside
    file = complete(s3_api, ticket["id"]).json()
    assert file["status"] == "rejected" and file["rejectionReason"] == "CONTENT_MISMATCH"
    assert seaweedfs.keys(bucket_of(s3_api), f"uploads/{ticket['id']}") == []
    assert seaweedfs.keys(bucket_of(s3_api), f"files/{ticket['id']}") == []
    assert s3_api.download_url(ticket["id"]).status_code == 409


def test_bytes_over_the_limit_are_rejected_even_if_the_store_took_them(
    s3_api: Api, seaweedfs: SeaweedFS
) -> None:
    ticket = s3_api.created()
    refused = s3_api.post_form(ticket, pdf_bytes(MAX_UPLOAD + 1), settle=False)
    assert refused.status_code == 400 and b"EntityTooLarge" in refused.content
    assert complete(s3_api, ticket["id"]).status_code == 409  # nothing landed
    # A store that does not enforce the policy: the server checks the size itself.
    client = seaweedfs.client()
    try:
        client.put_object(
            Bucket=bucket_of(s3_api), Key=f"uploads/{ticket['id']}", Body=pdf_bytes(MAX_UPLOAD + 1)
        )
    finally:
        client.close()
    file = complete(s3_api, ticket["id"]).json()
    assert file["status"] == "rejected" and file["rejectionReason"] == "FILE_TOO_LARGE"
    assert seaweedfs.keys(bucket_of(s3_api), f"uploads/{ticket['id']}") == []


def test_a_second_upload_after_the_file_settled_is_deleted_by_the_sweep(
    sweep_api: Api, seaweedfs: SeaweedFS
) -> None:
    first, second = pdf_bytes(3000), pdf_bytes(4000)
    ticket = sweep_api.created()
    assert sweep_api.post_form(ticket, first, settle=False).status_code == 204
    wait_for(lambda: sweep_api.get_file(ticket["id"]).json()["status"] == "available", "settling")
    landing = f"uploads/{ticket['id']}"
    assert (
        sweep_api.post_form(ticket, second, settle=False).status_code == 204
    )  # the policy is still valid
    wait_for(lambda: seaweedfs.keys(bucket_of(sweep_api), landing) == [], "the stray's deletion")
    file = sweep_api.get_file(ticket["id"]).json()
    assert file["size"] == len(first) and file["sha256"] == sha256(first)
    url = sweep_api.download_url(ticket["id"]).json()["url"]
    assert httpx.get(url, timeout=30).content == first


def test_a_v1_upload_streams_to_the_store_and_downloads_through_a_presigned_url(
    s3_api: Api, seaweedfs: SeaweedFS
) -> None:
    content = pdf_bytes(9 << 20)  # two parts: 8 MiB and the rest
    response = s3_api.client.post(
        "/api/v1/files/handle/", files={"file": ("license.pdf", content, "application/pdf")}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["sha256"] == sha256(content)
    bucket = bucket_of(s3_api)
    assert created["file_url"] == f"s3://{bucket}/files/{created['id']}"
    assert seaweedfs.keys(bucket, f"files/{created['id']}") == [f"files/{created['id']}"]
    signed = s3_api.client.post("/api/v1/files/presign/", json={"file_url": created["file_url"]})
    assert signed.status_code == 200, signed.text
    downloaded = httpx.get(signed.json()["url"], timeout=30)
    assert downloaded.status_code == 200
    assert sha256(downloaded.content) == sha256(content)


def test_delete_removes_the_object_from_the_store(s3_api: Api, seaweedfs: SeaweedFS) -> None:
    ticket = s3_api.created()
    assert s3_api.post_form(ticket, pdf_bytes(2000), settle=False).status_code == 204
    assert complete(s3_api, ticket["id"]).json()["status"] == "available"
    url = s3_api.download_url(ticket["id"]).json()["url"]
    assert s3_api.client.delete(f"{s3_api.files_path}/{ticket['id']}").status_code == 204
    assert seaweedfs.keys(bucket_of(s3_api), f"files/{ticket['id']}") == []
    assert httpx.get(url, timeout=30).status_code == 404


def test_the_embedded_storage_endpoints_answer_501_on_the_s3_backend(s3_api: Api) -> None:
    ticket = s3_api.created()
    bucket = bucket_of(s3_api)
    base = s3_api.server.base_url
    posted = httpx.post(
        f"{base}/storage/{bucket}",
        data=ticket["fields"],
        files={"file": ("a.pdf", pdf_bytes(), "application/pdf")},
        timeout=10,
    )
    assert_s3_error(posted, 501, "NotImplemented")
    fetched = httpx.get(f"{base}/storage/{bucket}/files/{ticket['id']}?X-Amz-Signature=x")
    assert_s3_error(fetched, 501, "NotImplemented")
    assert httpx.get(f"{base}/readyz").json()["checks"]["storage"] == "ok"


def test_the_log_holds_no_signed_url_and_no_secret(
    s3_server: ServerProcess, seaweedfs: SeaweedFS
) -> None:
    assert s3_server.log_path is not None
    log = s3_server.log_path.read_text(errors="replace")
    assert "X-Amz-Signature" not in log
    assert seaweedfs.secret_key not in log
