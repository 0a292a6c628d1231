"""``Database.insert`` writes exactly the row a session would, and fails as a session would."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from server_helpers import numbers_database
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from assured_server.clock import new_id, utcnow
from assured_server.db.engine import Database
from assured_server.db.migrate import migrate
from assured_server.db.models import Account, StoredFile
from assured_server.files import lifecycle


def _row(account_id: str) -> StoredFile:
    now = utcnow()
    row = lifecycle.new_row(
        lifecycle.NewFile(
            account_id=account_id,
            file_name="scan 2026 ünïcode.pdf",
            content_type="application/pdf",
            origin="v3",
            expires_in=3600,
            description=None,
            business_process="onboarding",
        ),
        now=now,
        upload_window=600,
    )
    row.size, row.sha256, row.uploaded_at = 2**40, "ab" * 32, now + timedelta(seconds=1)
    return row


def _stored(path: Path, file_id: str) -> tuple[object, ...]:
    """The row as SQLite holds it (every column but the id), read outside SQLAlchemy."""
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
    finally:
        connection.close()
    assert row is not None
    return tuple(row[1:])


async def _database(path: Path) -> tuple[Database, str]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await migrate(db)
    account = Account(id=new_id(), name="a", created_at=utcnow())
    async with db.write() as session:
        session.add(account)
    return db, account.id


async def test_an_insert_stores_what_the_orm_stores(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    db, account_id = await _database(path)
    try:
        direct, through_orm = _row(account_id), _row(account_id)
        # The same values, but two ids.
        for column in StoredFile.__table__.columns:
            if column.key != "id":
                setattr(through_orm, column.key, getattr(direct, column.key))
        await db.insert(direct)
        async with db.write() as session:
            session.add(through_orm)
        assert _stored(path, direct.id) == _stored(path, through_orm.id)
        async with db.read() as session:
            loaded = await session.get(StoredFile, direct.id)
        assert loaded is not None
        assert loaded.created_at == direct.created_at and loaded.size == 2**40
    finally:
        await db.dispose()


async def test_a_duplicate_is_the_orms_integrity_error_and_the_group_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.db"
    db, account_id = await _database(path)
    try:
        first = _row(account_id)
        await db.insert(first)
        twin, other = _row(account_id), _row(account_id)
        twin.id = first.id
        # Queued together, so that they share one group: the failing insert must not undo
        # the one beside it.
        results = await asyncio.gather(db.insert(twin), db.insert(other), return_exceptions=True)
        assert isinstance(results[0], IntegrityError)
        assert results[1] is None
        assert _stored(path, other.id)
        # A file of an account that does not exist: the foreign key holds as through the ORM.
        with pytest.raises(IntegrityError):
            await db.insert(_row(new_id()))
    finally:
        await db.dispose()


async def test_an_insert_inside_a_write_block_is_part_of_it(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    db, account_id = await _database(path)
    try:
        row = _row(account_id)
        with pytest.raises(RuntimeError):
            async with db.write():
                await db.insert(row)
                raise RuntimeError("the block fails after the insert")
        async with db.read() as session:
            assert await session.get(StoredFile, row.id) is None
        async with db.write():
            await db.insert(row)
        assert _stored(path, row.id)
    finally:
        await db.dispose()


async def test_a_raw_statement_that_breaks_nothing_leaves_the_group_usable(
    tmp_path: Path,
) -> None:
    db = await numbers_database(tmp_path)
    committer = db._group_commit
    assert committer is not None
    try:
        with pytest.raises(IntegrityError):
            await committer.execute("INSERT INTO n (v) VALUES (?)", (None,))
        await committer.execute("INSERT INTO n (v) VALUES (?)", (7,))
        async with db.read() as session:
            values = (await session.execute(text("SELECT v FROM n"))).scalars().all()
        assert values == [7]
    finally:
        await db.dispose()


async def test_driver_level_statements_fail_with_sqlalchemys_errors(tmp_path: Path) -> None:
    """BEGIN and savepoints skip ``exec_driver_sql``; the group commit still needs their
    failures as SQLAlchemy's ``OperationalError`` to tell a broken transaction."""
    from sqlalchemy.exc import OperationalError

    from assured_server.db import engine as engine_module

    db = await numbers_database(tmp_path)
    try:
        async with db.engine.connect() as connection:
            with pytest.raises(OperationalError):
                await connection.run_sync(
                    lambda sync: engine_module._bare(sync, "RELEASE no_such_savepoint")
                )
    finally:
        await db.dispose()
