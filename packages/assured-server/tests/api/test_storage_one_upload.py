"""One upload in flight per v3 form on the embedded storage: a second POST of the same form is
refused (403 ``AccessDenied``) as soon as its fields are read, before its file is sent, in any
worker process; after a failed or abandoned first upload the form works again.

The clients here are raw sockets, so that a test decides exactly how much of a body was sent
when the answer comes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from server_helpers import (
    TEST_MAX_UPLOAD,
    Api,
    assert_s3_error,
    in_database,
    make_api,
    pdf_bytes,
    sha256,
    wait_until,
)
from sqlalchemy.ext.asyncio import AsyncSession

from assured_server.db.models import StoredFile
from assured_testing import ServerProcess

pytestmark = pytest.mark.usefixtures("embedded_storage")

BOUNDARY = "one-upload-5c0f2d"
CONTENT = pdf_bytes(400_000)
WAIT = 30.0


def _head_of_form(ticket: dict[str, Any]) -> bytes:
    """The form's fields, then the file part's headers: everything before the file's bytes."""
    out = bytearray()
    for name, value in ticket["fields"].items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    out += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return bytes(out)


def _open_post(server: ServerProcess, ticket: dict[str, Any], file_bytes: bytes) -> socket.socket:
    """A POST of the form that declares all of ``CONTENT`` and sends ``file_bytes`` of it."""
    head = _head_of_form(ticket)
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    path = urlsplit(ticket["uploadUrl"]).path
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(head) + len(CONTENT) + len(tail)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    try:
        sock.sendall(request + head + file_bytes)
    except BaseException:
        sock.close()
        raise
    return sock


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of the answer (bounded in time by the socket's timeout)."""
    deadline = time.monotonic() + WAIT
    data = b""
    while b"\r\n\r\n" not in data:
        assert time.monotonic() < deadline, "no response headers in time"
        chunk = sock.recv(65536)
        assert chunk, f"connection closed early: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        assert time.monotonic() < deadline, "response body not complete in time"
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response body ended"
        body += chunk
    return int(lines[0].split()[1]), body[:length]


def _held(server: ServerProcess, file_id: str) -> bool:
    """Whether an upload (or a sweeper) holds the file's row."""

    async def work(session: AsyncSession) -> bool:
        row = await session.get(StoredFile, file_id)
        assert row is not None
        return row.sweep_claimed_until is not None

    return in_database(server, work)


def _stalled_first(api: Api, ticket: dict[str, Any]) -> socket.socket:
    """A first POST stopped in the middle of its file, once it holds the upload."""
    first = _open_post(api.server, ticket, CONTENT[:150_000])
    try:
        wait_until(lambda: _held(api.server, ticket["id"]), WAIT)
    except BaseException:
        first.close()
        raise
    return first


def _assert_refused_before_its_file(api: Api, ticket: dict[str, Any], copies: int) -> None:
    """``copies`` more POSTs of the form, each sending its fields and not one byte of its file:
    every one is answered 403 AccessDenied while its file is still unsent."""
    others = [_open_post(api.server, ticket, b"") for _ in range(copies)]
    try:
        for sock in others:
            status, body = _read_response(sock)
            assert status == 403, body
            assert b"<Code>AccessDenied</Code>" in body, body
    finally:
        for sock in others:
            sock.close()


def test_a_second_post_of_a_form_in_flight_is_refused_before_its_file_is_read(api: Api) -> None:
    ticket = api.created()
    first = _stalled_first(api, ticket)
    try:
        _assert_refused_before_its_file(api, ticket, copies=20)
        # The first upload was not disturbed: it finishes and stores the file.
        first.sendall(CONTENT[150_000:] + f"\r\n--{BOUNDARY}--\r\n".encode())
        status, body = _read_response(first)
    finally:
        first.close()
    assert status == 204, body
    file = api.get_file(ticket["id"]).json()
    assert file["status"] == "available" and file["sha256"] == sha256(CONTENT)
    assert not _held(api.server, ticket["id"])
    # After it succeeded, a repeat is refused as before.
    assert_s3_error(api.post_form(ticket, CONTENT), 403, "AccessDenied")


def test_after_the_first_client_disconnects_the_same_form_works(api: Api) -> None:
    ticket = api.created()
    first = _stalled_first(api, ticket)
    first.close()  # the client goes away mid-file
    wait_until(lambda: not _held(api.server, ticket["id"]), WAIT)
    assert api.get_file(ticket["id"]).json()["status"] == "pending"
    response = api.post_form(ticket, CONTENT)
    assert response.status_code == 204, response.text
    assert api.get_file(ticket["id"]).json()["sha256"] == sha256(CONTENT)


def test_after_a_failed_first_upload_the_same_form_works(api: Api) -> None:
    ticket = api.created()
    # An empty file fails (EntityTooSmall) and leaves the file pending.
    assert_s3_error(api.post_form(ticket, b""), 400, "EntityTooSmall")
    assert not _held(api.server, ticket["id"])
    response = api.post_form(ticket, CONTENT)
    assert response.status_code == 204, response.text


@pytest.fixture
def workers_api(tmp_path: Path) -> Iterator[Api]:
    """An account on a server of two worker processes (the embedded default otherwise)."""
    server = ServerProcess(
        tmp_path / "data",
        env_overrides={"ASSURED_WORKERS": "2", "ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD)},
    ).start()
    try:
        client = make_api(server, server.new_account("workers"))
        yield client
        client.client.close()
    finally:
        server.stop()


def test_the_claim_holds_across_worker_processes(workers_api: Api) -> None:
    # The kernel spreads connections over the workers: with a claim kept in one process only,
    # some of these copies would reach another worker and be let in.
    ticket = workers_api.created()
    first = _stalled_first(workers_api, ticket)
    try:
        _assert_refused_before_its_file(workers_api, ticket, copies=12)
    finally:
        first.close()
    wait_until(lambda: not _held(workers_api.server, ticket["id"]), WAIT)
    assert workers_api.post_form(ticket, CONTENT).status_code == 204
