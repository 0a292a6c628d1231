"""Starting and stopping a real ``assured-server`` through its command line only.

The server is a black box: ``assured-server serve`` on a free port with its own fresh
``ASSURED_DATA_DIR``, an account and an API key made with ``assured-server admin … --json``,
and SIGTERM (then SIGKILL if it lingers) to stop it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 60.0
# A small upload limit keeps the over-limit tests quick (the contract's default is 100 MiB).
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
SHUTDOWN_TIMEOUT = 15.0


def _server_command() -> list[str]:
    # The script installed next to this interpreter first: the venv's own server.
    script = Path(sys.executable).with_name("assured-server")
    if script.exists():
        return [str(script)]
    found = shutil.which("assured-server")
    if found:
        return [found]
    return [sys.executable, "-m", "assured_server"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A running server and the credentials of one account on it."""

    base_url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    account_id: str = ""
    api_key: str = ""

    def admin(self, *args: str) -> dict[str, object]:
        """Run ``assured-server admin …  --json`` against this server's data dir."""
        result = subprocess.run(  # noqa: S603 - our own server's CLI
            [*_server_command(), "admin", *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, f"admin {args} failed: {result.stderr}\n{self.log_tail()}"
        body: dict[str, object] = json.loads(result.stdout)
        return body

    def new_account(self, name: str) -> tuple[str, str]:
        """Create an account and an API key for it: ``(account_id, api_key)``."""
        account = self.admin("create-account", "--name", name)
        key = self.admin("create-api-key", "--account", str(account["id"]))
        return str(account["id"]), str(key["api_key"])

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's output, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, a bounded wait, then SIGKILL."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=SHUTDOWN_TIMEOUT)


def start_server(root: Path) -> LiveServer:
    """Start a server with a fresh data dir under ``root`` and wait until ``/healthz`` is 200."""
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    # Only the data dir is configured: a developer's own ASSURED_* settings must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURED_")}
    env["ASSURED_DATA_DIR"] = str(data_dir)
    env["ASSURED_MAX_UPLOAD_BYTES"] = str(MAX_UPLOAD_BYTES)
    port = _free_port()
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own server's CLI
            [*_server_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", data_dir, env, process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"assured-server exited with {process.returncode}:\n{server.log_tail()}"
            )
        try:
            if httpx.get(f"{server.base_url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"assured-server not healthy in {STARTUP_TIMEOUT} s:\n{server.log_tail()}"
            )
        time.sleep(0.1)
    try:
        server.account_id, server.api_key = server.new_account("sdk-live")
    except BaseException:
        server.stop()
        raise
    return server
