"""Bring the schema to the newest revision, safely when several processes start at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from assured_server.db.engine import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works: it only has to be the same for every replica of this service.
_PG_LOCK_ID = 0x4153_5552_4544


def alembic_config(connection: Connection) -> Config:
    """An Alembic config bound to an open connection (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(database: Database) -> None:
    """Upgrade to ``head``; replicas starting together wait for each other instead of racing."""
    # On SQLite the write option makes the transaction BEGIN IMMEDIATE: the whole upgrade holds
    # the write lock, so a second process waits and then finds the schema already current.
    async with database.engine.execution_options(assured_write=True).connect() as conn:
        if not database.is_sqlite:
            await conn.execute(text(f"SELECT pg_advisory_lock({_PG_LOCK_ID})"))
        try:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
            await conn.commit()
        finally:
            if not database.is_sqlite:
                await conn.execute(text(f"SELECT pg_advisory_unlock({_PG_LOCK_ID})"))
                await conn.commit()
