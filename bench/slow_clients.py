"""Row 7: the server's memory under hostile clients.

1,000 slow clients hold connections open, each dribbling its head one byte at a time, while
four more send 64 MiB headers at once. The server's RSS is sampled the whole time; its peak is
the figure. The server allows the connections (``ASSURED_MAX_CONNECTIONS``) and does not time
them out during the run (``ASSURED_HEADER_TIMEOUT``); the 64 MiB headers are refused by the
edge as they arrive.

Every loop is bounded by a deadline.
"""

from __future__ import annotations

import resource
import select
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from assured_testing import ServerProcess
from bench.common import MIB, RssSampler, mib

SLOW = 1000
BIG = 4
BIG_BYTES = 64 * MIB
SERVER_ENV = {"ASSURED_MAX_CONNECTIONS": str(SLOW + 100), "ASSURED_HEADER_TIMEOUT": "300"}
DEADLINE_SECONDS = 240.0
DRIBBLE_SECONDS = 1.0


@dataclass
class SlowResult:
    """Peak and idle RSS of the server, and what the clients saw."""

    peak_mib: float
    idle_mib: float
    slow_open: int
    """Slow connections still open when the big headers were done."""
    refused: int
    """Big headers answered 431 before all their bytes were sent."""
    sent_mib: float
    """The most any big-header client sent before it was refused."""


def enough_descriptors() -> str:
    """Raise this process's open-file limit; an empty string, or why the row cannot run."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = SLOW + BIG + 64
    if soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(hard, need * 2)
        if target >= need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return "" if soft >= need else f"needs {need} open files, the hard limit is {hard}"


class _BigHeader(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.sent = 0
        self.status = b""

    def run(self) -> None:
        piece = b"a" * (256 << 10)
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Big: ")
                while self.sent < BIG_BYTES:
                    sock.sendall(piece)
                    self.sent += len(piece)
            except OSError:
                pass  # refused: the edge closed the connection
            try:
                self.status = sock.recv(12)[9:12]
            except OSError:
                self.status = b""


def _dribble(socks: list[socket.socket], stop: threading.Event) -> None:
    """One more byte of a header name on every slow connection, every second."""
    while not stop.wait(DRIBBLE_SECONDS):
        for sock in socks:
            try:
                sock.send(b"x")
            except OSError:
                continue


def run(work: Path) -> SlowResult:
    """Start a server of its own, hold the slow connections, send the big headers."""
    server = ServerProcess(work / "server-slow", env_overrides=SERVER_ENV).start()
    assert server.proc is not None
    pid, port = server.proc.pid, server.port
    socks: list[socket.socket] = []
    stop = threading.Event()
    try:
        idle = RssSampler(pid).baseline
        with RssSampler(pid) as sampler:
            deadline = time.monotonic() + DEADLINE_SECONDS
            for _ in range(SLOW):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow")
                socks.append(sock)
            dribbler = threading.Thread(target=_dribble, args=(socks, stop), daemon=True)
            dribbler.start()
            bigs = [_BigHeader(port) for _ in range(BIG)]
            for big in bigs:
                big.start()
            for big in bigs:
                big.join(max(0.0, deadline - time.monotonic()))
            stop.set()
            dribbler.join(10)
            readable, _, _ = select.select(socks, [], [], 0)
        return SlowResult(
            peak_mib=mib(sampler.peak),
            idle_mib=mib(idle),
            slow_open=SLOW - len(readable),  # a closed one would be readable (EOF)
            refused=sum(1 for b in bigs if b.status == b"431" and b.sent < BIG_BYTES),
            sent_mib=max(mib(b.sent) for b in bigs),
        )
    finally:
        stop.set()
        for sock in socks:
            sock.close()
        server.stop()
