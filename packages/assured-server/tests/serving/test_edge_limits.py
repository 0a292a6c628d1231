"""Header and URL limits enforced while the head arrives, against real server processes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from edge_support import RawResponse, connect, read_response, running_server, serving_processes

from assured_server.serving.protocol import MAX_PIPELINED
from assured_testing import ServerProcess

MIB = 1 << 20
ERROR_KEYS = {"code", "detail", "request_id"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("edge-limits")) as proc:
        yield proc


def assert_error(response: RawResponse, status: int, code: str) -> None:
    assert response.status == status, response
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == ERROR_KEYS and body["code"] == code, body
    assert body["request_id"] == response.headers["x-request-id"]


def exchange(server: ServerProcess, head: bytes) -> RawResponse:
    with connect(server) as sock:
        sock.sendall(head)
        return read_response(sock)


def get(target: str = "/healthz", headers: bytes = b"") -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: x\r\n".encode() + headers + b"\r\n"


def header(name: bytes, size: int) -> bytes:
    """A header line whose name plus value is ``size`` bytes."""
    return name + b": " + b"v" * (size - len(name)) + b"\r\n"


class BigHeader(threading.Thread):
    """A client that sends one header of ``size`` bytes, and reads the answer whatever happens."""

    def __init__(self, server: ServerProcess, size: int) -> None:
        super().__init__(daemon=True)
        self.server, self.size = server, size
        self.sent = 0
        self.refused = False
        self.response: RawResponse | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connect(self.server, timeout=60) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                piece = b"a" * (256 << 10)
                try:
                    while self.sent < self.size:
                        sock.sendall(piece)
                        self.sent += len(piece)
                    sock.sendall(b"\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.refused = True
                self.response = read_response(sock, timeout=60)
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.mark.parametrize("workers", [1, 2])
def test_four_16_mib_headers_at_once_are_refused_while_arriving_and_rss_barely_moves(
    tmp_path: Path, workers: int
) -> None:
    with running_server(tmp_path / "data", workers=workers) as server:
        processes = serving_processes(server)
        assert len(processes) == workers
        before = {p.pid: p.memory_info().rss for p in processes}
        peak = dict(before)
        clients = [BigHeader(server, 16 * MIB) for _ in range(4)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 120
        while any(c.is_alive() for c in clients) and time.monotonic() < deadline:
            for p in processes:  # sampled while the headers arrive
                peak[p.pid] = max(peak[p.pid], p.memory_info().rss)
            clients[0].join(0.01)
        for client in clients:
            client.join(max(0.0, deadline - time.monotonic()))
            assert not client.is_alive() and client.error is None, client.error
            assert client.response is not None
            assert_error(client.response, 431, "HEADERS_TOO_LARGE")
            assert client.response.headers["connection"] == "close"
            # Refused before its bytes were all sent: the server stopped reading early.
            assert client.refused and client.sent < 16 * MIB, client.sent
        grown = sum(peak[pid] - before[pid] for pid in before)
        assert grown < 30 * MIB, f"RSS grew by {grown / MIB:.1f} MiB"
        assert all(p.is_running() for p in processes)
        assert exchange(server, get()).status == 200


def test_one_header_just_under_8_kib_is_served_and_just_over_is_431(server: ServerProcess) -> None:
    assert exchange(server, get(headers=header(b"X-Big", 8192))).status == 200
    # Just over: judged exactly after parsing (the streaming guard allows separators).
    assert_error(exchange(server, get(headers=header(b"X-Big", 8193))), 431, "HEADERS_TOO_LARGE")
    # Far over, arriving slowly: refused by the guard, and the connection closed.
    with connect(server) as sock:
        sock.sendall(get(headers=b"")[:-2] + b"X-Big: ")
        for _ in range(20):
            try:
                sock.sendall(b"a" * 1024)
            except (BrokenPipeError, ConnectionResetError):
                break
        response = read_response(sock)
    assert_error(response, 431, "HEADERS_TOO_LARGE")
    assert response.headers["connection"] == "close"


def test_a_head_just_under_32_kib_is_served_and_over_is_431(server: ServerProcess) -> None:
    host = len(b"host") + len(b"x")
    under = [header(b"X-%d" % i, 8192) for i in range(3)]
    under.append(header(b"X-3", 8192 - host))
    assert exchange(server, get(headers=b"".join(under))).status == 200
    over = [*under[:3], header(b"X-3", 8192 - host + 1)]
    assert_error(exchange(server, get(headers=b"".join(over))), 431, "HEADERS_TOO_LARGE")
    many = b"".join(header(b"X-%d" % i, 4000) for i in range(12))  # 48 KB: past the guard
    response = exchange(server, get(headers=many))
    assert_error(response, 431, "HEADERS_TOO_LARGE")
    assert response.headers["connection"] == "close"


def test_a_url_over_8_kib_is_a_json_400(server: ServerProcess) -> None:
    at_limit = "/healthz?" + "q" * (8192 - len("/healthz?"))
    assert exchange(server, get(at_limit)).status == 200
    assert_error(exchange(server, get(at_limit + "q")), 400, "INVALID_REQUEST")
    response = exchange(server, get("/healthz?" + "q" * 20_000))
    assert_error(response, 400, "INVALID_REQUEST")
    assert response.headers["connection"] == "close"


def test_an_endless_trailer_after_a_chunked_body_is_cut_off(server: ServerProcess) -> None:
    process = psutil.Process(server.proc.pid)  # type: ignore[union-attr]
    before = process.memory_info().rss
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer: "
        )
        sent = 0
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            while sent < 64 * MIB:
                sock.sendall(b"t" * (64 << 10))
                sent += 64 << 10
    assert sent < 16 * MIB, f"{sent} bytes of trailer were taken"
    assert process.memory_info().rss - before < 30 * MIB
    assert exchange(server, get()).status == 200


def test_chunked_bodies_with_small_trailers_are_served(server: ServerProcess) -> None:
    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (b'{"api_key"', b': "nope"}'))
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + body + b"0\r\nX-T: 1\r\n\r\n"
        )
        assert read_response(sock).status == 401  # parsed whole: a wrong key
        sock.sendall(get())
        assert read_response(sock).status == 200


def _answers_until_closed(sock: socket.socket) -> int:
    data = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data.count(b"HTTP/1.1 ")


def test_pipelined_requests_are_answered_in_order_up_to_a_bound(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"".join(get(f"/healthz?n={i}") for i in range(10)))
        for _ in range(10):
            assert read_response(sock).status == 200
    process = psutil.Process(server.proc.pid)  # type: ignore[union-attr]
    before = process.memory_info().rss
    flood = [connect(server, timeout=60) for _ in range(20)]
    try:
        for sock in flood:  # thousands of tiny requests in one read each
            sock.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" * 8000)
        answers = [_answers_until_closed(sock) for sock in flood]
    finally:
        for sock in flood:
            sock.close()
    assert max(answers) <= MAX_PIPELINED + 2, answers
    assert process.memory_info().rss - before < 30 * MIB
    assert exchange(server, get()).status == 200


def test_a_malformed_request_is_a_json_400_not_text(server: ServerProcess) -> None:
    response = exchange(server, b"GET /healthz HTTP/1.1\nHost: x\n\n")
    assert_error(response, 400, "INVALID_REQUEST")
    assert response.headers["connection"] == "close"


def test_requests_on_one_connection_keep_working_after_large_heads(server: ServerProcess) -> None:
    with connect(server) as sock:
        for size in (100, 8000, 100):
            sock.sendall(get(headers=header(b"X-Big", size)))
            assert read_response(sock).status == 200
        sock.sendall(get(headers=header(b"X-Big", 8193)))  # the exact check keeps the connection
        assert read_response(sock).status == 431
        sock.sendall(get())
        assert read_response(sock).status == 200


def test_the_server_keeps_serving_other_clients_while_one_sends_a_huge_header(
    server: ServerProcess,
) -> None:
    with connect(server) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4000)
        assert exchange(server, get()).status == 200
        slow.sendall(b"a" * 8000)
        assert_error(read_response(slow), 431, "HEADERS_TOO_LARGE")
    assert psutil.Process(server.proc.pid).is_running()  # type: ignore[union-attr]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10):
        pass
