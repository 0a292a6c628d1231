"""Many connections: idle ones cost nothing, stalled ones are evicted at the cap, the open-file
limit is raised at start, and running out of descriptors neither stops /healthz nor floods logs."""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from edge_support import (
    connect,
    is_closed,
    read_response,
    running_server,
    serving_processes,
    wait_until_closed,
)
from server_helpers import wait_until

from assured_server.serving.ledger import FD_RESERVE, FDS_PER_CONNECTION
from assured_testing import ServerProcess

CAP = 50
STALLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Stalled: "


def healthz(server: ServerProcess, timeout: float = 10.0) -> int:
    return httpx.get(f"{server.base_url}/healthz", timeout=timeout).status_code


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "ASSURED_MAX_CONNECTIONS": str(CAP),
        "ASSURED_HEADER_TIMEOUT": "120",
        "ASSURED_KEEP_ALIVE_TIMEOUT": "120",
    }
    with running_server(tmp_path_factory.mktemp("edge-capped"), env) as proc:
        yield proc


def test_healthz_answers_while_150_idle_connections_are_open(tmp_path: Path) -> None:
    env = {"ASSURED_KEEP_ALIVE_TIMEOUT": "120", "ASSURED_HEADER_TIMEOUT": "120"}
    with running_server(tmp_path / "data", env) as server:
        idle = [connect(server) for _ in range(150)]
        try:
            started = time.monotonic()
            assert healthz(server) == 200
            assert time.monotonic() - started < 5.0
            assert not any(is_closed(sock) for sock in idle)
        finally:
            for sock in idle:
                sock.close()


def test_at_the_cap_stalled_connections_make_room_and_healthz_answers(
    capped: ServerProcess,
) -> None:
    stalled = []
    try:
        for _ in range(200):
            sock = connect(capped)
            sock.sendall(STALLED)
            stalled.append(sock)
        for _ in range(3):
            assert healthz(capped) == 200
        # The oldest went first, and no more than the cap stay open.
        closed = wait_until_closed(stalled, timeout=30)
        while len(closed) < len(stalled) - CAP:
            more = wait_until_closed([s for s in stalled if s not in closed], timeout=0.5)
            if not more:
                break
            closed.update(more)
        assert len(closed) >= len(stalled) - CAP
        assert stalled[0] in closed
    finally:
        for sock in stalled:
            sock.close()


def test_when_every_connection_has_a_request_in_the_app_a_new_one_gets_503(
    capped: ServerProcess,
) -> None:
    # A JSON body that never comes: each request waits in the app for it. The app asking
    # for the body sends "100 Continue", which proves the request reached it.
    running = []
    try:
        for _ in range(CAP):
            sock = connect(capped)
            sock.sendall(
                b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            )
            running.append(sock)
            assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        refused = None
        for _ in range(10):  # a connection left over from an earlier test would make room
            with connect(capped) as newcomer:
                newcomer.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                response = read_response(newcomer)
            if response.status == 503:
                refused = response
                break
        assert refused is not None, "no new connection was refused"
        body = refused.json()
        assert body["code"] == "SERVICE_UNAVAILABLE" and refused.headers["retry-after"]
        assert refused.headers["connection"] == "close"
        assert not any(is_closed(sock) for sock in running), "a running request was evicted"
    finally:
        for sock in running:
            sock.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_soft_open_file_limit_is_raised_to_the_hard_limit_at_start(
    tmp_path: Path, workers: int
) -> None:
    with running_server(tmp_path / "data", workers=workers, open_file_limits=(256, 2048)) as server:
        for process in serving_processes(server):
            limits = Path(f"/proc/{process.pid}/limits").read_text()
            match = re.search(r"^Max open files\s+(\d+)\s+(\d+)", limits, re.M)
            assert match is not None and match.groups() == ("2048", "2048"), limits
        log = server.log_tail(200)
        assert log.count("open-file limit raised from 256 to 2048") == 1, log
        cap = (2048 - FD_RESERVE) // FDS_PER_CONNECTION
        assert f"at most {cap} connections per process" in log


class Flood(threading.Thread):
    """Keeps ``size`` stalled connections open for ``seconds``, replacing the ones closed."""

    def __init__(self, server: ServerProcess, size: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.server, self.size, self.seconds = server, size, seconds
        self.opened = 0

    def _open(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=2)
            sock.sendall(STALLED)
        except OSError:
            return None
        self.opened += 1
        return sock

    def run(self) -> None:
        socks = [s for s in (self._open() for _ in range(self.size)) if s is not None]
        deadline = time.monotonic() + self.seconds
        try:
            while time.monotonic() < deadline:
                readable, _, _ = select.select(socks, [], [], 0.2)
                for sock in readable:
                    if is_closed(sock):
                        socks.remove(sock)
                        sock.close()
                while len(socks) < self.size and time.monotonic() < deadline:
                    replacement = self._open()
                    if replacement is None:
                        break
                    socks.append(replacement)
        finally:
            for sock in socks:
                sock.close()


def test_a_flood_past_the_open_file_limit_neither_stops_healthz_nor_floods_the_log(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path / "data", open_file_limits=(200, 200)) as server:
        assert server.log_path is not None
        log_before = server.log_path.stat().st_size
        flood = Flood(server, size=400, seconds=8)
        started = time.monotonic()
        flood.start()
        wait_until(lambda: flood.opened >= 400, timeout=30)
        answered = None
        while answered is None and time.monotonic() - started < 25:
            try:
                if healthz(server, timeout=3) == 200:
                    answered = time.monotonic()
            except httpx.HTTPError:
                continue
        flood.join(60)
        flooded = time.monotonic() - started
        assert answered is not None, "/healthz never answered during the flood"
        assert answered - started < 20, f"/healthz answered after {answered - started:.1f}s"
        assert healthz(server) == 200
        log = server.log_path.read_bytes()[log_before:].decode(errors="replace")
        accept_errors = log.count("cannot accept connections")
        assert accept_errors <= flooded + 2, f"{accept_errors} accept lines in {flooded:.0f}s"
        assert len(log) < 64 << 10, f"{len(log)} bytes of log during the flood"
        assert "Traceback" not in log, log[log.index("Traceback") - 400 :][:3000]
