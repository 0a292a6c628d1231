"""A real ``assured-server`` process for tests and benchmarks.

It binds to 127.0.0.1 only, waits for readiness within a bound, and is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assured_testing.ports import free_port

START_TIMEOUT = 60.0  # generous: several test suites may share two cores
STOP_TIMEOUT = 15.0


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The current environment without any ``ASSURED_`` variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASSURED_")}
    env.update(extra)
    return env


@dataclass
class Credentials:
    """An account and an API key made with the admin CLI."""

    account_id: str
    api_key: str


@dataclass
class ServerProcess:
    """One server process on 127.0.0.1 with its own data dir."""

    data_dir: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    open_file_limits: tuple[int, int] | None = None
    """The (soft, hard) RLIMIT_NOFILE the server starts with; inherited when None."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment the server and its admin commands run with."""
        return clean_env({"ASSURED_DATA_DIR": str(self.data_dir), **self.env_overrides})

    def start(self) -> ServerProcess:
        """Start the process and wait (bounded) until ``/healthz`` answers."""
        # Owner-only, as the server makes its data dir and files (the log shows request ids).
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{self.port}.log"
        log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        limits = self.open_file_limits
        self.proc = subprocess.Popen(  # noqa: S603 - our own entry point
            [_server_bin(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=log,
            preexec_fn=None if limits is None else lambda: _set_open_files(limits),
        )
        log.close()
        try:
            wait_until_healthy(self.proc, self.base_url, self.log_tail)
        except RuntimeError:
            self.kill()
            raise
        return self

    def stop(self) -> int | None:
        """SIGTERM, a bounded wait, then SIGKILL; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(STOP_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL: the crash a power cut would be."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for failure messages."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def admin(self, *args: str, stdin: str | None = None) -> dict[str, Any]:
        """Run ``assured-server admin … --json`` against this server's database."""
        result = subprocess.run(  # noqa: S603 - our own entry point
            [_server_bin(), "admin", *args, "--json"],
            env=self.env,
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"admin {args[0]} failed: {result.stderr.decode(errors='replace')}")
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    def new_account(self, name: str = "test", scopes: str | None = None) -> Credentials:
        """A fresh account and an API key for it."""
        account = self.admin("create-account", "--name", name)
        key_args = ["create-api-key", "--account", account["id"]]
        if scopes is not None:
            key_args += ["--scopes", scopes]
        key = self.admin(*key_args)
        return Credentials(account["id"], key["api_key"])

    def token(self, creds: Credentials) -> str:
        """An access token for an API key."""
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/token/", json={"api_key": creds.api_key}, timeout=10
        )
        response.raise_for_status()
        return str(response.json()["access"])


def wait_until_healthy(
    proc: subprocess.Popen[bytes], base_url: str, log_tail: Callable[[], str]
) -> None:
    """Poll ``/healthz`` until it answers 200, within :data:`START_TIMEOUT`.

    Raises ``RuntimeError`` with ``log_tail()`` if the process exits or the time runs out.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log_tail()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server did not start within {START_TIMEOUT}s: {log_tail()}")


def _set_open_files(limits: tuple[int, int]) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def _server_bin() -> str:
    candidate = Path(sys.executable).with_name("assured-server")
    return str(candidate) if candidate.exists() else "assured-server"
