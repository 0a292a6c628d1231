"""Direct upload: a large file POSTed to the storage endpoint with a v3 pre-signed form.

The form is made with ``POST /v3/accounts/{id}/files`` (not timed); the timed part is the
browser-style POST of its fields and the file to ``uploadUrl``, which verifies as it stores.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import BenchServer, RssSampler, Transfer, curl_form


def upload_once(server: BenchServer, source: Path, work: Path) -> Transfer:
    """Upload ``source`` once, watching the server's memory and CPU."""
    with server.client() as client:
        response = client.post(
            server.files_path(), json={"fileName": "big.pdf", "contentType": "application/pdf"}
        )
        response.raise_for_status()
        ticket = response.json()
        with RssSampler(server.pid) as rss:
            result = curl_form(
                ticket["uploadUrl"], work, fields=list(ticket["fields"].items()), file=source
            )
        if result.status != 204:
            raise RuntimeError(f"direct upload failed: {result.status} {result.body[:200]!r}")
        record = client.get(server.files_path(ticket["id"])).json()
        if record["status"] != "available" or record["size"] != source.stat().st_size:
            raise RuntimeError(f"direct upload ended {record['status']} ({record['size']} bytes)")
        client.delete(server.files_path(ticket["id"])).raise_for_status()
    return Transfer(result.seconds, rss.peak, rss.cpu_seconds, result.cpu_seconds)
