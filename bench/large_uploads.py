"""Rows 1 and 2: a large upload, proxied and direct, against the ceiling, the disk and SeaweedFS.

"proxied" and "direct" go to the SQLite + filesystem server; "pg-seaweed" is the proxied upload
to the PostgreSQL + SeaweedFS server (which streams the body on into SeaweedFS), when it runs.

Each round runs every contender once, in an order that changes from round to round, so that
noise from the shared machine falls on all of them alike; speeds are medians over the rounds
(ratios are those of the medians), RSS the highest peak seen. A smaller warm-up round goes
first and is not counted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench import baselines, direct_upload, proxied_upload
from bench.ceiling_app import CeilingProcess
from bench.common import MIB, BenchServer, Transfer, median, mib, write_pdf
from bench.seaweed import Seaweed

WARMUP_BYTES = 32 * MIB
# The order of each round. A contender's cost can land on the one after it (on this VM the
# first large write after another's pays for fresh page-cache pages), so the contender that
# follows SeaweedFS — the largest such cost — changes every round, as it would not under a
# rotation; every contender also takes different places. "pg-seaweed" also ends in a large
# SeaweedFS write, so the contender after it changes every round too, and it was placed without
# changing who follows "seaweed".
SCHEDULE = (
    ("seaweed", "proxied", "ceiling", "pg-seaweed", "direct", "dd"),
    ("proxied", "pg-seaweed", "dd", "seaweed", "direct", "ceiling"),
    ("direct", "seaweed", "ceiling", "proxied", "dd", "pg-seaweed"),
    ("ceiling", "pg-seaweed", "proxied", "direct", "seaweed", "dd"),
    ("dd", "direct", "proxied", "pg-seaweed", "ceiling", "seaweed"),
)


@dataclass
class LargeResults:
    """Every contender's transfers, in round order, and the boto3 client's CPU share."""

    size: int
    transfers: dict[str, list[Transfer]] = field(default_factory=dict)
    idle_rss_mib: dict[str, float] = field(default_factory=dict)
    """The receiving server's RSS before the warm-up, by contender."""
    client_cpu_seconds: float = 0.0
    """Median CPU seconds the boto3 client spent on one PUT (SigV4 payload hash, checksum)."""

    def mb_per_s(self, name: str) -> float | None:
        """Median MB/s (10^6 bytes) of one contender, None if it did not run."""
        runs = self.transfers.get(name)
        return self.size / median([t.seconds for t in runs]) / 1e6 if runs else None

    def ratio(self, name: str, other: str) -> float:
        """The ratio of the two median speeds (the figures the table shows)."""
        ours, theirs = self.mb_per_s(name), self.mb_per_s(other)
        assert ours is not None and theirs is not None
        return ours / theirs

    def peak_rss_mib(self, name: str) -> float:
        """The highest RSS the receiving process reached over the rounds, in MiB."""
        return mib(max(t.peak_rss for t in self.transfers[name]))

    def cpu_ms_per_mib(self, name: str, *, client: bool = False) -> float:
        """Median CPU time the receiving process (or the client) spent per MiB, in ms."""
        runs = self.transfers[name]
        cpu = [t.client_cpu_seconds if client else t.cpu_seconds for t in runs]
        return median(cpu) * 1000 / (self.size / MIB)


def run(
    server: BenchServer,
    ceiling: CeilingProcess,
    seaweed: Seaweed | None,
    work: Path,
    *,
    size: int,
    rounds: int,
    cloud: BenchServer | None = None,
) -> LargeResults:
    """A warm-up, then ``rounds`` interleaved rounds of every contender with ``size`` bytes.

    ``cloud`` is the PostgreSQL + SeaweedFS server, if there is one.
    """
    disk_dir = work / "dd"
    disk_dir.mkdir(exist_ok=True)
    results = LargeResults(size)
    idle = mib(psutil.Process(server.pid).memory_info().rss)
    results.idle_rss_mib = {"proxied": idle, "direct": idle}
    if cloud is not None:
        results.idle_rss_mib["pg-seaweed"] = mib(psutil.Process(cloud.pid).memory_info().rss)
    s3 = seaweed.client() if seaweed is not None else None
    client_cpu: list[float] = []

    def contenders(source: Path, length: int, key: str) -> dict[str, Callable[[], Transfer]]:
        def put() -> Transfer:
            assert seaweed is not None
            cpu = time.process_time()
            transfer = baselines.seaweed_once(s3, seaweed.pid, source, key)
            client_cpu.append(time.process_time() - cpu)
            return transfer

        found: dict[str, Callable[[], Transfer]] = {
            "proxied": lambda: proxied_upload.upload_once(server, source, work),
            "direct": lambda: direct_upload.upload_once(server, source, work),
            "ceiling": lambda: baselines.ceiling_once(ceiling, source, work, server.headers),
            "dd": lambda: Transfer(baselines.dd_once(disk_dir, length)),
        }
        if seaweed is not None:
            found["seaweed"] = put
        if cloud is not None:
            found["pg-seaweed"] = lambda: proxied_upload.upload_once(cloud, source, work)
        return found

    warm = write_pdf(work / "warm.pdf", min(WARMUP_BYTES, size))
    try:
        for fn in contenders(warm, warm.stat().st_size, "warm").values():
            os.sync()
            fn()
    finally:
        warm.unlink(missing_ok=True)
    client_cpu.clear()
    source = write_pdf(work / "big.pdf", size)
    try:
        for round_no in range(rounds):
            found = contenders(source, size, f"big-{round_no}")
            order = [name for name in SCHEDULE[round_no % len(SCHEDULE)] if name in found]
            for name in order:
                fn = found[name]
                # SeaweedFS does not fsync: flush what anyone left dirty before the next one.
                os.sync()
                results.transfers.setdefault(name, []).append(fn())
    finally:
        source.unlink(missing_ok=True)
    results.client_cpu_seconds = median(client_cpu) if client_cpu else 0.0
    return results
