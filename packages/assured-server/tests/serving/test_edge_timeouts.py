"""Slow and silent clients are closed: header, keep-alive (idle) and body timeouts."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from edge_support import connect, is_closed, read_response, running_server, wait_until_closed
from server_helpers import Api, make_api, pdf_bytes, stored_objects, wait_until

from assured_testing import ServerProcess

HEADER_TIMEOUT = 3.0
KEEP_ALIVE_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
# Timers never fire early; late by this much at most on a busy machine.
MARGIN = 20.0
EARLY = 0.2  # clock granularity between this process and the server's


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "ASSURED_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "ASSURED_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE_TIMEOUT),
        "ASSURED_BODY_TIMEOUT": str(BODY_TIMEOUT),
    }
    with running_server(tmp_path_factory.mktemp("edge-timeouts"), env) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[Api]:
    client = make_api(server, server.new_account("timeouts"))
    yield client
    client.client.close()


def test_100_slowloris_connections_are_closed_by_the_header_timeout(
    server: ServerProcess,
) -> None:
    socks = [connect(server) for _ in range(100)]
    try:
        opened = time.monotonic()
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow")
        # One more byte of the header name from each, every second, until the server closes.
        closed = wait_until_closed(socks, timeout=HEADER_TIMEOUT + MARGIN, poke=b"w", every=1.0)
        assert len(closed) == len(socks), f"{len(socks) - len(closed)} still open"
        first = min(closed.values()) - opened
        assert first >= HEADER_TIMEOUT - EARLY, f"closed after {first:.2f}s"
    finally:
        for sock in socks:
            sock.close()


def test_a_connection_that_never_sends_a_byte_is_closed_after_the_idle_timeout(
    server: ServerProcess,
) -> None:
    with connect(server) as sock:
        opened = time.monotonic()
        closed = wait_until_closed([sock], timeout=KEEP_ALIVE_TIMEOUT + MARGIN)
        assert sock in closed
        assert closed[sock] - opened >= KEEP_ALIVE_TIMEOUT - EARLY


def test_after_a_response_an_idle_connection_closes_and_a_trickling_head_times_out(
    server: ServerProcess,
) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).status == 200
        answered = time.monotonic()
        assert sock in wait_until_closed([sock], timeout=KEEP_ALIVE_TIMEOUT + MARGIN)
        assert time.monotonic() - answered >= KEEP_ALIVE_TIMEOUT - EARLY
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock).status == 200
        # The next head's time starts with its first byte, not with the connection.
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        closed = wait_until_closed([sock], timeout=HEADER_TIMEOUT + MARGIN, poke=b"X", every=0.3)
        assert sock in closed
        assert closed[sock] - started >= HEADER_TIMEOUT - EARLY


def test_a_stalled_v1_upload_is_closed_by_the_body_timeout_and_leaves_nothing(api: Api) -> None:
    files_before = api.file_count()
    objects_before = set(stored_objects(api.server))
    boundary = "edgeboundary"
    content = pdf_bytes(600_000)
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="stall.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        "POST /api/v1/files/handle/ HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: {api.client.headers['authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    timeouts_before = _edge_closes(api.server, "body_timeout")
    with connect(api.server) as sock:
        sock.sendall(head + body[: len(body) // 2])
        stalled = time.monotonic()
        # The upload is under way: its pending row exists while the body stalls.
        wait_until(lambda: api.file_count() == files_before + 1, timeout=BODY_TIMEOUT)
        closed = wait_until_closed([sock], timeout=BODY_TIMEOUT + MARGIN)
        assert sock in closed, "the stalled upload was not closed"
        assert closed[sock] - stalled >= BODY_TIMEOUT - EARLY
    # The app saw the disconnect and removed what it had started: no row, no bytes.
    wait_until(
        lambda: (
            set(stored_objects(api.server)) == objects_before and api.file_count() == files_before
        ),
        timeout=30,
    )
    assert _edge_closes(api.server, "body_timeout") == timeouts_before + 1


def _edge_closes(server: ServerProcess, reason: str) -> float:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    match = re.search(
        rf'^assured_http_edge_closes_total\{{reason="{reason}"\}} ([0-9.e+]+)$', text, re.M
    )
    return float(match[1]) if match else 0.0


def test_a_client_that_stops_reading_a_response_is_cut_off(api: Api) -> None:
    size = 16 << 20
    uploaded = api.client.post(
        "/api/v1/files/handle/", files={"file": ("big.pdf", pdf_bytes(size), "application/pdf")}
    )
    assert uploaded.status_code == 201, uploaded.text
    link = api.download_url(uploaded.json()["id"])
    assert link.status_code == 200, link.text
    url = urlsplit(link.json()["url"])
    before = _edge_closes(api.server, "write_timeout")
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", api.server.port))
        sock.sendall(f"GET {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
        # Not reading: the server's buffers fill, it stops writing, and then gives up on us.
        wait_until(
            lambda: _edge_closes(api.server, "write_timeout") > before,
            timeout=BODY_TIMEOUT + MARGIN,
        )
        received = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not is_closed(sock):
            try:
                chunk = sock.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += len(chunk)
        assert received < size, "the whole response arrived although the client stalled"
    finally:
        sock.close()
