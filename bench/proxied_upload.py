"""Proxied upload: a large file through ``POST /api/v1/files/handle/`` (the v1 API).

Measures throughput and the server's peak RSS while the multipart body streams through it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.common import BenchServer, RssSampler, mib, pdf_stream, timed

BOUNDARY = "benchboundary91c2"


def multipart_body(size: int) -> tuple[Iterator[bytes], int]:
    """A streamed form with one ``file`` part of ``size`` bytes, and its exact length."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from pdf_stream(size)
        yield tail

    return body(), len(head) + size + len(tail)


def run(size: int) -> dict[str, float]:
    """Upload ``size`` bytes once; returns MB/s and peak RSS in MiB."""
    with tempfile.TemporaryDirectory(prefix="assured-bench-") as tmp:
        server = BenchServer.start(Path(tmp), {"ASSURED_MAX_UPLOAD_BYTES": str(size + (1 << 20))})
        try:
            body, length = multipart_body(size)
            headers = {
                **server.headers,
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
            }
            url = f"{server.proc.base_url}/api/v1/files/handle/"
            with RssSampler(server.pid) as rss:
                seconds = timed(lambda: _post(url, body, headers))
            return {
                "mb_per_s": size / seconds / 1e6,
                "peak_rss_mib": mib(rss.peak),
                "baseline_rss_mib": mib(rss.baseline),
            }
        finally:
            server.proc.stop()


def _post(url: str, body: Iterator[bytes], headers: dict[str, str]) -> None:
    response = httpx.post(url, content=body, headers=headers, timeout=600)
    if response.status_code != 201:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text[:200]}")
