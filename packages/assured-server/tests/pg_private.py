"""A private PostgreSQL server for tests that stop and restart the database mid-test."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from assured_testing import free_port

START_TIMEOUT = 30.0


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PrivatePostgres:
    """``initdb`` + ``postgres`` on 127.0.0.1 and a free port, as the ``postgres`` user."""

    def __init__(self) -> None:
        # Not under pytest's tmp dir: that is private to root and the server runs as postgres.
        base = Path(tempfile.mkdtemp(prefix="assured-pg-"))
        self.base = base
        self.data = base / "pgdata"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        initdb, postgres = _bin("initdb"), _bin("postgres")
        try:
            self._user = pwd.getpwnam("postgres")
        except KeyError:
            self._user = None
        if initdb is None or postgres is None or self._user is None or os.geteuid() != 0:
            reason = "PostgreSQL binaries, the postgres user or root are missing"
            if os.environ.get("REQUIRE_POSTGRES") == "1":
                pytest.fail(f"REQUIRE_POSTGRES=1 but a private PostgreSQL cannot run: {reason}")
            pytest.skip(f"private PostgreSQL not possible here: {reason}")
        self._initdb, self._postgres = initdb, postgres
        os.chown(base, self._user.pw_uid, self._user.pw_gid)
        subprocess.run(  # noqa: S603
            [initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"],
            user="postgres",
            group="postgres",
            cwd=base,
            capture_output=True,
            check=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database of this server."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start and wait (bounded) until it accepts connections."""
        self.proc = subprocess.Popen(  # noqa: S603
            [
                self._postgres,
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.data}",
                "-c",
                "fsync=off",
            ],
            user="postgres",
            group="postgres",
            cwd=self.base,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        isready = _bin("pg_isready") or "pg_isready"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            ready = subprocess.run(  # noqa: S603
                [isready, "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("private PostgreSQL did not start in time")

    def stop(self) -> None:
        """Fast shutdown (SIGINT), bounded wait, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(2)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def remove(self) -> None:
        """Stop and delete the data directory."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
