"""Helpers of the edge tests: raw sockets against a real server process, and its processes."""

from __future__ import annotations

import json
import select
import socket
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from assured_testing import ServerProcess


@contextmanager
def running_server(
    data_dir: Path,
    env: dict[str, str] | None = None,
    *,
    workers: int = 1,
    open_file_limits: tuple[int, int] | None = None,
) -> Iterator[ServerProcess]:
    """A server of the test's own (stopped, with its workers, whatever happens)."""
    overrides = {"ASSURED_WORKERS": str(workers), **(env or {})}
    server = ServerProcess(data_dir, env_overrides=overrides, open_file_limits=open_file_limits)
    server.start()
    try:
        yield server
    finally:
        children = serving_processes(server) if workers > 1 else []
        server.stop()
        for child in children:
            if child.is_running():
                child.kill()


def serving_processes(server: ServerProcess) -> list[psutil.Process]:
    """The processes that accept connections: the server, or the workers it supervises."""
    assert server.proc is not None
    parent = psutil.Process(server.proc.pid)
    if server.env_overrides.get("ASSURED_WORKERS", "1") == "1":
        return [parent]
    workers = []
    for child in parent.children():
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.Error:  # gone, or a zombie not yet reaped
            continue
    return workers


def connect(server: ServerProcess, timeout: float = 10.0) -> socket.socket:
    """A new TCP connection to the server."""
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


@dataclass
class RawResponse:
    """A response read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


# Bytes read past the end of a response (the next pipelined one, in the same read): kept for the
# next ``read_response`` on that socket.
_unread: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def read_response(sock: socket.socket, timeout: float = 15.0) -> RawResponse:
    """Read one response (head and Content-Length body); what came before a reset counts.

    Bytes that arrived after it in the same read stay for the next call on ``sock``.
    """
    deadline = time.monotonic() + timeout
    data = _unread.pop(sock, b"")
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in head[1:])
            }
            length = int(headers.get("content-length", "0"))
            if len(data) >= head_end + 4 + length:
                body = data[head_end + 4 : head_end + 4 + length]
                if len(data) > head_end + 4 + length:
                    _unread[sock] = data[head_end + 4 + length :]
                return RawResponse(int(head[0].split()[1]), headers, body)
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no whole response within {timeout}s: {data[:200]!r}")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise AssertionError(f"connection closed before a whole response: {data[:200]!r}")
        data += chunk


def is_closed(sock: socket.socket) -> bool:
    """Whether the server closed the connection (EOF or reset); never blocks."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        sock.setblocking(False)
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except BlockingIOError:
        return False
    finally:
        sock.setblocking(True)


def wait_until_closed(
    socks: list[socket.socket], timeout: float, poke: bytes | None = None, every: float = 0.5
) -> dict[socket.socket, float]:
    """When each socket was closed by the server (monotonic times), waiting at most ``timeout``.

    With ``poke``, each open socket sends it every ``every`` seconds (a slow client). The wait
    between pokes is a bounded select on the sockets, never a sleep.
    """
    closed: dict[socket.socket, float] = {}
    deadline = time.monotonic() + timeout
    next_poke = time.monotonic() + every
    while len(closed) < len(socks) and time.monotonic() < deadline:
        open_socks = [s for s in socks if s not in closed]
        wait = max(0.0, min(next_poke, deadline) - time.monotonic())
        readable, _, _ = select.select(open_socks, [], [], wait)
        for sock in readable:
            if is_closed(sock):
                closed[sock] = time.monotonic()
        if poke is not None and time.monotonic() >= next_poke:
            next_poke = time.monotonic() + every
            for sock in open_socks:
                if sock in closed:
                    continue
                try:
                    sock.send(poke)
                except OSError:
                    closed[sock] = time.monotonic()
    return closed
