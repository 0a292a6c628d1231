"""The sweep's reconciliation of storage with the database, on both deployments: SQLite with
the filesystem backend, PostgreSQL with SeaweedFS (a bucket of each test's own).

Orphans are written straight into the store (the data dir, or boto3), and aged by sweeping at a
later ``now``: an S3 object's time cannot be set.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from server_helpers import create_postgres_database, drop_postgres_database

from assured_server.auth.accounts import create_account
from assured_server.clock import utcnow
from assured_server.config import Settings, with_generated_secrets
from assured_server.db.migrate import migrate
from assured_server.db.models import StoredFile
from assured_server.files import lifecycle
from assured_server.files.ingest import ingest
from assured_server.files.orphans import OrphanSweep
from assured_server.files.records import landing_key, storage_key
from assured_server.files.sweeper import UPLOAD_GRACE, Sweeper
from assured_server.metrics import REGISTRY
from assured_server.services import Services
from assured_server.storage.filesystem import FilesystemStorage
from assured_testing import SeaweedFS

PDF = b"%PDF-1.4 orphan"
WINDOW = 900
# Late enough that every object written by the test is older than the window plus its grace.
LATER = timedelta(seconds=WINDOW) + UPLOAD_GRACE + timedelta(minutes=1)


@pytest.fixture(params=["sqlite-filesystem", "postgres-s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite-filesystem":
        yield with_generated_secrets(Settings(data_dir=tmp_path))
        return
    weed: SeaweedFS = request.getfixturevalue("seaweedfs")
    bucket = f"orphans-{secrets.token_hex(4)}"
    weed.create_bucket(bucket)
    url = create_postgres_database()
    yield Settings(
        data_dir=tmp_path,
        database_url=url,
        jwt_secret="x" * 48,
        storage_backend="s3",
        s3_endpoint_url=weed.endpoint,
        s3_access_key_id=weed.access_key,
        s3_secret_access_key=weed.secret_key,
        bucket=bucket,
    )
    drop_postgres_database(url)


@pytest.fixture
async def svc(settings: Settings) -> AsyncIterator[Services]:
    services = Services.build(settings)
    await migrate(services.db)
    await services.storage.start()
    yield services
    await services.close()


class Raw:
    """The store seen from outside the server: the data dir, or boto3."""

    def __init__(self, svc: Services, request: pytest.FixtureRequest) -> None:
        self.storage = svc.storage
        self.bucket = svc.settings.bucket
        self.boto: Any = None
        if not isinstance(svc.storage, FilesystemStorage):
            self.boto = request.getfixturevalue("seaweedfs").client()

    def put(self, key: str) -> None:
        if self.boto is not None:
            self.boto.put_object(Bucket=self.bucket, Key=key, Body=PDF)
            return
        assert isinstance(self.storage, FilesystemStorage)
        path = self.storage.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PDF)

    def exists(self, key: str) -> bool:
        if self.boto is not None:
            page = self.boto.list_objects_v2(Bucket=self.bucket, Prefix=key)
            return any(item["Key"] == key for item in page.get("Contents", []))
        assert isinstance(self.storage, FilesystemStorage)
        return self.storage.path_of(key).exists()

    def close(self) -> None:
        if self.boto is not None:
            self.boto.close()


@pytest.fixture
def raw(svc: Services, request: pytest.FixtureRequest) -> Iterator[Raw]:
    store = Raw(svc, request)
    yield store
    store.close()


async def _one(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk


async def _file(svc: Services, status: str = "available") -> StoredFile:
    """A file of the database in ``status``, with its bytes where that status keeps them."""
    account = await create_account(svc.stores.accounts, "orphans")
    row = lifecycle.new_row(
        lifecycle.NewFile(account.id, "a.pdf", "application/pdf", "v3", 86400),
        now=utcnow(),
        upload_window=WINDOW,
    )
    await svc.db.insert(row)
    if status == "available":
        done = await ingest(
            svc.storage,
            storage_key(row.id),
            _one(PDF),
            content_type="application/pdf",
            max_bytes=99,
        )
        assert await lifecycle.mark_available(svc.stores.files, row.id, done)
    elif status in ("expired", "rejected"):
        assert await svc.stores.files.transition(
            row.id, from_status="pending", status=status, purged_at=utcnow()
        )
    return row


def _orphan_sweep(svc: Services, batch: int = 1000) -> OrphanSweep:
    return OrphanSweep(
        svc.db, svc.storage, min_age=timedelta(seconds=WINDOW) + UPLOAD_GRACE, batch=batch
    )


async def _both_prefixes(sweep: OrphanSweep, now: datetime) -> int:
    """One run per prefix (each run looks at one batch of one prefix)."""
    return await sweep.run(now) + await sweep.run(now)


def _swept_orphans() -> float:
    return REGISTRY.get_sample_value("assured_swept_files_total", {"action": "orphans"}) or 0.0


async def test_objects_of_no_file_are_deleted_and_counted(svc: Services, raw: Raw) -> None:
    lost = [storage_key(str(uuid.uuid4())), landing_key(str(uuid.uuid4()))]
    for key in lost:
        raw.put(key)
    before = _swept_orphans()
    sweeper = Sweeper(svc.db, svc.storage, 60, upload_window=WINDOW)
    later = utcnow() + LATER
    counts = [await sweeper.sweep_once(now=later) for _ in range(2)]
    assert sum(c["orphans"] for c in counts) == 2
    assert not any(raw.exists(key) for key in lost)
    assert _swept_orphans() - before == 2


async def test_objects_of_live_files_stay_and_those_of_ended_files_go(
    svc: Services, raw: Raw
) -> None:
    available = await _file(svc)
    landing = await _file(svc, "pending")  # a direct upload not settled yet
    raw.put(landing_key(landing.id))
    unrecorded = await _file(svc, "pending")  # bytes committed, then the process died
    raw.put(storage_key(unrecorded.id))
    expired, rejected = await _file(svc, "expired"), await _file(svc, "rejected")
    raw.put(storage_key(expired.id))  # bytes written after the purge
    raw.put(landing_key(rejected.id))
    deleted = await _file(svc)
    async with svc.db.write() as session:
        gone = await session.get(StoredFile, deleted.id)
        await session.delete(gone)

    assert await _both_prefixes(_orphan_sweep(svc), utcnow() + LATER) == 3
    for key in (storage_key(available.id), landing_key(landing.id), storage_key(unrecorded.id)):
        assert raw.exists(key), key
    for key in (storage_key(expired.id), landing_key(rejected.id), storage_key(deleted.id)):
        assert not raw.exists(key), key


async def test_a_young_orphan_is_kept_until_it_is_older_than_window_and_grace(
    svc: Services, raw: Raw
) -> None:
    key = storage_key(str(uuid.uuid4()))
    raw.put(key)
    sweep = _orphan_sweep(svc)
    almost = utcnow() + timedelta(seconds=WINDOW) + UPLOAD_GRACE - timedelta(minutes=1)
    assert await _both_prefixes(sweep, almost) == 0
    assert raw.exists(key)
    assert await _both_prefixes(sweep, utcnow() + LATER) == 1
    assert not raw.exists(key)


async def test_many_orphans_go_in_bounded_batches_across_sweeps(svc: Services, raw: Raw) -> None:
    live = [await _file(svc) for _ in range(3)]
    lost = [storage_key(str(uuid.uuid4())) for _ in range(12)]
    lost += [landing_key(str(uuid.uuid4())) for _ in range(4)]
    for key in lost:
        raw.put(key)
    sweep = _orphan_sweep(svc, batch=5)
    later = utcnow() + LATER
    per_sweep = []
    for _ in range(12):
        if not any(raw.exists(key) for key in lost):
            break
        per_sweep.append(await sweep.run(later))
    assert not any(raw.exists(key) for key in lost), per_sweep
    assert max(per_sweep) <= 5 and sum(per_sweep) == len(lost)
    assert len(per_sweep) >= 4  # 16 orphans, at most 5 a sweep
    assert all(raw.exists(storage_key(row.id)) for row in live)


async def test_the_walk_goes_on_past_the_objects_it_keeps(svc: Services, raw: Raw) -> None:
    # Files' ids are UUIDv7 (they start with the time); these orphans' keys sort after them, so
    # only a walk that goes on after the last key it saw ever reaches them.
    live = [await _file(svc) for _ in range(7)]
    lost = [storage_key(f"ffffffff-{str(uuid.uuid4())[9:]}") for _ in range(3)]
    for key in lost:
        raw.put(key)
    sweep = _orphan_sweep(svc, batch=3)
    later = utcnow() + LATER
    per_sweep = [await sweep.run(later) for _ in range(4)]
    assert per_sweep == [0, 0, 2, 1]  # keys 1-3, 4-6 (kept), 7-9 (two orphans), 10
    assert not any(raw.exists(key) for key in lost)
    assert all(raw.exists(storage_key(row.id)) for row in live)


async def test_sweepers_of_several_replicas_at_once_delete_only_orphans(
    svc: Services, raw: Raw
) -> None:
    live = [await _file(svc) for _ in range(4)]
    lost = [storage_key(str(uuid.uuid4())) for _ in range(10)]
    for key in lost:
        raw.put(key)
    sweeps = [_orphan_sweep(svc, batch=4) for _ in range(3)]
    later = utcnow() + LATER
    for _ in range(8):
        async with anyio.create_task_group() as tasks:
            for sweep in sweeps:
                tasks.start_soon(sweep.run, later)
    assert not any(raw.exists(key) for key in lost)
    assert all(raw.exists(storage_key(row.id)) for row in live)
