"""Row 7: ``/healthz`` latency while 8 clients flood the token endpoint with wrong passwords.

One server of the default deployment (one process, SQLite + filesystem: what ``make run``
starts) is probed idle and under each flood, alternately, run by run. The prober (one
keep-alive connection, a request every 10 ms) runs in this process; the flood runs in a
process of its own (``login_flood_client``), so that neither's GIL skews the other's clock.

Two floods of 8 closed-loop clients that never honour ``Retry-After`` (an attacker does not):
``one address each`` is the reported attack (a client loops on one connection); ``a fresh
address per attempt`` connects from a new loopback address every time, as a botnet would, so
that the per-address throttle never answers for it and every attempt on an unknown username
reaches the password check.
"""

from __future__ import annotations

import http.client
import json
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass

from bench.common import BenchServer, median

RAMP_UP = 0.5
PROBE_INTERVAL = 0.01
PASSWORD = "correct horse battery staple"  # noqa: S105 - the bench user's, on a throwaway server
FLOODS = {"fixed": "one address each", "rotating": "a fresh address per attempt"}


@dataclass
class FloodRun:
    """``/healthz`` p99 of one probe window, and the answers the flood got meanwhile."""

    p99_ms: float
    statuses: Counter[int]


@dataclass
class LoginFloodResult:
    """Medians over the runs: idle p99, and per flood its p99 and summed answers."""

    idle_p99_ms: float
    flood_p99_ms: dict[str, float]
    statuses: dict[str, Counter[int]]

    def ratio(self, flood: str) -> float:
        """Flood p99 over idle p99."""
        return self.flood_p99_ms[flood] / self.idle_p99_ms


def make_user(server: BenchServer) -> str:
    """A username/password user of the bench account; returns the username."""
    name = f"bench-{secrets.token_hex(4)}"
    server.proc.admin(
        "create-user",
        "--account",
        server.creds.account_id,
        "--username",
        name,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    return name


def probe(port: int, seconds: float) -> list[float]:
    """``/healthz`` latencies in ms, one request due every 10 ms on one keep-alive connection.

    Each latency counts from when its request was due, not from when it could be sent: a
    server that stalls for a second delays the hundred probes due meanwhile, and all of them
    count (timing from the send would count one, the coordinated omission wrk2 corrects).
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    try:
        end = time.perf_counter() + seconds
        next_at = time.perf_counter()
        while next_at < end:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"/healthz answered {response.status}")
            latencies.append((time.perf_counter() - next_at) * 1000)
            next_at += PROBE_INTERVAL
            time.sleep(max(0.0, next_at - time.perf_counter()))
    finally:
        conn.close()
    return latencies


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def probed_flood(port: int, username: str, flood: str | None, seconds: float) -> FloodRun:
    """Probe for ``seconds`` while ``flood`` runs (``None``: idle)."""
    if flood is None:
        return FloodRun(p99(probe(port, seconds)), Counter())
    flooder = subprocess.Popen(  # noqa: S603 - this module, same interpreter
        [
            sys.executable,
            "-m",
            "bench.login_flood_client",
            str(port),
            username,
            flood,
            str(seconds + 1),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # The flood's first half second is its ramp-up (connect, first answers): not probed.
        ready = flooder.stdout.readline() if flooder.stdout else ""
        if ready.strip() != "started":
            raise RuntimeError("the flood process did not start")
        time.sleep(RAMP_UP)
        latencies = probe(port, seconds)
        out, _ = flooder.communicate(timeout=seconds + 120)
    finally:
        if flooder.poll() is None:
            flooder.kill()
            flooder.wait(10)
    if flooder.returncode != 0:
        raise RuntimeError(f"the flood process failed ({flooder.returncode})")
    statuses = Counter({int(k): v for k, v in json.loads(out)["statuses"].items()})
    return FloodRun(p99(latencies), statuses)


def run(server: BenchServer, *, seconds: float, runs: int) -> LoginFloodResult:
    """Idle and both floods, interleaved ``runs`` times; medians of the p99s."""
    port = server.proc.port
    username = make_user(server)
    probe(port, 1.0)  # warm-up
    idle: list[float] = []
    flooded: dict[str, list[float]] = {name: [] for name in FLOODS}
    statuses: dict[str, Counter[int]] = {name: Counter() for name in FLOODS}
    for _ in range(runs):
        idle.append(probed_flood(port, username, None, seconds).p99_ms)
        for name in FLOODS:
            result = probed_flood(port, username, name, seconds)
            flooded[name].append(result.p99_ms)
            statuses[name] += result.statuses
    return LoginFloodResult(
        median(idle), {name: median(v) for name, v in flooded.items()}, statuses
    )
