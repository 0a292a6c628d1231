"""Row 5 (and the HTTP figure of row 3): v3 create-upload and download-url under wrk load.

wrk runs in its own process at concurrency 32; the two endpoints alternate run by run.
"""

from __future__ import annotations

import json

import httpx

from bench import wrk
from bench.common import BenchServer

CONCURRENCY = 32
CREATE_BODY = json.dumps({"fileName": "scan.pdf", "contentType": "application/pdf"})


def available_file(server: BenchServer) -> str:
    """Upload a small PDF through v1 and return its id (available at once)."""
    with server.client() as client:
        response = client.post(
            "/api/v1/files/handle/",
            files={"file": ("scan.pdf", b"%PDF-1.7\n" + b"0" * 4096, "application/pdf")},
        )
        response.raise_for_status()
        file_id: str = response.json()["id"]
        # A download URL must work before it is measured.
        check = client.get(server.files_path(file_id) + "/download-url")
        check.raise_for_status()
        httpx.get(check.json()["url"], timeout=10).raise_for_status()
    return file_id


def run(binary: str, server: BenchServer, *, seconds: float, runs: int) -> dict[str, wrk.WrkResult]:
    """Medians over ``runs`` of each endpoint (after a one-second warm-up of each)."""
    auth = {"Authorization": f"Bearer {server.token}"}
    file_id = available_file(server)
    targets = {
        "create": (
            server.base_url + server.files_path(),
            wrk.request_script("POST", {**auth, "Content-Type": "application/json"}, CREATE_BODY),
        ),
        "download": (
            server.base_url + server.files_path(file_id) + "/download-url?expiresIn=300",
            wrk.request_script("GET", auth),
        ),
    }
    return wrk.alternate(binary, targets, connections=CONCURRENCY, seconds=seconds, runs=runs)
