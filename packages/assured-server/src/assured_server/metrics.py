"""Prometheus metrics of the server (text format 0.0.4 at ``/metrics``).

With several worker processes (``ASSURED_WORKERS``) each worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve`` before the workers start, read by
prometheus_client at import), and ``/metrics`` of any worker sums all of them: a scrape sees
the whole server, whichever worker answers it.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Histogram(
    "assured_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UPLOADED_BYTES = Counter(
    "assured_uploaded_bytes", "Bytes accepted into storage.", ["api"], registry=REGISTRY
)
UPLOADS = Counter(
    "assured_uploads", "Uploads by API and outcome.", ["api", "outcome"], registry=REGISTRY
)
SWEPT = Counter(
    "assured_swept_files",
    "Files the sweeper changed, by action (orphans: stored objects of no file, deleted).",
    ["action"],
    registry=REGISTRY,
)
EDGE_CLOSES = Counter(
    "assured_http_edge_closes",
    "Client connections the HTTP edge closed or refused, by reason (idle, header_timeout, "
    "body_timeout, write_timeout, evicted, refused, headers_too_large, url_too_long, malformed, "
    "pipelined).",
    ["reason"],
    registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Record one answered request."""
    REQUESTS.labels(method, route, str(status)).observe(seconds)


def render() -> bytes:
    """The exposition text (of every worker process when there are several)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
