"""What the server writes is its own: a 0700 data dir, 0600 files, and earlier ones tightened."""

from __future__ import annotations

import os
import re
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from server_helpers import make_api, pdf_bytes, wait_until

from assured_testing import ServerProcess

BOUNDARY = "privatefilesboundary42"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _tree(root: Path) -> Iterator[Path]:
    """``root`` and everything under it."""
    yield root
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            yield Path(folder, name)


def _open_to_others(root: Path) -> list[str]:
    """Every path under ``root`` that is not exactly 0700 (folders) or 0600 (files)."""
    return [
        f"{path}: {oct(_mode(path))}"
        for path in _tree(root)
        if _mode(path) != (0o700 if path.is_dir() else 0o600)
    ]


def _upload_held_open(ticket: dict[str, Any]) -> tuple[socket.socket, bytes]:
    """A v3 form upload of 6 MiB sent up to its middle (its temporary file is on disk), and
    the rest of its body."""
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in ticket["fields"].items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    content, tail = pdf_bytes(6 << 20), f"\r\n--{BOUNDARY}--\r\n".encode()
    url = urlsplit(ticket["uploadUrl"])
    sock = socket.create_connection((url.hostname, url.port), timeout=30)
    sock.sendall(
        (
            f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(head) + len(content) + len(tail)}\r\n\r\n"
        ).encode()
        + head
        + content[: 3 << 20]
    )
    return sock, content[3 << 20 :] + tail


def _finish_upload(sock: socket.socket, rest: bytes) -> bytes:
    """Send the rest of the body; the server's whole answer."""
    with sock:
        sock.sendall(rest)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_new_server_keeps_the_data_dir_0700_and_every_file_0600_through_an_upload(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        api = make_api(server, server.new_account("private"))
        ticket = api.created("a.pdf", "application/pdf")
        sock, rest = _upload_held_open(ticket)
        objects = server.data_dir / "objects"

        def temporary_file() -> list[Path]:
            return [p for p in _tree(objects) if p.name.startswith(".tmp.")]

        wait_until(lambda: bool(temporary_file()), timeout=30)
        # Mid-upload: the temporary file and its folders too.
        assert _open_to_others(server.data_dir) == []
        assert _finish_upload(sock, rest).startswith(b"HTTP/1.1 204")
        assert api.get_file(ticket["id"]).json()["status"] == "available"
        # SQLite's journal files exist while the server runs: they must be covered too.
        names = {p.name for p in server.data_dir.iterdir()}
        assert {"assured.db", "assured.db-wal", "assured.db-shm", "jwt_secret"} <= names
        assert any(p.name == ticket["id"] for p in _tree(objects))
        assert _open_to_others(server.data_dir) == []
        api.client.close()
    finally:
        server.stop()


def test_workers_keep_their_metrics_owner_only(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env_overrides={"ASSURED_WORKERS": "2"}).start()
    try:
        assert httpx.get(f"{server.base_url}/readyz", timeout=30).status_code == 200
        metrics = server.data_dir / "run" / "metrics"
        assert list(metrics.glob("*.db")), "a worker recorded the request"
        assert _open_to_others(server.data_dir) == []
    finally:
        server.stop()


def test_an_admin_command_on_a_new_data_dir_makes_it_0700_and_its_files_0600(
    tmp_path: Path,
) -> None:
    # Not started: the admin command alone creates the data dir and its parent.
    server = ServerProcess(tmp_path / "new" / "data")
    server.admin("create-account", "--name", "first")
    assert _mode(tmp_path / "new") == 0o700
    assert {p.name for p in server.data_dir.iterdir()} >= {"assured.db", "jwt_secret"}
    assert _open_to_others(server.data_dir) == []


def test_what_an_earlier_version_left_open_is_tightened_at_start_and_logged_once(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        api = make_api(server, server.new_account("earlier"))
        ticket = api.created("a.pdf", "application/pdf")
        assert api.post_form(ticket, pdf_bytes()).status_code == 204
        api.client.close()
    finally:
        server.stop()
    # As an earlier version (umask 022) would have left it, beside things that are not ours.
    (data / "notes.txt").write_text("the operator's own file")
    (data / "backups").mkdir()
    theirs = {data / "notes.txt", data / "backups"}
    logs = set(data.glob("server-*.log"))
    loosened = 0
    for path in _tree(data):
        path.chmod(0o755 if path.is_dir() else 0o644)
        loosened += path not in theirs | logs
    assert loosened >= 8, "the data dir, secrets, database and stored objects"

    log_path = data / f"server-{server.port}.log"
    before = log_path.stat().st_size
    server.start()
    try:
        mine = [p for p in _tree(data) if p not in theirs | logs and p.name != "backups"]
        assert [f"{p}: {oct(_mode(p))}" for p in mine if _mode(p) & 0o077] == []
        assert _mode(data / "notes.txt") == 0o644 and _mode(data / "backups") == 0o755
        log = log_path.read_bytes()[before:].decode()
        counts = re.findall(r"tightened permissions of (\d+) path\(s\) in the data dir", log)
        assert counts == [str(loosened)], log[-2000:]
        # Nothing is left to change at the next start: no line then.
        server.stop()
        before = log_path.stat().st_size
        server.start()
        assert "tightened permissions" not in log_path.read_bytes()[before:].decode()
    finally:
        server.stop()
