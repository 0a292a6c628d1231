"""Migrations: the fast-path head check agrees with Alembic, and upgrades are idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from assured_server.db.engine import Database
from assured_server.db.migrate import MIGRATIONS, current_revision, head_revision, migrate


def test_head_revision_from_file_names_is_alembics_head() -> None:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == head_revision()


async def test_migrate_creates_the_schema_once_and_then_is_a_no_op(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        assert await current_revision(db) is None
        await migrate(db)
        assert await current_revision(db) == head_revision()
        await migrate(db)
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


async def test_sqlite_runs_in_wal_with_full_sync(tmp_path: Path) -> None:
    from sqlalchemy import text

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    try:
        await migrate(db)
        async with db.read() as session:
            assert (await session.scalar(text("PRAGMA journal_mode"))) == "wal"
            assert (await session.scalar(text("PRAGMA synchronous"))) == 2  # FULL
            # No busy wait on the event loop: a locked database is waited for in a thread
            # (tests/db/test_sqlite_write_queue.py).
            assert (await session.scalar(text("PRAGMA busy_timeout"))) == 0
    finally:
        await db.dispose()
