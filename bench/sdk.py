"""The SDK: its start-up times (import, CLI help), and its memory while uploading a large file."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assured_testing import clean_env
from bench.common import BenchServer, RssSampler, mib, pdf_stream

_UPLOAD_SCRIPT = """
import sys
from assured import Assured
with Assured() as client:
    record = client.files.upload(sys.argv[1])
    print(record.size)
"""


def _median_seconds(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def startup_times_ms(runs: int = 7) -> dict[str, float]:
    """``from assured import AssuredClient`` and ``assured --help``: median wall time of ``runs``
    starts, minus the median of a bare ``python -c pass``, in ms.

    Both run in this environment, where the CLI extra (typer, rich) is installed: that is what
    made httpx import its own command line (click, rich, pygments) with the SDK.
    """
    script = Path(sys.executable).with_name("assured")
    bare = _median_seconds([sys.executable, "-c", "pass"], runs)
    client = _median_seconds([sys.executable, "-c", "from assured import AssuredClient"], runs)
    cli_help = _median_seconds([str(script), "--help"], runs)
    return {"import_client": (client - bare) * 1000, "cli_help": (cli_help - bare) * 1000}


def upload_memory(size: int) -> dict[str, float]:
    """Peak RSS of a process that uploads a ``size``-byte file from a path with the sync client."""
    with tempfile.TemporaryDirectory(prefix="assured-bench-") as tmp:
        path = Path(tmp) / "big.pdf"
        with path.open("wb") as handle:
            for chunk in pdf_stream(size):
                handle.write(chunk)
        server = BenchServer.start(
            Path(tmp) / "server", {"ASSURED_MAX_UPLOAD_BYTES": str(size + (1 << 20))}
        )
        try:
            env = clean_env(
                {"ASSURED_BASE_URL": server.proc.base_url, "ASSURED_API_KEY": server.creds.api_key}
            )
            started = time.perf_counter()
            proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-c", _UPLOAD_SCRIPT, str(path)],
                env=env,
                stdout=subprocess.PIPE,
            )
            with RssSampler(proc.pid) as rss:
                out, _ = proc.communicate(timeout=900)
            seconds = time.perf_counter() - started
            if proc.returncode != 0 or int(out) != size:
                raise RuntimeError(f"SDK upload failed: {proc.returncode} {out!r}")
            return {"peak_rss_mib": mib(rss.peak), "mb_per_s": size / seconds / 1e6}
        finally:
            server.proc.stop()
            os.sync()
