"""Direct upload: a large file POSTed to the storage endpoint with a pre-signed form.

Measures throughput and the server's peak RSS while the body streams through it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.common import BenchServer, RssSampler, mib, pdf_stream, timed

BOUNDARY = "benchboundary7f3a"


def multipart_body(fields: dict[str, str], size: int) -> tuple[Iterator[bytes], int]:
    """A streamed ``fields`` + ``file`` form and its exact length."""
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (
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
            with server.client() as client:
                ticket = client.post(
                    f"/v3/accounts/{server.creds.account_id}/files",
                    json={"fileName": "big.pdf", "contentType": "application/pdf"},
                ).json()
                body, length = multipart_body(ticket["fields"], size)
                headers = {
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    "Content-Length": str(length),
                }
                with RssSampler(server.pid) as rss:
                    seconds = timed(lambda: _post(ticket["uploadUrl"], body, headers))
                status = client.get(
                    f"/v3/accounts/{server.creds.account_id}/files/{ticket['id']}"
                ).json()["status"]
                if status != "available":
                    raise RuntimeError(f"upload ended {status}")
            return {
                "mb_per_s": size / seconds / 1e6,
                "peak_rss_mib": mib(rss.peak),
                "baseline_rss_mib": mib(rss.baseline),
            }
        finally:
            server.proc.stop()


def _post(url: str, body: Iterator[bytes], headers: dict[str, str]) -> None:
    response = httpx.post(url, content=body, headers=headers, timeout=600)
    if response.status_code != 204:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text[:200]}")
