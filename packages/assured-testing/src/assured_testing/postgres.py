"""Private PostgreSQL databases for tests and benchmarks: made, then dropped."""

from __future__ import annotations

import asyncio
import secrets


async def _postgres_admin(admin_dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_postgres_database(admin_dsn: str, prefix: str) -> str:
    """A new database ``<prefix>_<hex>`` on the server of ``admin_dsn``: its asyncpg URL.

    Raises whatever asyncpg raises when the server cannot be reached or refuses.
    """
    name = f"{prefix}_{secrets.token_hex(6)}"
    asyncio.run(_postgres_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def drop_postgres_database(admin_dsn: str, url: str) -> None:
    """Drop a database made by :func:`create_postgres_database` (its sessions are ended)."""
    name = url.rsplit("/", 1)[1]
    asyncio.run(_postgres_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
