"""The running server's sweep deletes stored objects of no file, and counts them in /metrics.

On the filesystem backend, where an object's age is its file's time and a test can set it; the
S3 deployment's reconciliation is tested through ``sweep_once(now=…)`` in test_orphans.py.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from server_helpers import BUCKET, make_api, pdf_bytes, wait_until

from assured_testing import ServerProcess

DAY = 86400.0


def _orphans_counted(server: ServerProcess) -> float:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    found = re.search(r'^assured_swept_files_total\{action="orphans"\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _write(path: Path, age: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 orphan")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_the_sweep_deletes_aged_orphans_keeps_the_rest_and_counts_them(
    request: pytest.FixtureRequest, backend: dict[str, str]
) -> None:
    if backend:  # checked before a server is started for nothing
        pytest.skip("an S3 object's age cannot be set; see test_orphans.py")
    swept_server: ServerProcess = request.getfixturevalue("swept_server")
    api = make_api(swept_server, swept_server.new_account("orphans"))
    try:
        uploaded = api.client.post("/api/v1/files/handle/", files={"file": ("a.pdf", pdf_bytes())})
    finally:
        api.client.close()
    assert uploaded.status_code == 201, uploaded.text
    root = swept_server.data_dir / "objects" / BUCKET
    live = root / "files" / uploaded.json()["id"]
    os.utime(live, (time.time() - DAY, time.time() - DAY))  # old, but its file is available
    before = _orphans_counted(swept_server)
    young = _write(root / "files" / str(uuid.uuid4()), age=0)
    aged = [
        _write(root / "files" / str(uuid.uuid4()), age=DAY),
        _write(root / "uploads" / str(uuid.uuid4()), age=DAY),
    ]
    wait_until(lambda: not any(path.exists() for path in aged), 30)
    # The run that deleted the aged orphan under files/ judged the other two there too.
    assert young.exists() and live.exists()
    assert _orphans_counted(swept_server) - before >= 2
