"""S3Storage against a real S3 protocol (SeaweedFS): writes, reads, copies, URLs, failures."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.auth
import botocore.signers
import httpx
import pytest

from assured_server.files.ingest import TooLarge, ingest
from assured_server.s3_protocol.sigv4 import Credentials
from assured_server.storage import s3 as s3_module
from assured_server.storage.base import (
    ObjectExists,
    ObjectNotFound,
    PreconditionFailed,
    StorageUnavailable,
)
from assured_server.storage.s3 import MIN_PART_SIZE, S3Storage
from assured_testing import SeaweedFS, free_port

BUCKET = "storage-tests"
MIB = 1 << 20
NOW = datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)
RESPONSE_PARAMS = {
    "response-cache-control": "private",
    "response-content-disposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
    "response-content-type": "application/pdf",
}


@pytest.fixture(scope="module")
def weed(seaweedfs: SeaweedFS) -> SeaweedFS:
    seaweedfs.create_bucket(BUCKET)
    return seaweedfs


@pytest.fixture(scope="module")
async def store(weed: SeaweedFS) -> AsyncIterator[S3Storage]:
    # The smallest part S3 allows, so that multipart uploads need only a few MiB.
    storage = S3Storage(
        weed.endpoint, bucket=BUCKET, credentials=weed.credentials, part_size=MIN_PART_SIZE
    )
    await storage.start()
    yield storage
    await storage.close()


@pytest.fixture(scope="module")
def boto(weed: SeaweedFS) -> Iterator[Any]:
    client = weed.client()
    yield client
    client.close()


def new_key() -> str:
    return f"t/{uuid.uuid4()}"


async def put(store: S3Storage, key: str, data: bytes, chunk: int = MIB, **commit: Any) -> None:
    writer = await store.open_writer(key)
    for start in range(0, len(data), chunk):
        await writer.write(data[start : start + chunk])
    await writer.commit(**commit)


async def read_all(store: S3Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


def open_uploads(boto: Any, key: str) -> list[str]:
    page = boto.list_multipart_uploads(Bucket=BUCKET, Prefix=key)
    return [upload["UploadId"] for upload in page.get("Uploads", [])]


async def test_a_small_object_is_one_put_and_reads_back(store: S3Storage, boto: Any) -> None:
    key, data = new_key(), b"%PDF-1.7 small body"
    await put(store, key, data, chunk=4)
    info = await store.head(key)
    assert info.size == len(data)
    assert info.etag == f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324 - S3's single-PUT ETag
    assert await read_all(store, key) == data
    assert open_uploads(boto, key) == []


async def test_a_large_object_goes_up_in_parts_and_reads_back(store: S3Storage) -> None:
    key, data = new_key(), os.urandom(2 * MIN_PART_SIZE + 123)
    await put(store, key, data)
    info = await store.head(key)
    assert info.size == len(data)
    assert info.etag.endswith('-3"'), info.etag  # three parts: 5 MiB, 5 MiB, the rest
    assert hashlib.sha256(await read_all(store, key)).digest() == hashlib.sha256(data).digest()


async def test_abort_leaves_no_object_and_no_parts(store: S3Storage, boto: Any) -> None:
    key = new_key()
    writer = await store.open_writer(key)
    await writer.write(os.urandom(MIN_PART_SIZE + 1))  # one part is up now
    assert len(open_uploads(boto, key)) == 1
    await writer.abort()
    await writer.abort()
    with pytest.raises(ObjectNotFound):
        await store.head(key)
    assert open_uploads(boto, key) == []


async def test_an_upload_refused_midway_is_aborted_in_the_store(
    store: S3Storage, boto: Any
) -> None:
    key = new_key()

    async def body() -> AsyncIterator[bytes]:
        yield b"%PDF-1.7\n"
        for _ in range(8):
            yield os.urandom(MIB)

    with pytest.raises(TooLarge):
        await ingest(store, key, body(), content_type="application/pdf", max_bytes=7 * MIB)
    with pytest.raises(ObjectNotFound):
        await store.head(key)
    assert open_uploads(boto, key) == []


@pytest.mark.parametrize("size", [1000, MIN_PART_SIZE + 1000], ids=["put", "multipart"])
async def test_commit_never_replaces_an_existing_object(
    store: S3Storage, boto: Any, size: int
) -> None:
    key, first = new_key(), os.urandom(size)
    await put(store, key, first)
    with pytest.raises(ObjectExists):
        await put(store, key, os.urandom(size))
    assert await read_all(store, key) == first
    assert open_uploads(boto, key) == []
    replacement = os.urandom(size)
    await put(store, key, replacement, overwrite=True)
    assert await read_all(store, key) == replacement


async def test_ranged_reads_return_exactly_the_range(store: S3Storage) -> None:
    key, data = new_key(), os.urandom(300_000)
    await put(store, key, data)
    assert await read_all(store, key, 10, 99) == data[10:100]
    assert await read_all(store, key, 0, 0) == data[:1]
    assert await read_all(store, key, 299_990) == data[299_990:]


async def test_a_missing_key_is_object_not_found(store: S3Storage) -> None:
    with pytest.raises(ObjectNotFound):
        await store.head(new_key())
    with pytest.raises(ObjectNotFound):
        await read_all(store, new_key())


async def test_a_read_pinned_to_an_etag_refuses_another_version(store: S3Storage) -> None:
    key = new_key()
    await put(store, key, b"first")
    old = await store.head(key)
    await put(store, key, b"second", overwrite=True)
    with pytest.raises(PreconditionFailed):
        await read_all_pinned(store, key, old.etag)
    current = await store.head(key)
    assert await read_all_pinned(store, key, current.etag) == b"second"


async def read_all_pinned(store: S3Storage, key: str, etag: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, if_match=etag)])


async def test_delete_removes_the_object_and_ignores_a_missing_one(store: S3Storage) -> None:
    key = new_key()
    await put(store, key, b"bytes")
    await store.delete(key)
    with pytest.raises(ObjectNotFound):
        await store.head(key)
    await store.delete(key)


async def test_copy_moves_only_the_named_version_and_never_overwrites(store: S3Storage) -> None:
    src, dst = new_key(), new_key()
    await put(store, src, b"verified bytes")
    verified = await store.head(src)
    await put(store, src, b"a later upload", overwrite=True)
    with pytest.raises(PreconditionFailed):
        await store.copy(src, dst, if_match_etag=verified.etag)
    with pytest.raises(ObjectNotFound):
        await store.head(dst)
    current = await store.head(src)
    await store.copy(src, dst, if_match_etag=current.etag)
    assert await read_all(store, dst) == b"a later upload"
    with pytest.raises(ObjectExists):
        await store.copy(src, dst, if_match_etag=current.etag)
    with pytest.raises(ObjectNotFound):
        await store.copy(new_key(), new_key(), if_match_etag=current.etag)


async def test_list_objects_names_the_keys_under_a_prefix(store: S3Storage) -> None:
    prefix = f"list-{uuid.uuid4()}/"
    for name in ("b", "a", "c"):
        await put(store, prefix + name, name.encode())
    listed = await store.list_objects(prefix, limit=2)
    assert [info.key for info in listed] == [prefix + "a", prefix + "b"]
    assert listed[0].size == 1
    assert await store.list_objects(f"none-{uuid.uuid4()}/", limit=10) == []


async def test_sweep_temps_aborts_stale_multipart_uploads(
    store: S3Storage, boto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    boto.create_multipart_upload(Bucket=BUCKET, Key=key)
    await store.sweep_temps()
    assert len(open_uploads(boto, key)) == 1  # a fresh upload may belong to a live writer
    monkeypatch.setattr(s3_module, "STALE_UPLOAD", timedelta(seconds=-60))
    assert await store.sweep_temps() >= 1
    assert open_uploads(boto, key) == []


async def test_the_presigned_get_serves_the_object_with_the_response_headers(
    store: S3Storage,
) -> None:
    key, data = new_key(), b"%PDF-1.7 presigned"
    await put(store, key, data)
    now = datetime.now(UTC).replace(microsecond=0)
    url = store.presign_get(key, expires_in=60, response_params=RESPONSE_PARAMS, now=now)
    assert url.startswith(f"{store.endpoint}/{BUCKET}/{key}?")
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert (
        response.headers["content-disposition"] == RESPONSE_PARAMS["response-content-disposition"]
    )
    assert response.headers["cache-control"] == "private"
    assert httpx.head(url, timeout=10).status_code == 403  # the signature covers the method
    tampered = url.replace("response-cache-control=private", "response-cache-control=public")
    assert httpx.get(tampered, timeout=10).status_code == 403


def test_the_presigned_get_equals_boto3s_for_a_frozen_clock(
    store: S3Storage, boto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def clock(remove_tzinfo: bool = True) -> datetime:
        return NOW.replace(tzinfo=None) if remove_tzinfo else NOW

    monkeypatch.setattr(botocore.auth, "get_current_datetime", clock)
    monkeypatch.setattr(botocore.signers, "get_current_datetime", clock)
    key = "files/0192aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee"
    theirs = boto.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": BUCKET,
            "Key": key,
            "ResponseCacheControl": RESPONSE_PARAMS["response-cache-control"],
            "ResponseContentDisposition": RESPONSE_PARAMS["response-content-disposition"],
            "ResponseContentType": RESPONSE_PARAMS["response-content-type"],
        },
        ExpiresIn=300,
    )
    ours = store.presign_get(key, expires_in=300, response_params=RESPONSE_PARAMS, now=NOW)
    assert ours == theirs


def _post(url: str, fields: dict[str, str], content: bytes) -> httpx.Response:
    return httpx.post(
        url, data=fields, files={"file": ("a.pdf", content, "application/pdf")}, timeout=10
    )


async def test_seaweedfs_accepts_our_post_policy_and_refuses_a_tampered_one(
    store: S3Storage,
) -> None:
    key = f"uploads/{uuid.uuid4()}"
    now = datetime.now(UTC).replace(microsecond=0)
    post = store.presign_post(
        key, content_type="application/pdf", max_size=1000, expires_in=300, now=now
    )
    assert post.url == f"{store.endpoint}/{BUCKET}"
    for name, value in (
        ("key", f"uploads/{uuid.uuid4()}"),
        ("Content-Type", "image/png"),
        ("Policy", post.fields["Policy"][:-4] + "AAAA"),
        ("x-amz-meta-extra", "not in the policy"),
    ):
        refused = _post(post.url, {**post.fields, name: value}, b"%PDF-1.7")
        assert refused.status_code == 403, (name, refused.text)
    too_large = _post(post.url, post.fields, b"%PDF-1.7" + bytes(1000))
    assert too_large.status_code == 400 and b"EntityTooLarge" in too_large.content
    with pytest.raises(ObjectNotFound):
        await store.head(key)
    accepted = _post(post.url, post.fields, b"%PDF-1.7 direct")
    assert accepted.status_code == 204, accepted.text
    assert await read_all(store, key) == b"%PDF-1.7 direct"


def test_the_store_refuses_unsigned_and_wrongly_signed_requests(weed: SeaweedFS, boto: Any) -> None:
    boto.put_object(Bucket=BUCKET, Key="t/signed", Body=b"x")
    assert weed.unsigned_get(BUCKET, "t/signed").status_code == 403
    wrong = weed.client(secret="not-the-secret")
    try:
        with pytest.raises(wrong.exceptions.ClientError, match="SignatureDoesNotMatch"):
            wrong.get_object(Bucket=BUCKET, Key="t/signed")
    finally:
        wrong.close()


async def test_a_missing_bucket_fails_the_ping(weed: SeaweedFS) -> None:
    storage = S3Storage(weed.endpoint, bucket="no-such-bucket", credentials=weed.credentials)
    try:
        with pytest.raises(StorageUnavailable):
            await storage.ping()
    finally:
        await storage.close()


async def test_an_unreachable_store_is_storage_unavailable_quickly(weed: SeaweedFS) -> None:
    storage = S3Storage(
        f"http://127.0.0.1:{free_port()}",
        bucket=BUCKET,
        credentials=weed.credentials,
        connect_timeout=1.0,
        read_timeout=2.0,
        max_attempts=1,
    )
    started = time.monotonic()
    try:
        with pytest.raises(StorageUnavailable):
            await storage.ping()
        with pytest.raises(StorageUnavailable):
            await storage.head("t/x")
        with pytest.raises(StorageUnavailable):
            await read_all(storage, "t/x")
        writer = await storage.open_writer("t/x")
        await writer.write(b"%PDF-")
        with pytest.raises(StorageUnavailable):
            await writer.commit()
    finally:
        await storage.close()
    assert time.monotonic() - started < 10


async def test_small_writes_skip_the_head_once_the_store_refuses_conditional_puts(
    weed: SeaweedFS, boto: Any
) -> None:
    storage = S3Storage(weed.endpoint, bucket=BUCKET, credentials=weed.credentials)
    await storage.start()
    try:
        client = await storage.client()
        sent: list[str] = []

        def count(**kwargs: Any) -> None:
            sent.append(kwargs["model"].name)

        client.meta.events.register("before-call.s3", count)
        first = new_key()
        await put(storage, first, b"one")
        # SeaweedFS refuses a second If-None-Match PUT: learnt once, with a probe of its own.
        assert not await storage.put_checks_first()
        assert "HeadObject" not in sent
        listed = boto.list_objects_v2(Bucket=BUCKET, Prefix=s3_module.PROBE_PREFIX)
        assert listed.get("KeyCount", 0) == 0, "the probe object is deleted"
        sent.clear()
        await put(storage, new_key(), b"two")
        assert sent == ["PutObject"]
        # The PUT itself still refuses to replace an object.
        with pytest.raises(ObjectExists):
            await put(storage, first, b"other")
        assert await read_all(storage, first) == b"one"
        assert "HeadObject" not in sent
    finally:
        await storage.close()


async def test_a_probe_that_cannot_tell_keeps_the_head_and_waits_before_asking_again() -> None:
    # Nothing listens there: the store is down.
    down = S3Storage(
        f"http://127.0.0.1:{free_port()}",
        bucket=BUCKET,
        credentials=Credentials("k", "s", "us-east-1"),
        connect_timeout=1,
    )
    try:
        assert await down.put_checks_first()
        assert down._put_refuses_existing is None
        asked_at = down._probe_not_before
        assert asked_at > time.monotonic()
        # Within the back-off no write probes (or waits for a probe) again.
        assert await down.put_checks_first()
        assert down._probe_not_before == asked_at
    finally:
        await down.close()


async def test_a_store_that_refuses_the_probe_outright_keeps_the_head_for_good(
    weed: SeaweedFS,
) -> None:
    wrong = weed.credentials
    refused = S3Storage(
        weed.endpoint,
        bucket=BUCKET,
        credentials=Credentials(wrong.access_key_id, "not-the-secret", wrong.region),
    )
    try:
        assert await refused.put_checks_first()
        assert refused._put_refuses_existing is False
    finally:
        await refused.close()
