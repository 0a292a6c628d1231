"""``serve --workers N``: N server processes on one port, supervised by the ``serve`` process.

Each worker listens on its own ``SO_REUSEPORT`` socket, so the kernel spreads new connections
over the workers evenly. (With one shared listening socket, whichever worker wakes first
accepts every connection waiting, and under a burst of new connections one worker got them
all while the other idled.) The supervisor holds the port bound but not listening: a taken
port fails at once, port 0 becomes a real port before the workers start, and no connection
ever queues at a socket nobody accepts on.

The supervisor starts the workers, replaces one that dies, and on SIGTERM/SIGINT stops them
all (SIGTERM, each drains its requests for ``ASSURED_SHUTDOWN_TIMEOUT``, then SIGKILL). A
worker whose supervisor is killed outright notices and stops (``app._exit_with_parent``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from assured_server.config import Settings
from assured_server.metrics import MULTIPROC_ENV
from assured_server.private_files import owner_only_umask
from assured_server.serving.options import EdgeOptions

log = logging.getLogger(__name__)
# A worker that dies sooner than this after starting is failing to start, not crashing: after
# this many in a row the supervisor gives up instead of restarting it forever.
EARLY_DEATH_SECONDS = 10.0
MAX_EARLY_DEATHS = 3
CHECK_SECONDS = 0.5
# Stopping waits for the workers' own graceful shutdown, plus this margin, then kills.
STOP_MARGIN_SECONDS = 5.0


class WorkerError(Exception):
    """The workers cannot be started (the message says why)."""


def reuseport_socket(host: str, port: int, *, listen: bool) -> socket.socket:
    """A TCP socket bound with ``SO_REUSEPORT`` (listening if ``listen``).

    The protocol is named explicitly (``IPPROTO_TCP``): asyncio sets TCP_NODELAY only on
    connections of sockets that say so; otherwise Nagle's algorithm stalls small answers
    against the client's delayed ACKs.
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise WorkerError("several workers need SO_REUSEPORT, which this platform lacks")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise WorkerError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def run_workers(settings: Settings) -> int:
    """Supervise ``settings.workers`` workers until SIGTERM/SIGINT; return an exit code."""
    reserved = reuseport_socket(settings.host, settings.port, listen=False)
    port = int(reserved.getsockname()[1])
    # Counters of an earlier run must not add to this one's; the workers share this directory.
    metrics_dir = settings.data_dir.resolve() / "run" / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    # Workers build their settings from the environment: what this process was given on its
    # command line goes there first, with the port as actually bound.
    os.environ.update(
        {
            "ASSURED_HOST": settings.host,
            "ASSURED_PORT": str(port),
            "ASSURED_WORKERS": str(settings.workers),
            "ASSURED_DATA_DIR": str(settings.data_dir),
            MULTIPROC_ENV: str(metrics_dir),
        }
    )
    supervisor = _Supervisor(settings, port)
    try:
        return supervisor.run()
    finally:
        reserved.close()


class _Supervisor:
    def __init__(self, settings: Settings, port: int) -> None:
        from assured_server.serving.server import uvicorn_options

        self._settings = settings
        self._args = (
            settings.host,
            port,
            uvicorn_options(settings),
            EdgeOptions.from_settings(settings),
            settings.log_level,
        )
        self._context = multiprocessing.get_context("spawn")
        self._stop = threading.Event()
        self._workers: list[tuple[BaseProcess, float]] = []
        self._early_deaths = 0

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        log.info("supervisor %s starting %d workers", os.getpid(), self._settings.workers)
        code = 0
        try:
            for _ in range(self._settings.workers):
                self._workers.append(self._start())
            while not self._stop.wait(CHECK_SECONDS):
                if not self._replace_dead():
                    code = 1
                    break
        finally:
            # Whatever ended the loop (a signal, workers failing, an error here), the workers
            # go too: they must not keep serving a port nobody supervises.
            self._stop_all()
        return code

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("supervisor received %s: stopping the workers", signal.Signals(signum).name)
        self._stop.set()

    def _start(self) -> tuple[BaseProcess, float]:
        process = self._context.Process(target=_worker_main, args=self._args, daemon=False)
        process.start()
        return process, time.monotonic()

    def _replace_dead(self) -> bool:
        """Restart dead workers; ``False`` when they keep dying at start."""
        for index, (process, started) in enumerate(self._workers):
            if process.is_alive() or self._stop.is_set():
                continue
            process.join()
            lived = time.monotonic() - started
            log.warning(
                "worker %s exited with %s after %.1f s; starting another",
                process.pid,
                process.exitcode,
                lived,
            )
            self._early_deaths = self._early_deaths + 1 if lived < EARLY_DEATH_SECONDS else 0
            if self._early_deaths >= MAX_EARLY_DEATHS:
                log.error("workers keep failing at start; the supervisor stops")
                return False
            self._workers[index] = self._start()
        return True

    def _stop_all(self) -> None:
        for process, _ in self._workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._settings.shutdown_timeout + STOP_MARGIN_SECONDS
        for process, _ in self._workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("worker %s did not stop in time; killing it", process.pid)
                process.kill()
                process.join()


def _worker_main(
    host: str,
    port: int,
    uvicorn_options: dict[str, Any],
    edge_options: EdgeOptions,
    log_level: str,
) -> None:
    """One worker: its own listening socket on the shared port, one uvicorn server."""
    from assured_server import logs
    from assured_server.serving import server

    logs.configure(log_level)  # the edge logs before uvicorn builds the app

    owner_only_umask()  # inherited from the supervisor already; a worker's start says so too
    # Out of the supervisor's process group: a terminal's Ctrl-C then reaches the supervisor
    # alone, which stops each worker with one SIGTERM (a second signal would make uvicorn
    # drop its open requests instead of finishing them).
    os.setpgrp()
    # Bound, not listening: asyncio's create_server calls listen() when uvicorn starts serving,
    # after the app is imported and its lifespan has started. A socket that listened from here
    # on was given its share of new connections for the seconds the worker took to start (more
    # on a loaded machine), and they waited there while the other workers were idle.
    sock = reuseport_socket(host, port, listen=False)
    server.run(
        "assured_server.app:create_worker_app",
        edge_options,
        {"factory": True, **uvicorn_options},
        sockets=[sock],
    )
