"""A private PostgreSQL database for one benchmark run, on the local server when reachable."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def private_database() -> Iterator[tuple[str | None, str]]:
    """``(url, note)``: a fresh database's ``postgresql+asyncpg://`` URL, dropped on exit.

    ``url`` is None, with the reason in ``note``, when PostgreSQL is not reachable.
    """
    if not ADMIN_DSN.startswith("postgresql://postgres@127.0.0.1:"):
        raise ValueError("benchmarks use the PostgreSQL of 127.0.0.1 only")
    name = f"assured_bench_{secrets.token_hex(6)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to create a database means "not reachable"
        yield None, f"PostgreSQL not reachable at {ADMIN_DSN}: {type(exc).__name__}"
        return
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield f"{base}/{name}", ""
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
