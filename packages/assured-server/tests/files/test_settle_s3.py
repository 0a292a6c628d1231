"""Settling direct uploads on a real S3 protocol (SeaweedFS): races, strays, empty objects."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from assured_server.auth.accounts import create_account
from assured_server.clock import utcnow
from assured_server.config import Settings
from assured_server.db.migrate import migrate
from assured_server.db.models import StoredFile
from assured_server.files import lifecycle
from assured_server.files.records import landing_key, storage_key
from assured_server.files.sweeper import Sweeper
from assured_server.services import Services
from assured_testing import SeaweedFS

BUCKET = "settle-tests"
LIMIT = 1 << 20
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


@pytest.fixture(scope="module")
def weed(seaweedfs: SeaweedFS) -> SeaweedFS:
    seaweedfs.create_bucket(BUCKET)
    return seaweedfs


@pytest.fixture(scope="module")
def boto(weed: SeaweedFS) -> Iterator[Any]:
    client = weed.client()
    yield client
    client.close()


@pytest.fixture
async def svc(tmp_path: Path, weed: SeaweedFS) -> AsyncIterator[Services]:
    env = weed.server_env(BUCKET)
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret="x" * 48,
        storage_backend="s3",
        s3_endpoint_url=env["ASSURED_S3_ENDPOINT_URL"],
        s3_access_key_id=weed.access_key,
        s3_secret_access_key=weed.secret_key,
        bucket=BUCKET,
        max_upload_bytes=LIMIT,
    )
    services = Services.build(settings)
    await migrate(services.db)
    await services.storage.start()
    yield services
    await services.close()


async def pending(svc: Services) -> StoredFile:
    account = await create_account(svc.stores.accounts, "settle")
    row = lifecycle.new_row(
        lifecycle.NewFile(account.id, "a.pdf", "application/pdf", "v3", 86400),
        now=utcnow(),
        upload_window=900,
    )
    async with svc.db.write() as session:
        session.add(row)
    return row


async def current(svc: Services, file_id: str) -> StoredFile | None:
    async with svc.db.read() as session:
        return await session.get(StoredFile, file_id)


def keys(boto: Any, file_id: str) -> list[str]:
    found = []
    for key in (landing_key(file_id), storage_key(file_id)):
        page = boto.list_objects_v2(Bucket=BUCKET, Prefix=key)
        found += [item["Key"] for item in page.get("Contents", [])]
    return found


async def test_concurrent_settles_move_the_upload_exactly_once(svc: Services, boto: Any) -> None:
    row = await pending(svc)
    boto.put_object(Bucket=BUCKET, Key=landing_key(row.id), Body=PDF)
    results: list[bool] = []

    async def settle() -> None:
        results.append(
            await lifecycle.settle_pending(svc.stores.files, svc.storage, row, max_bytes=LIMIT)
        )

    async with anyio.create_task_group() as tasks:
        for _ in range(3):
            tasks.start_soon(settle)
    assert results == [True, True, True]
    done = await current(svc, row.id)
    assert done is not None and done.status == "available"
    assert done.sha256 == hashlib.sha256(PDF).hexdigest() and done.size == len(PDF)
    assert keys(boto, row.id) == [storage_key(row.id)]


async def test_a_landing_after_the_file_settled_never_replaces_it(svc: Services, boto: Any) -> None:
    row = await pending(svc)  # the in-memory row stays "pending", as a slow settler's would
    boto.put_object(Bucket=BUCKET, Key=landing_key(row.id), Body=PDF)
    assert await lifecycle.settle_pending(svc.stores.files, svc.storage, row, max_bytes=LIMIT)
    boto.put_object(Bucket=BUCKET, Key=landing_key(row.id), Body=b"%PDF-1.7 another")
    assert await lifecycle.settle_pending(svc.stores.files, svc.storage, row, max_bytes=LIMIT)
    body = boto.get_object(Bucket=BUCKET, Key=storage_key(row.id))["Body"].read()
    assert body == PDF
    assert keys(boto, row.id) == [storage_key(row.id)]
    done = await current(svc, row.id)
    assert done is not None and done.sha256 == hashlib.sha256(PDF).hexdigest()


async def test_an_empty_landing_object_is_no_upload(svc: Services, boto: Any) -> None:
    row = await pending(svc)
    boto.put_object(Bucket=BUCKET, Key=landing_key(row.id), Body=b"")
    assert not await lifecycle.settle_pending(svc.stores.files, svc.storage, row, max_bytes=LIMIT)
    assert keys(boto, row.id) == []
    done = await current(svc, row.id)
    assert done is not None and done.status == "pending"


async def test_the_sweep_settles_landings_and_deletes_those_of_deleted_files(
    svc: Services, boto: Any
) -> None:
    kept, deleted = await pending(svc), await pending(svc)
    assert await lifecycle.delete_file(
        svc.stores.files, svc.storage, deleted.account_id, deleted.id
    )
    for row in (kept, deleted):
        boto.put_object(Bucket=BUCKET, Key=landing_key(row.id), Body=PDF)
    counts = await Sweeper(svc.db, svc.storage, 60, max_upload_bytes=LIMIT).sweep_once()
    assert counts["settled_or_dropped"] >= 1
    settled = await current(svc, kept.id)
    assert settled is not None and settled.status == "available"
    assert keys(boto, kept.id) == [storage_key(kept.id)]
    assert keys(boto, deleted.id) == []
