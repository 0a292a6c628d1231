"""Shared pieces of the benchmarks: a server process, an RSS sampler, synthetic bodies, curl."""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from assured_testing import Credentials, ServerProcess

CHUNK = 1 << 20
MIB = 1 << 20
PDF_HEAD = b"%PDF-1.7\n"
# Long enough for a full run on one token (the default access token lives 15 minutes).
TOKEN_TTL = "7200"


def pdf_stream(total: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """``total`` bytes of a PDF-looking body, generated chunk by chunk (never held whole)."""
    block = bytes(range(256)) * (chunk // 256)
    yield PDF_HEAD
    sent = len(PDF_HEAD)
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


def write_pdf(path: Path, size: int) -> Path:
    """Write a ``size``-byte PDF-looking file (the source of the large uploads), durably.

    Synced so that its write-back does not compete with the first measured upload.
    """
    with path.open("wb") as handle:
        for chunk in pdf_stream(size):
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return path


class RssSampler:
    """Samples a process's resident set size every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self.cpu_seconds = 0.0
        self._cpu_start = 0.0
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
        self._cpu_start = self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.cpu_seconds = self._cpu() - self._cpu_start

    def _cpu(self) -> float:
        # User + system time of the process and all its threads (the server's worker threads).
        try:
            times = self._proc.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system


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
        proc = ServerProcess(
            data_dir, env_overrides={"ASSURED_ACCESS_TOKEN_TTL": TOKEN_TTL, **env}
        ).start()
        try:
            creds = proc.new_account("bench")
            token = proc.token(creds)
        except BaseException:
            proc.stop()  # the caller gets no handle to stop it with
            raise
        return cls(proc, creds, token, {"Authorization": f"Bearer {token}"})

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc.proc is not None
        return self.proc.proc.pid

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return self.proc.base_url

    def client(self) -> httpx.Client:
        """An authenticated client."""
        return httpx.Client(base_url=self.proc.base_url, headers=self.headers, timeout=600)

    def files_path(self, file_id: str = "") -> str:
        """``/v3/accounts/<account>/files[/<id>]``."""
        base = f"/v3/accounts/{self.creds.account_id}/files"
        return f"{base}/{file_id}" if file_id else base

    def stop(self) -> None:
        """Stop the process (bounded)."""
        self.proc.stop()


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    return statistics.median(values)


def mib(value: float) -> float:
    """Bytes in MiB."""
    return value / (1 << 20)


@dataclass
class Transfer:
    """One measured upload: wall seconds, and the receiving process's peak RSS and CPU time."""

    seconds: float
    peak_rss: int = 0
    cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0


@dataclass
class CurlResult:
    """One curl transfer: HTTP status, curl's own total time, and the response body."""

    status: int
    seconds: float
    body: bytes
    cpu_seconds: float
    """User + system CPU time of the curl process."""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def curl_binary() -> str:
    """curl: the upload client of the large-file rows (C, so the client is never the limit)."""
    found = shutil.which("curl")
    if found is None:
        raise RuntimeError("curl is needed for the large-upload benchmarks")
    return found


def curl_form(
    url: str,
    work: Path,
    *,
    fields: Sequence[tuple[str, str]] = (),
    file: Path,
    headers: dict[str, str] | None = None,
    timeout: float = 900,
) -> CurlResult:
    """POST ``fields`` and then ``file`` (as ``big.pdf``) as a streamed multipart form.

    Headers go through a 0600 file so that no token shows on a command line.
    """
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks send traffic to 127.0.0.1 only")
    header_file = work / "curl-headers"
    header_file.write_text("".join(f"{k}: {v}\n" for k, v in (headers or {}).items()))
    header_file.chmod(0o600)
    out = work / "curl-response"
    args = [curl_binary(), "-sS", "-o", str(out), "-w", "%{http_code} %{time_total}"]
    # No "Expect: 100-continue" round trip: every server here reads the body at once.
    args += ["-H", "Expect:", "-H", f"@{header_file}", "--max-time", str(int(timeout))]
    for name, value in fields:
        args += ["--form-string", f"{name}={value}"]
    args += ["-F", f"file=@{file};filename=big.pdf;type=application/pdf", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 30, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if result.returncode != 0:
        raise RuntimeError(f"curl failed ({result.returncode}): {result.stderr.strip()}")
    status, seconds = result.stdout.split()
    body = out.read_bytes() if out.exists() else b""
    return CurlResult(int(status), float(seconds), body, cpu)
