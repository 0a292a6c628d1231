"""SIGKILL in the middle of an upload leaves no partial file and no available record."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from server_helpers import make_api, pdf_bytes, sha256, stored_objects, wait_until

from assured_testing import ServerProcess

BOUNDARY = "crashtestboundary1234"


def _form_head(fields: dict[str, str], declared_file_size: int) -> tuple[bytes, bytes]:
    """The multipart body up to the file data, and its tail after the data."""
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def crash_server(tmp_path: Path, private_database: dict[str, str]) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", env_overrides=private_database).start()
    yield proc
    proc.stop()


def test_sigkill_mid_upload_leaves_nothing_and_the_server_recovers(
    crash_server: ServerProcess,
) -> None:
    api = make_api(crash_server, crash_server.new_account("crash"))
    ticket = api.created("big.pdf", "application/pdf")
    content = pdf_bytes(6 << 20)
    head, tail = _form_head(ticket["fields"], len(content))
    url = urlsplit(ticket["uploadUrl"])
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    try:
        sock.sendall(
            (
                f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {len(head) + len(content) + len(tail)}\r\n\r\n"
            ).encode()
            + head
        )
        sock.sendall(content[: 3 << 20])  # half the file, then the power goes out

        def partial_on_disk() -> bool:
            temps = [p for p in stored_objects(crash_server) if p.name.startswith(".tmp.")]
            return bool(temps) and temps[0].stat().st_size >= 1 << 20

        wait_until(partial_on_disk, timeout=10)
        crash_server.kill()
    finally:
        sock.close()

    final = crash_server.data_dir / "objects" / "assured-files" / "files" / ticket["id"]
    assert not final.exists()
    leftovers = [p for p in stored_objects(crash_server) if p.name.startswith(".tmp.")]
    assert leftovers, "the test should have caught a partial temp file"

    api.client.close()
    crash_server.start()
    assert stored_objects(crash_server) == [], "temp files must be gone after the restart"
    api = make_api(crash_server, api.creds)
    assert api.get_file(ticket["id"]).json()["status"] == "pending"
    assert api.download_url(ticket["id"]).status_code == 409

    # The same form still works once the server is back: the first upload never happened.
    port_fixed = dict(ticket, uploadUrl=f"{crash_server.base_url}{url.path}")
    response = api.post_form(port_fixed, content)
    assert response.status_code == 204, response.text
    file = api.get_file(ticket["id"]).json()
    assert file["status"] == "available" and file["sha256"] == sha256(content)
    download = httpx.get(api.download_url(ticket["id"]).json()["url"], timeout=30)
    assert sha256(download.content) == sha256(content)
    api.client.close()


def test_bytes_committed_before_a_crash_are_verified_again_by_complete(
    crash_server: ServerProcess,
) -> None:
    """The window between committing the bytes and recording them: complete settles it."""
    api = make_api(crash_server, crash_server.new_account("window"))
    good, bad = api.created("a.pdf", "application/pdf"), api.created("b.png", "image/png")
    root = crash_server.data_dir / "objects" / "assured-files" / "files"
    root.mkdir(parents=True, exist_ok=True)
    content = pdf_bytes(7777)
    (root / good["id"]).write_bytes(content)
    (root / bad["id"]).write_bytes(b"not a png at all")

    settled = api.client.post(f"{api.files_path}/{good['id']}/complete").json()
    assert settled["status"] == "available" and settled["sha256"] == sha256(content)
    rejected = api.client.post(f"{api.files_path}/{bad['id']}/complete").json()
    assert rejected["status"] == "rejected"
    assert rejected["rejectionReason"] == "CONTENT_MISMATCH"
    assert not (root / bad["id"]).exists()
    api.client.close()
