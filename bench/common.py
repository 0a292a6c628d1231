"""Shared pieces of the benchmarks: a server process, an RSS sampler, synthetic bodies."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from assured_server.testing import Credentials, ServerProcess

CHUNK = 1 << 20
PDF_HEAD = b"%PDF-1.7\n"


def pdf_stream(total: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """``total`` bytes of a PDF-looking body, generated chunk by chunk (never held whole)."""
    block = bytes(range(256)) * (chunk // 256)
    yield PDF_HEAD
    sent = len(PDF_HEAD)
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


class RssSampler:
    """Samples a process's resident set size every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self.baseline = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._proc.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclass
class BenchServer:
    """A server for one benchmark, with an account and a token."""

    proc: ServerProcess
    creds: Credentials
    token: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, data_dir: Path, env: dict[str, str]) -> BenchServer:
        """Start a server and make an account on it."""
        proc = ServerProcess(data_dir, env_overrides=env).start()
        creds = proc.new_account("bench")
        token = proc.token(creds)
        return cls(proc, creds, token, {"Authorization": f"Bearer {token}"})

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc.proc is not None
        return self.proc.proc.pid

    def client(self) -> httpx.Client:
        """An authenticated client."""
        return httpx.Client(base_url=self.proc.base_url, headers=self.headers, timeout=600)


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    return statistics.median(values)


def mib(value: float) -> float:
    """Bytes in MiB."""
    return value / (1 << 20)


def timed(fn: object) -> float:
    """Seconds ``fn()`` took."""
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started
