"""The sweeper on a real SQLite database and real files: expiry, purge, stale uploads."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from assured_server.auth.accounts import create_account
from assured_server.clock import utcnow
from assured_server.config import Settings, with_generated_secrets
from assured_server.db.migrate import migrate
from assured_server.db.models import StoredFile
from assured_server.files import lifecycle
from assured_server.files.ingest import ingest
from assured_server.files.records import storage_key
from assured_server.files.sweeper import UPLOAD_GRACE, Sweeper
from assured_server.services import Services
from assured_server.storage.filesystem import FilesystemStorage
from assured_server.stores.files import LEASE


async def _one(chunk: bytes) -> AsyncIterator[bytes]:
    yield chunk


@pytest.fixture
async def svc(tmp_path: Path, private_database: dict[str, str]) -> AsyncIterator[Services]:
    url = private_database.get("ASSURED_DATABASE_URL", "")
    services = Services.build(with_generated_secrets(Settings(data_dir=tmp_path, database_url=url)))
    await migrate(services.db)
    await services.storage.start()
    yield services
    await services.close()


async def _file(
    svc: Services, account_id: str, *, expires_in: int | None, upload: bool
) -> StoredFile:
    row = lifecycle.new_row(
        lifecycle.NewFile(account_id, "a.pdf", "application/pdf", "v3", expires_in),
        now=utcnow(),
        upload_window=900,
    )
    async with svc.db.write() as session:
        session.add(row)
    if upload:
        done = await ingest(
            svc.storage,
            storage_key(row.id),
            _one(b"%PDF-1.4 body"),
            content_type="application/pdf",
            max_bytes=1000,
        )
        assert await lifecycle.mark_available(svc.stores.files, row.id, done)
    return row


async def _status(svc: Services, file_id: str) -> str | None:
    async with svc.db.read() as session:
        row = await session.get(StoredFile, file_id)
    return None if row is None else row.status


async def test_expired_files_are_marked_and_their_bytes_deleted_once(svc: Services) -> None:
    account = await create_account(svc.stores.accounts, "sweep")
    soon = await _file(svc, account.id, expires_in=60, upload=True)
    later = await _file(svc, account.id, expires_in=3600, upload=True)
    path = svc.storage.path_of(storage_key(soon.id))  # type: ignore[attr-defined]
    assert path.exists()

    sweeper = Sweeper(svc.db, svc.storage, interval=60)
    counts = await sweeper.sweep_once(now=utcnow() + timedelta(minutes=2))
    assert counts["expired"] == 1 and counts["purged"] == 1
    assert await _status(svc, soon.id) == "expired"
    assert await _status(svc, later.id) == "available"
    assert not path.exists()
    assert svc.storage.path_of(storage_key(later.id)).exists()  # type: ignore[attr-defined]

    again = await sweeper.sweep_once(now=utcnow() + timedelta(minutes=2))
    assert again == {
        "expired": 0,
        "purged": 0,
        "settled_or_dropped": 0,
        "orphans": 0,
        "resumable": 0,
    }


async def test_uploads_that_never_arrived_are_dropped_after_their_window(svc: Services) -> None:
    account = await create_account(svc.stores.accounts, "stale")
    never = await _file(svc, account.id, expires_in=86400, upload=False)
    sweeper = Sweeper(svc.db, svc.storage, interval=60)
    inside = await sweeper.sweep_once(now=utcnow() + timedelta(minutes=10))
    assert inside["settled_or_dropped"] == 0
    assert await _status(svc, never.id) == "pending"
    past = utcnow() + timedelta(seconds=900) + UPLOAD_GRACE + timedelta(seconds=1)
    assert (await sweeper.sweep_once(now=past))["settled_or_dropped"] == 1
    assert await _status(svc, never.id) is None


async def test_two_sweepers_racing_change_each_file_once(svc: Services) -> None:
    import anyio

    account = await create_account(svc.stores.accounts, "race")
    rows = [await _file(svc, account.id, expires_in=60, upload=True) for _ in range(10)]
    first, second = Sweeper(svc.db, svc.storage, 60), Sweeper(svc.db, svc.storage, 60)
    when = utcnow() + timedelta(minutes=5)
    results: list[dict[str, int]] = []

    async def run(sweeper: Sweeper) -> None:
        results.append(await sweeper.sweep_once(now=when))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(run, first)
        tasks.start_soon(run, second)
    assert sum(r["expired"] for r in results) == len(rows)
    assert sum(r["purged"] for r in results) == len(rows)


class CountingStorage(FilesystemStorage):
    """The real filesystem storage, counting deletes per key (to prove each is done once)."""

    deletes: Counter[str]

    async def delete(self, key: str) -> None:
        self.deletes[key] += 1
        await super().delete(key)


async def test_racing_sweepers_delete_each_files_bytes_exactly_once(svc: Services) -> None:
    import anyio

    account = await create_account(svc.stores.accounts, "once")
    rows = [await _file(svc, account.id, expires_in=60, upload=True) for _ in range(12)]
    fs = svc.storage
    assert isinstance(fs, FilesystemStorage)
    counting = CountingStorage(
        fs.root, bucket=fs.bucket, credentials=fs.credentials, public_url="http://x"
    )
    counting.deletes = Counter()
    sweepers = [Sweeper(svc.db, counting, 60) for _ in range(3)]
    when = utcnow() + timedelta(minutes=5)

    async with anyio.create_task_group() as tasks:
        for sweeper in sweepers:
            tasks.start_soon(sweeper.sweep_once, when)
    assert {storage_key(r.id): 1 for r in rows} == {
        k: v for k, v in counting.deletes.items() if k.startswith("files/")
    }


async def test_a_claimed_file_is_skipped_until_its_lease_runs_out(svc: Services) -> None:
    account = await create_account(svc.stores.accounts, "lease")
    row = await _file(svc, account.id, expires_in=None, upload=False)
    now = utcnow()
    files = svc.stores.files
    first = await files.claim_pending(row.id, now)
    second = await files.claim_pending(row.id, now)
    assert first is not None and first.id == row.id and second is None
    later = now + LEASE + timedelta(seconds=1)
    taken = await files.claim_pending(row.id, later)
    assert taken is not None and taken.id == row.id
    await files.release_claim(row.id)
    assert await files.claim_pending(row.id, now) is not None
