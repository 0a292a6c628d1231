"""The one markdown table of a benchmark run: figures, comparisons, targets, met or MISSED."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.wrk import WrkResult

GIB = 1 << 30


@dataclass
class Row:
    """One line of the table."""

    section: str
    benchmark: str
    ours: str
    compared_with: str = "—"
    ratio: str = "—"
    target: str = "—"
    result: str = "—"


def verdict(ok: bool) -> str:
    """``met`` or ``MISSED``."""
    return "met" if ok else "**MISSED**"


def times(value: float) -> str:
    """A ratio as ``1.23×``."""
    return f"{value:.2f}×"


def rate(value: float, unit: str) -> str:
    """``12,345 unit``."""
    return f"{value:,.0f} {unit}"


def wrk_cell(result: WrkResult, unit: str = "req/s") -> str:
    """``2,345 req/s, p50 3.1 ms, p99 9.8 ms`` (and the errors, if any)."""
    text = f"{rate(result.rps, unit)}, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
    if result.errors:
        text += f" ({result.errors:,} errors of {result.requests:,})"
    return text


def render(rows: list[Row]) -> str:
    """The markdown table."""
    lines = [
        "| # | benchmark | ours | compared with | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row.section, row.benchmark, row.ours, row.compared_with, row.ratio]
        cells += [row.target, row.result]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's answer)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    """``load average 1.23, 1.50, 1.71`` (1, 5 and 15 minutes): how shared the machine is."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPU model, cores, memory, kernel, Python, and the load when the run started."""
    return (
        f"{cpu_model()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / GIB:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}; at the start {load_average()}"
    )
