"""``serve --workers N``: several processes on one port, one set of metrics, no orphans."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from server_helpers import wait_until

from assured_server.testing import ServerProcess

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
    # uvicorn's supervisor may also run multiprocessing's resource tracker: count the workers.
    return [c for c in children if "resource_tracker" not in " ".join(c.cmdline())]


def _requests_counted(text: str) -> int:
    """``GET /healthz`` answered with 200, as the metrics count them."""
    pattern = re.compile(
        r'^assured_http_request_duration_seconds_count\{method="GET",route="/healthz",'
        r'status="200"\} ([0-9.e+]+)$',
        re.MULTILINE,
    )
    return sum(int(float(m)) for m in pattern.findall(text))


def test_every_worker_serves_and_metrics_add_up_whichever_worker_answers(
    workers_server: ServerProcess,
) -> None:
    wait_until(lambda: len(_workers(workers_server)) == WORKERS, timeout=30)
    first, second = _workers(workers_server)
    url = f"{workers_server.base_url}/healthz"
    with httpx.Client(timeout=10) as client:
        served = _requests_counted(client.get(f"{workers_server.base_url}/metrics").text)
    # Stop one worker at a time (SIGSTOP) so that the other must take the connections: each
    # of the two has then answered requests, whatever the kernel's choice of acceptor.
    for paused in (first, second):
        paused.send_signal(signal.SIGSTOP)
        try:
            for _ in range(10):
                with httpx.Client(timeout=10) as client:  # a new connection each time
                    assert client.get(url).status_code == 200
                served += 1
        finally:
            paused.send_signal(signal.SIGCONT)
    # Each scrape is answered by one worker or the other; every one must see all requests.
    for _ in range(10):
        with httpx.Client(timeout=10) as client:
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
