"""Proxied upload: a large file through ``POST /api/v1/files/handle/`` (the v1 API).

The body streams through the server, which parses the form, checks the magic bytes, hashes
and writes the file, and records it; the file is deleted again after each run.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import BenchServer, RssSampler, Transfer, curl_form


def upload_once(server: BenchServer, source: Path, work: Path) -> Transfer:
    """Upload ``source`` once, watching the server's memory and CPU."""
    with RssSampler(server.pid) as rss:
        result = curl_form(
            f"{server.base_url}/api/v1/files/handle/",
            work,
            file=source,
            headers=server.headers,
        )
    if result.status != 201:
        raise RuntimeError(f"proxied upload failed: {result.status} {result.body[:200]!r}")
    record = result.json()
    if record["size"] != source.stat().st_size:
        raise RuntimeError(f"proxied upload stored {record['size']} bytes")
    with server.client() as client:
        client.delete(server.files_path(record["id"])).raise_for_status()
    return Transfer(result.seconds, rss.peak, rss.cpu_seconds, result.cpu_seconds)
