"""HTTP load from ``wrk`` (a separate C process): requests/s and latency percentiles.

Requests are described by small Lua scripts written to a temporary file; the token is put in
the script, never on a command line. ``wrk`` is the Debian package: when it is missing and we
run as root it is installed with apt-get, otherwise its rows are skipped with a note.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from bench.common import median

_INSTALL_TIMEOUT = 300
_APT_INSTALL = ["apt-get", "install", "-y", "wrk"]


def wrk_binary() -> tuple[str | None, str]:
    """``(path, note)``: wrk, installed first when missing and root; the note says why not."""
    found = shutil.which("wrk")
    if found:
        return found, ""
    if os.geteuid() != 0:
        return None, "wrk is not installed and we are not root to install it (apt-get install wrk)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Install; if the package list is missing or stale, update it once and try again.
    for commands in ([_APT_INSTALL], [["apt-get", "update"], _APT_INSTALL]):
        for command in commands:
            subprocess.run(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                timeout=_INSTALL_TIMEOUT,
                check=False,
            )
        found = shutil.which("wrk")
        if found:
            return found, ""
    return None, "wrk is missing and `apt-get install -y wrk` failed"


def lua_string(value: str) -> str:
    """A Lua string literal (long brackets cannot hold everything; escape instead)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    escaped = escaped.replace("\r", "\\r")
    return f'"{escaped}"'


def request_script(method: str, headers: dict[str, str], body: str | None = None) -> str:
    """A wrk script that sends one fixed request."""
    lines = [f"wrk.method = {lua_string(method)}"]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    return "\n".join(lines) + "\n"


def multipart_script(token: str, size: int, boundary: str = "wrkbench5d1c") -> str:
    """A wrk script that POSTs a ``size``-byte PDF as the ``file`` part of a form."""
    head = "%PDF-1.7\\n"
    return (
        f'local boundary = "{boundary}"\n'
        f'local content = "{head}" .. string.rep("0123456789abcdef", {(size - 9) // 16})'
        f' .. string.rep("x", {(size - 9) % 16})\n'
        'wrk.method = "POST"\n'
        'wrk.body = "--" .. boundary .. "\\r\\n"'
        ' .. "Content-Disposition: form-data; name=\\"file\\"; filename=\\"doc.pdf\\"\\r\\n"'
        ' .. "Content-Type: application/pdf\\r\\n\\r\\n"'
        ' .. content .. "\\r\\n--" .. boundary .. "--\\r\\n"\n'
        'wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary\n'
        f'wrk.headers["Authorization"] = {lua_string("Bearer " + token)}\n'
    )


@dataclass
class WrkResult:
    """One wrk run: throughput, latency percentiles in ms, and what went wrong."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    """Socket errors plus non-2xx/3xx responses."""


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse(output: str) -> WrkResult:
    """Read requests/s, p50, p99 and errors from ``wrk --latency`` output."""
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    total = re.search(r"([0-9]+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if rps is None or total is None or p50 is None or p99 is None:
        raise RuntimeError(f"cannot read wrk output:\n{output}")
    errors = 0
    socket = re.search(
        r"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)",
        output,
    )
    if socket is not None:
        errors += sum(int(x) for x in socket.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: ([0-9]+)", output)
    if non2xx is not None:
        errors += int(non2xx[1])
    return WrkResult(float(rps[1]), _ms(p50[1]), _ms(p99[1]), int(total[1]), errors)


def run(
    binary: str, url: str, script: str, *, connections: int, seconds: float, threads: int = 1
) -> WrkResult:
    """One wrk run against ``url`` (127.0.0.1 only), bounded by ``seconds``."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("benchmarks send traffic to 127.0.0.1 only")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-") as handle:
        handle.write(script)
        handle.flush()
        os.chmod(handle.name, 0o600)
        duration = max(1, round(seconds))
        result = subprocess.run(
            [
                binary,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                handle.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr[-500:]}")
    return parse(result.stdout)


def summarize(results: list[WrkResult]) -> WrkResult:
    """Medians of several runs (errors summed)."""
    return WrkResult(
        rps=median([r.rps for r in results]),
        p50_ms=median([r.p50_ms for r in results]),
        p99_ms=median([r.p99_ms for r in results]),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
    )


def alternate(
    binary: str, targets: dict[str, tuple[str, str]], *, connections: int, seconds: float, runs: int
) -> dict[str, WrkResult]:
    """Medians over ``runs`` of each ``name: (url, script)``, run by run in turn (after a
    one-second warm-up of each), so that every target sees the same machine."""
    for url, script in targets.values():
        run(binary, url, script, connections=connections, seconds=1)
    results: dict[str, list[WrkResult]] = {name: [] for name in targets}
    for _ in range(runs):
        for name, (url, script) in targets.items():
            results[name].append(run(binary, url, script, connections=connections, seconds=seconds))
    return {name: summarize(values) for name, values in results.items()}
