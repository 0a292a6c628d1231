"""Real processes for the tests and benchmarks of Assured (a dev-only package, never shipped).

An ``assured-server``, a private SeaweedFS, a private clamd and private PostgreSQL databases:
each binds to 127.0.0.1 only, waits for readiness within a bound, and is stopped by its PID.
"""

from assured_testing.clamd import Clamd, clamd_binary
from assured_testing.ports import free_port, free_ports, port_is_free
from assured_testing.postgres import create_postgres_database, drop_postgres_database
from assured_testing.seaweedfs import S3_REGION, SeaweedFS, weed_binary
from assured_testing.server import (
    START_TIMEOUT,
    STOP_TIMEOUT,
    Credentials,
    ServerProcess,
    clean_env,
    wait_until_healthy,
)

__all__ = [
    "Clamd",
    "S3_REGION",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "Credentials",
    "SeaweedFS",
    "ServerProcess",
    "clamd_binary",
    "clean_env",
    "create_postgres_database",
    "drop_postgres_database",
    "free_port",
    "free_ports",
    "port_is_free",
    "wait_until_healthy",
    "weed_binary",
]
