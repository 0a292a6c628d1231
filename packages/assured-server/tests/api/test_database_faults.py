"""The database goes away mid-test: 503 SERVICE_UNAVAILABLE, /readyz tells, nothing is left
half-done, and the server recovers by itself when the database is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pg_private import PrivatePostgres
from server_helpers import make_api, pdf_bytes, stored_objects, wait_until

from assured_testing import ServerProcess


@pytest.fixture
def pg() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    server.remove()


def test_database_outage_is_503_and_the_server_recovers_by_itself(
    pg: PrivatePostgres, tmp_path: Path
) -> None:
    app = ServerProcess(tmp_path / "data", env_overrides={"ASSURED_DATABASE_URL": pg.url}).start()
    try:
        api = make_api(app, app.new_account("outage"))
        kept = api.client.post("/api/v1/files/handle/", files={"file": ("a.pdf", pdf_bytes())})
        assert kept.status_code == 201
        objects_before = set(stored_objects(app))

        pg.stop()
        ready = httpx.get(f"{app.base_url}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "unavailable"
        for response in (
            api.get_file(kept.json()["id"]),
            api.client.post("/api/v1/files/handle/", files={"file": ("b.pdf", pdf_bytes())}),
            api.create_upload(fileName="c.pdf", contentType="application/pdf"),
            httpx.post(
                f"{app.base_url}/api/v1/auth/token/",
                json={"api_key": api.creds.api_key},
                timeout=10,
            ),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["code"] == "SERVICE_UNAVAILABLE"
            assert response.headers["retry-after"]
        assert set(stored_objects(app)) == objects_before, "nothing may be written while down"

        pg.start()
        wait_until(lambda: httpx.get(f"{app.base_url}/readyz", timeout=10).status_code == 200)
        assert api.get_file(kept.json()["id"]).json()["status"] == "available"
        again = api.client.post("/api/v1/files/handle/", files={"file": ("d.pdf", pdf_bytes())})
        assert again.status_code == 201
        assert api.file_count() == 2
        api.client.close()
    finally:
        app.stop()
