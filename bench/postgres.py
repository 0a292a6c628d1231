"""A private PostgreSQL database for one benchmark run, on the local server when reachable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from assured_testing import create_postgres_database, drop_postgres_database

ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def private_database() -> Iterator[tuple[str | None, str]]:
    """``(url, note)``: a fresh database's ``postgresql+asyncpg://`` URL, dropped on exit.

    ``url`` is None, with the reason in ``note``, when PostgreSQL is not reachable.
    """
    if not ADMIN_DSN.startswith("postgresql://postgres@127.0.0.1:"):
        raise ValueError("benchmarks use the PostgreSQL of 127.0.0.1 only")
    try:
        url = create_postgres_database(ADMIN_DSN, "assured_bench")
    except Exception as exc:  # any failure to create a database means "not reachable"
        yield None, f"PostgreSQL not reachable at {ADMIN_DSN}: {type(exc).__name__}"
        return
    try:
        yield url, ""
    finally:
        drop_postgres_database(ADMIN_DSN, url)
