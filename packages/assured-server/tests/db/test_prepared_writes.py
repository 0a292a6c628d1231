"""``Database.run`` / ``insert`` / ``fetch`` behave alike on SQLite (prepared, driver-level)
and PostgreSQL (asyncpg directly, or the session): the same rows, counts, errors, transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from server_helpers import create_postgres_database, drop_postgres_database
from sqlalchemy.exc import IntegrityError

from assured_server.clock import new_id, utcnow
from assured_server.db.engine import Database
from assured_server.db.migrate import migrate
from assured_server.db.models import Account, StoredFile
from assured_server.files import lifecycle
from assured_server.files.ingest import Ingested
from assured_server.stores import Stores
from assured_server.stores.files import Files


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        await migrate(database)
        yield database
    finally:
        await database.dispose()


def _new(account_id: str, name: str) -> StoredFile:
    """A pending file of ``account_id``, not stored yet."""
    return lifecycle.new_row(
        lifecycle.NewFile(account_id, name, "application/pdf", "v3", 3600),
        now=utcnow(),
        upload_window=600,
    )


async def _pending(db: Database) -> StoredFile:
    account = Account(id=new_id(), name="a", created_at=utcnow())
    await db.insert(account)
    row = _new(account.id, "scan.pdf")
    await db.insert(row)
    return row


async def test_a_transition_writes_typed_values_and_counts_the_rows(db: Database) -> None:
    row = await _pending(db)
    uploaded_at = utcnow() + timedelta(seconds=5)
    ingested = Ingested(key="k", size=2**33, sha256="cd" * 32)
    assert await lifecycle.mark_available(Files(db), row.id, ingested, uploaded_at=uploaded_at)
    # Only from ``pending``: a second settle changes nothing and says so.
    assert not await lifecycle.mark_available(Files(db), row.id, ingested, uploaded_at=uploaded_at)
    async with db.read() as session:
        stored = await session.get(StoredFile, row.id)
    assert stored is not None
    assert (stored.status, stored.size, stored.sha256) == ("available", 2**33, "cd" * 32)
    assert stored.uploaded_at == uploaded_at and stored.uploaded_at.tzinfo is not None
    fetched = await Files(db).owned(row.account_id, row.id)
    assert fetched is not None and fetched.uploaded_at == uploaded_at


async def test_a_transaction_commits_or_rolls_back_as_one(db: Database) -> None:
    row = await _pending(db)
    ingested = Ingested(key="k", size=1, sha256="ab" * 32)
    other = _new(row.account_id, "b.pdf")
    with pytest.raises(RuntimeError):
        async with Stores(db).unit() as unit:
            await Files(db).add(other, unit)
            assert await lifecycle.mark_available(Files(db), row.id, ingested, unit=unit)
            raise RuntimeError("the block fails after two writes")
    fetched = await Files(db).owned(row.account_id, row.id)
    assert fetched is not None and fetched.status == "pending"
    assert await db.fetch(StoredFile, other.id) is None

    # A statement that fails inside the block fails the block, and nothing of it stays.
    twin = _new(row.account_id, "c.pdf")
    twin.id = row.id
    with pytest.raises(IntegrityError):
        async with db.transaction() as tx:
            await tx.insert(other)
            await tx.insert(twin)
    assert await db.fetch(StoredFile, other.id) is None

    async with Stores(db).unit() as unit:
        await Files(db).add(other, unit)
        assert await lifecycle.mark_available(Files(db), other.id, ingested, unit=unit)
        assert await lifecycle.mark_available(Files(db), row.id, ingested, unit=unit)
    for file_id in (row.id, other.id):
        fetched = await Files(db).owned(row.account_id, file_id)
        assert fetched is not None and fetched.status == "available"


async def test_fetch_is_none_for_unknown_and_foreign_rows(db: Database) -> None:
    row = await _pending(db)
    assert await Files(db).owned(new_id(), row.id) is None
    assert await Files(db).owned(row.account_id, new_id()) is None
    assert await db.fetch(StoredFile, new_id()) is None


async def test_a_duplicate_or_dangling_insert_is_the_orms_integrity_error(db: Database) -> None:
    row = await _pending(db)
    twin = _new(row.account_id, "twin.pdf")
    twin.id = row.id
    with pytest.raises(IntegrityError):
        await db.insert(twin)
    orphan = _new(new_id(), "orphan.pdf")
    with pytest.raises(IntegrityError):
        await db.insert(orphan)
    # Neither left anything behind, and the database goes on.
    assert await db.fetch(StoredFile, orphan.id) is None
    fetched = await Files(db).owned(row.account_id, row.id)
    assert fetched is not None and fetched.file_name == "scan.pdf"
    await _pending(db)


async def test_forget_upload_deletes_any_row_but_an_available_one(db: Database) -> None:
    row = await _pending(db)
    settled = await _pending(db)
    expired = await _pending(db)
    assert await lifecycle.mark_available(
        Files(db), settled.id, Ingested(key="k", size=1, sha256="a" * 64)
    )
    assert await Files(db).transition(expired.id, from_status="pending", status="expired")
    assert not await Files(db).forget_upload(settled.id)
    assert await db.fetch(StoredFile, settled.id) is not None
    assert await Files(db).forget_upload(row.id)
    assert await db.fetch(StoredFile, row.id) is None
    assert not await Files(db).forget_upload(row.id)
    assert await Files(db).forget_upload(expired.id)
    assert await db.fetch(StoredFile, expired.id) is None
