"""The same migrations and queries run on PostgreSQL (the embedded default is SQLite)."""

from __future__ import annotations

from datetime import timedelta

from assured_server.auth.accounts import create_account, create_api_key
from assured_server.clock import utcnow
from assured_server.db.engine import Database
from assured_server.db.migrate import current_revision, head_revision, migrate
from assured_server.files import lifecycle
from assured_server.stores.accounts import Accounts
from assured_server.stores.files import Files


async def test_migrations_and_file_queries_run_on_postgres(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        await migrate(db)
        await migrate(db)  # a second run (another replica) is a no-op
        assert await current_revision(db) == head_revision()
        account = await create_account(Accounts(db), "pg")
        await create_api_key(Accounts(db), account.id, None)
        now = utcnow()
        rows = [
            lifecycle.new_row(
                lifecycle.NewFile(account.id, f"f{i}.pdf", "application/pdf", "v3", 60),
                now=now,
                upload_window=900,
            )
            for i in range(3)
        ]
        async with db.write() as session:
            session.add_all(rows)
        listed = await Files(db).page(
            account.id,
            status="pending",
            business_process=None,
            before_id=None,
            limit=10,
            now=now,
        )
        expired = await Files(db).page(
            account.id,
            status="expired",
            business_process=None,
            before_id=None,
            limit=10,
            now=now + timedelta(minutes=2),
        )
        assert [r.id for r in listed] == sorted((r.id for r in rows), reverse=True)
        assert len(expired) == 3
        assert listed[0].created_at.tzinfo is not None
    finally:
        await db.dispose()
