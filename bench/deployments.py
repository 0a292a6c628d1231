"""The two deployments the table names: the embedded default and PostgreSQL + SeaweedFS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import postgres
from bench.common import BenchServer
from bench.seaweed import Seaweed

SQLITE_FILESYSTEM = "SQLite + filesystem"
POSTGRES_SEAWEED = "PostgreSQL + SeaweedFS"
LOAD_WORKERS = max(1, os.cpu_count() or 1)
"""Worker processes of the servers under load (rows 4 and 5): one per core, as deployed."""
LOAD_ENV = {"ASSURED_WORKERS": str(LOAD_WORKERS)}


@contextmanager
def postgres_seaweed(
    data_dir: Path, seaweed: Seaweed | None, bucket: str, env: dict[str, str]
) -> Iterator[tuple[BenchServer | None, str]]:
    """``(server, note)``: a server on a private PostgreSQL database and a SeaweedFS bucket.

    The server is stopped and the database dropped on exit. ``server`` is None, with the
    reason in ``note``, when PostgreSQL or SeaweedFS is not available.
    """
    if seaweed is None:
        yield None, f"{POSTGRES_SEAWEED} rows skipped: SeaweedFS did not start."
        return
    with postgres.private_database() as (url, pg_note):
        if url is None:
            yield None, f"{POSTGRES_SEAWEED} rows skipped: {pg_note}."
            return
        server_env = {"ASSURED_DATABASE_URL": url, **seaweed.server_env(bucket), **env}
        server = BenchServer.start(data_dir, server_env)
        try:
            yield server, ""
        finally:
            server.stop()
