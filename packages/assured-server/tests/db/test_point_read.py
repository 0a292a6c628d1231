"""The point reader loads exactly what the ORM loads (types, time zones, NULLs), or nothing."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from assured_server.clock import new_id, utcnow
from assured_server.db.engine import Database
from assured_server.db.migrate import migrate
from assured_server.db.models import Account, StoredFile
from assured_server.files import lifecycle
from assured_server.stores.files import Files


async def _file(db: Database) -> StoredFile:
    account = Account(id=new_id(), name="a", created_at=utcnow())
    now = utcnow()
    row = lifecycle.new_row(
        lifecycle.NewFile(
            account_id=account.id,
            file_name="scan 2026.pdf",
            content_type="application/pdf",
            origin="v3",
            expires_in=3600,
            description="ünïcode",
            business_process="onboarding",
        ),
        now=now,
        upload_window=600,
    )
    row.size, row.sha256, row.uploaded_at = 123, "ab" * 32, now + timedelta(seconds=1)
    async with db.write() as session:
        session.add(account)
        session.add(row)
    return row


def _columns(row: StoredFile) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in StoredFile.__table__.columns}


async def test_a_point_read_equals_the_orm_load(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        await migrate(db)
        assert db._point_reader(StoredFile.__table__) is not None  # type: ignore[arg-type]  # noqa: SLF001
        row = await _file(db)
        fetched = await Files(db).owned(row.account_id, row.id)
        async with db.read() as session:
            loaded = await session.get(StoredFile, row.id)
        assert fetched is not None and loaded is not None
        assert _columns(fetched) == _columns(loaded)
        assert fetched.created_at.tzinfo is not None and fetched.rejection_reason is None
        # Another account's id, an unknown id and a malformed one are all "no such file".
        assert await Files(db).owned(new_id(), row.id) is None
        assert await Files(db).owned(row.account_id, new_id()) is None
        assert await Files(db).owned(row.account_id, "../etc/passwd") is None
    finally:
        await db.dispose()


async def test_a_point_read_sees_the_last_commit_while_another_process_writes(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        await migrate(db)
        row = await _file(db)
        assert (await Files(db).owned(row.account_id, row.id)) is not None
        other = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
        try:
            # Another process writes (and holds the write lock meanwhile): WAL readers go on.
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE files SET status = 'rejected' WHERE id = ?", (row.id,))
            before = await Files(db).owned(row.account_id, row.id)
            assert before is not None and before.status == "pending"
            other.execute("COMMIT")
        finally:
            other.close()
        after = await Files(db).owned(row.account_id, row.id)
        assert after is not None and after.status == "rejected"
    finally:
        await db.dispose()
