"""Broken storage: 503 with Retry-After, /readyz tells, nothing half-stored, recovery by itself."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import make_api, pdf_bytes

from assured_testing import ServerProcess


@pytest.fixture
def fault_server(tmp_path: Path, private_database: dict[str, str]) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", env_overrides=private_database).start()
    yield proc
    proc.stop()


def test_storage_failure_is_503_and_the_server_recovers_when_it_is_back(
    fault_server: ServerProcess,
) -> None:
    api = make_api(fault_server, fault_server.new_account("faults"))
    kept = api.client.post("/api/v1/files/handle/", files={"file": ("a.pdf", pdf_bytes())})
    assert kept.status_code == 201
    assert httpx.get(f"{fault_server.base_url}/readyz").status_code == 200

    bucket_dir = fault_server.data_dir / "objects" / "assured-files"
    aside = bucket_dir.with_name("aside")
    bucket_dir.rename(aside)
    bucket_dir.write_bytes(b"not a directory")  # the store is now unusable
    try:
        ready = httpx.get(f"{fault_server.base_url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "storage": "unavailable"}
        count = api.file_count()

        refused = api.client.post("/api/v1/files/handle/", files={"file": ("b.pdf", pdf_bytes())})
        assert refused.status_code == 503
        assert refused.json()["code"] == "STORAGE_UNAVAILABLE"
        assert refused.headers["retry-after"]
        assert api.file_count() == count

        ticket = api.created()
        direct = api.post_form(ticket, pdf_bytes())
        assert direct.status_code == 503
        assert b"<Code>ServiceUnavailable</Code>" in direct.content
        assert api.get_file(ticket["id"]).json()["status"] == "pending"
    finally:
        bucket_dir.unlink()
        aside.rename(bucket_dir)

    assert httpx.get(f"{fault_server.base_url}/readyz").status_code == 200
    again = api.client.post("/api/v1/files/handle/", files={"file": ("c.pdf", pdf_bytes())})
    assert again.status_code == 201
    url = api.download_url(kept.json()["id"]).json()["url"]
    assert httpx.get(url).content == pdf_bytes()
    api.client.close()
    shutil.rmtree(fault_server.data_dir / "objects" / "aside", ignore_errors=True)
