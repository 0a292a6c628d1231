"""An upload's lease on its file's row, on real SQLite and PostgreSQL databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from assured_server.auth.accounts import create_account
from assured_server.clock import utcnow
from assured_server.db.engine import Database
from assured_server.db.migrate import migrate
from assured_server.db.models import StoredFile
from assured_server.files import lifecycle
from assured_server.files.upload_lease import UploadLease, UploadLost
from assured_server.stores.accounts import Accounts
from assured_server.stores.files import LEASE, Files


@pytest.fixture
async def db(tmp_path: Path, private_database: dict[str, str]) -> AsyncIterator[Database]:
    url = private_database.get("ASSURED_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path}/l.db"
    database = Database(url)
    await migrate(database)
    yield database
    await database.dispose()


async def _pending(db: Database) -> StoredFile:
    account = await create_account(Accounts(db), "lease")
    row = lifecycle.new_row(
        lifecycle.NewFile(account.id, "a.pdf", "application/pdf", "v3", 3600),
        now=utcnow(),
        upload_window=900,
    )
    await db.insert(row)
    return row


async def _held_until(db: Database, file_id: str) -> object:
    row = await db.fetch(StoredFile, file_id)
    assert row is not None
    return row.sweep_claimed_until


async def test_one_upload_holds_a_file_until_it_gives_it_back(db: Database) -> None:
    row = await _pending(db)
    first = await UploadLease.claim(Files(db), row.id, utcnow())
    assert first is not None
    assert await _held_until(db, row.id) == first.until
    # A second upload (any process: the lease is in the row) and a sweeper find it taken.
    assert await UploadLease.claim(Files(db), row.id, utcnow()) is None
    assert await Files(db).claim_pending(row.id, utcnow()) is None
    await first.release()
    assert await _held_until(db, row.id) is None
    again = await UploadLease.claim(Files(db), row.id, utcnow())
    assert again is not None and again.until > first.until


async def test_a_file_that_left_pending_cannot_be_claimed(db: Database) -> None:
    row = await _pending(db)
    assert await Files(db).transition(row.id, from_status="pending", status="expired")
    assert await UploadLease.claim(Files(db), row.id, utcnow()) is None


async def test_renewing_extends_the_lease_and_a_lapsed_one_can_be_taken(db: Database) -> None:
    row = await _pending(db)
    lease = await UploadLease.claim(Files(db), row.id, utcnow())
    assert lease is not None
    first_until = lease.until
    await lease.renew()
    assert lease.until > first_until and await _held_until(db, row.id) == lease.until
    # Past the lease (a client that stopped sending), a sweeper may take the row...
    later = lease.until + timedelta(seconds=1)
    taken = await Files(db).claim_pending(row.id, later)
    assert taken is not None and taken.id == row.id
    swept_until = await _held_until(db, row.id)
    # ...and then the upload has lost it: it neither renews nor gives back the sweeper's claim.
    with pytest.raises(UploadLost):
        await lease.renew()
    await lease.release()
    assert await _held_until(db, row.id) == swept_until


async def test_renewing_fails_once_the_file_left_pending(db: Database) -> None:
    row = await _pending(db)
    lease = await UploadLease.claim(Files(db), row.id, utcnow())
    assert lease is not None
    assert await Files(db).transition(row.id, from_status="pending", status="expired")
    with pytest.raises(UploadLost):
        await lease.renew()


async def test_keep_renews_only_when_due(db: Database) -> None:
    row = await _pending(db)
    claimed = await UploadLease.claim(Files(db), row.id, utcnow())
    assert claimed is not None
    lazy = UploadLease(Files(db), row.id, claimed.until)  # the default period: not due for a minute
    await lazy.keep()
    assert await _held_until(db, row.id) == claimed.until
    eager = UploadLease(Files(db), row.id, claimed.until, renew_every=0)
    await eager.keep()
    assert eager.until > claimed.until and await _held_until(db, row.id) == eager.until


async def test_a_new_rows_lease_is_written_with_the_row(db: Database) -> None:
    account = await create_account(Accounts(db), "born")
    now = utcnow()
    row = lifecycle.new_row(
        lifecycle.NewFile(account.id, "a.pdf", "application/pdf", "v1", None),
        now=now,
        upload_window=900,
    )
    lease = UploadLease.of_new_row(Files(db), row, now)
    await db.insert(row)
    assert await _held_until(db, row.id) == lease.until == now + LEASE
    assert await UploadLease.claim(Files(db), row.id, utcnow()) is None


async def test_releasing_all_leases_frees_every_file(db: Database) -> None:
    rows = [await _pending(db) for _ in range(3)]
    for row in rows[:2]:
        assert await UploadLease.claim(Files(db), row.id, utcnow()) is not None
    assert await Files(db).release_all_leases() == 2
    for row in rows:
        assert await UploadLease.claim(Files(db), row.id, utcnow()) is not None
