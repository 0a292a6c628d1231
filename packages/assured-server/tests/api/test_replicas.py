"""Two replicas on one PostgreSQL and one S3 store answer interchangeably; one dies mid-upload
and the other serves everything; each uploaded file is settled exactly once."""

from __future__ import annotations

import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from server_helpers import make_api, pdf_bytes, sha256, wait_until

from assured_testing import SeaweedFS, ServerProcess

HANDLE = "/api/v1/files/handle/"


@pytest.fixture
def replicas(
    tmp_path: Path, postgres_url: str, seaweedfs: SeaweedFS
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    bucket = f"replicas-{secrets.token_hex(4)}"
    seaweedfs.create_bucket(bucket)
    shared = {
        "ASSURED_DATABASE_URL": postgres_url,
        "ASSURED_JWT_SECRET": secrets.token_urlsafe(48),
        "ASSURED_SWEEP_INTERVAL": "0.3",
        **seaweedfs.server_env(bucket),
    }
    first = ServerProcess(tmp_path / "a", env_overrides=shared).start()
    second = ServerProcess(tmp_path / "b", env_overrides=shared).start()
    yield first, second
    first.stop()
    second.stop()


def _settled_count(server: ServerProcess) -> float:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    match = re.search(
        r'^assured_swept_files_total\{action="settled_or_dropped"\} (\S+)$', text, re.M
    )
    return float(match.group(1)) if match else 0.0


def test_replicas_share_everything_and_settle_each_upload_once(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = replicas
    creds = a.new_account("replicated")
    on_a, on_b = make_api(a, creds), make_api(b, creds)

    # Created on one, uploaded and read through the other.
    ticket = on_a.created("r.pdf", "application/pdf")
    content = pdf_bytes(30_000)
    landed = httpx.post(
        ticket["uploadUrl"], data=ticket["fields"], files={"file": ("r.pdf", content)}
    )
    assert landed.status_code == 204
    done = on_b.client.post(f"{on_b.files_path}/{ticket['id']}/complete").json()
    assert done["status"] == "available" and done["sha256"] == sha256(content)
    assert httpx.get(on_a.download_url(ticket["id"]).json()["url"]).content == content
    v1 = on_b.client.post(HANDLE, files={"file": ("v1.pdf", content)})
    assert v1.status_code == 201
    assert on_a.get_file(v1.json()["id"]).json()["status"] == "available"

    # Twenty direct uploads nobody completes: the two sweepers settle each exactly once.
    before = _settled_count(a) + _settled_count(b)
    tickets = [on_a.created(f"s{i}.pdf", "application/pdf") for i in range(20)]
    for t in tickets:
        response = httpx.post(t["uploadUrl"], data=t["fields"], files={"file": ("s.pdf", content)})
        assert response.status_code == 204
    wait_until(
        lambda: all(on_b.get_file(t["id"]).json()["status"] == "available" for t in tickets),
        timeout=30,
    )
    assert _settled_count(a) + _settled_count(b) - before == len(tickets)
    on_a.client.close()
    on_b.client.close()


def test_a_replica_killed_mid_upload_leaves_the_other_serving_everything(
    replicas: tuple[ServerProcess, ServerProcess], seaweedfs: SeaweedFS
) -> None:
    a, b = replicas
    creds = a.new_account("killed")
    on_a, on_b = make_api(a, creds), make_api(b, creds)
    content = pdf_bytes(24 << 20)  # several multipart parts
    boundary = "replicaboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    url = urlsplit(a.base_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    bucket = a.env_overrides["ASSURED_BUCKET"]
    store = seaweedfs.client()
    try:
        sock.sendall(
            (
                f"POST {HANDLE} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Authorization: {on_a.client.headers['authorization']}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(head) + len(content) + len(tail)}\r\n\r\n"
            ).encode()
            + head
        )
        sock.sendall(content[: 12 << 20])
        wait_until(lambda: bool(store.list_multipart_uploads(Bucket=bucket).get("Uploads")))
        a.kill()
    finally:
        sock.close()

    # The other replica serves everything; the killed upload never became a file.
    available = on_b.client.get(on_b.files_path, params={"status": "available"}).json()["items"]
    assert available == []
    keys = [item["Key"] for item in store.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert not any(key.startswith("files/") for key in keys)
    ok = on_b.client.post(HANDLE, files={"file": ("after.pdf", pdf_bytes(5000))})
    assert ok.status_code == 201
    assert httpx.get(
        on_b.client.post("/api/v1/files/presign/", json={"file_url": ok.json()["file_url"]}).json()[
            "url"
        ]
    ).content == pdf_bytes(5000)
    listed = on_b.client.get(on_b.files_path).json()["items"]
    assert [f["status"] for f in listed if f["fileName"] == "big.pdf"] in ([], ["pending"])
    store.close()
    on_a.client.close()
    on_b.client.close()
