"""Bring the schema to the newest revision, safely when several processes start at once.

Alembic is imported only when an upgrade is due: a server whose schema is current never loads
it (about 12 MiB of a process that must stay under 100 MiB while streaming a 1 GiB upload).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from assured_server.db.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works: it only has to be the same for every replica of this service.
_PG_LOCK_ID = 0x4153_5552_4544


def head_revision() -> str:
    """The newest revision id: migration files are named ``<NNNN>_<slug>.py``, the newest has
    the highest NNNN, and its id is the ``revision`` it declares (NNNN, or NNNN_slug)."""
    newest = max(
        (MIGRATIONS / "versions").glob("[0-9]*_*.py"), key=lambda path: path.name.split("_", 1)[0]
    )
    declared = re.search(r'^revision = "([^"]+)"', newest.read_text(encoding="utf-8"), re.M)
    return declared.group(1) if declared else newest.name.split("_", 1)[0]


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    async with database.engine.connect() as conn:
        try:
            version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return None
        return None if version is None else str(version)


async def is_current(database: Database) -> bool:
    """Whether the schema is at the newest revision."""
    return await current_revision(database) == head_revision()


def alembic_config(connection: Connection) -> Config:
    """An Alembic config bound to an open connection (no ini file needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(database: Database) -> None:
    """Upgrade to ``head``; replicas starting together wait for each other instead of racing."""
    if await is_current(database):
        return
    from alembic import command

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
