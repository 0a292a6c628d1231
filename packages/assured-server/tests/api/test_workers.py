"""``serve --workers N``: several processes on one port, one set of metrics, no orphans."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from server_helpers import wait_until

from assured_testing import ServerProcess

WORKERS = 2


@pytest.fixture
def workers_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data", env_overrides={"ASSURED_WORKERS": str(WORKERS)})
    server.start()
    try:
        yield server
    finally:
        server.stop()
        for child in _workers(server, allow_gone=True):
            child.kill()


def _workers(server: ServerProcess, *, allow_gone: bool = False) -> list[psutil.Process]:
    assert server.proc is not None
    try:
        parent = psutil.Process(server.proc.pid)
        children = parent.children()
    except psutil.NoSuchProcess:
        if allow_gone:
            return []
        raise
    # multiprocessing may also run its resource tracker: count the live workers only.
    workers = []
    for child in children:
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.Error:  # a zombie (a dead worker not yet reaped) or gone
            continue
    return workers


def _listening(server: ServerProcess) -> list[psutil.Process]:
    """The workers that accept connections: a worker listens only once its app has started."""
    listening = []
    for worker in _workers(server):
        try:
            sockets = worker.net_connections("tcp")
        except psutil.Error:
            continue
        if any(s.status == psutil.CONN_LISTEN and s.laddr.port == server.port for s in sockets):
            listening.append(worker)
    return listening


def _requests_counted(text: str) -> int:
    """``GET /readyz`` answered with 200, as the metrics count them.

    Not ``/healthz``: ``ServerProcess.start`` polls that with a one-second timeout, and a poll it
    gave up on may still be answered (and counted) after the test took its first count.
    """
    pattern = re.compile(
        r'^assured_http_request_duration_seconds_count\{method="GET",route="/readyz",'
        r'status="200"\} ([0-9.e+]+)$',
        re.MULTILINE,
    )
    return sum(int(float(m)) for m in pattern.findall(text))


def test_every_worker_serves_and_metrics_add_up_whichever_worker_answers(
    workers_server: ServerProcess,
) -> None:
    # Both must be listening before the requests: a worker still starting takes no connection.
    wait_until(lambda: len(_listening(workers_server)) == WORKERS, timeout=60)
    pids = {w.pid for w in _workers(workers_server)}
    url = f"{workers_server.base_url}/readyz"
    served = 0
    # Each worker listens on its own SO_REUSEPORT socket and the kernel spreads connections
    # by their addresses: over 40 new connections, both workers answer some (a miss has odds
    # of 2 in 2**40).
    for _ in range(40):
        with httpx.Client(timeout=30) as client:  # a new connection (a new port) each time
            assert client.get(url).status_code == 200
        served += 1
    metrics_dir = workers_server.data_dir / "run" / "metrics"
    recorded_by = {int(p.stem.rpartition("_")[2]) for p in metrics_dir.glob("histogram_*.db")}
    assert pids <= recorded_by, "every worker answered and recorded requests"
    # Each scrape is answered by one worker or the other; every one must see all requests.
    for _ in range(10):
        with httpx.Client(timeout=30) as client:
            text = client.get(f"{workers_server.base_url}/metrics").text
        assert _requests_counted(text) == served


def test_a_killed_supervisor_leaves_no_worker_behind(workers_server: ServerProcess) -> None:
    wait_until(lambda: len(_workers(workers_server)) == WORKERS, timeout=30)
    workers = _workers(workers_server)
    workers_server.kill()  # SIGKILL: no chance to stop its workers itself
    wait_until(lambda: not any(w.is_running() and w.status() != "zombie" for w in workers), 30)


def test_sigterm_stops_the_supervisor_and_its_workers(workers_server: ServerProcess) -> None:
    wait_until(lambda: len(_workers(workers_server)) == WORKERS, timeout=30)
    workers = _workers(workers_server)
    assert workers_server.stop() == 0
    wait_until(lambda: not any(w.is_running() and w.status() != "zombie" for w in workers), 30)
    assert not any(p.pid == os.getpid() for p in workers)


def test_a_worker_that_dies_is_replaced(workers_server: ServerProcess) -> None:
    wait_until(lambda: len(_workers(workers_server)) == WORKERS, timeout=30)
    victim = _workers(workers_server)[0]
    victim.kill()

    def replaced() -> bool:
        alive = _workers(workers_server)
        return len(alive) == WORKERS and victim.pid not in {w.pid for w in alive}

    wait_until(replaced, timeout=60)
    # The replacement takes connections once its app has started and it listens.
    wait_until(lambda: len(_listening(workers_server)) == WORKERS, timeout=60)
    # Both listen again: every new connection is answered, whichever socket it lands on.
    for _ in range(20):
        with httpx.Client(timeout=10) as client:
            assert client.get(f"{workers_server.base_url}/healthz").status_code == 200
