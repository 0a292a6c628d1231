"""Password checks (argon2) off the event loop: a thread pool of their own, a bounded queue.

One argon2 check takes about 100 ms here (64 MiB, 3 passes, 4 lanes: some 150 ms of CPU).
On the event loop it stopped every other request meanwhile; in a thread it does not, because
argon2-cffi's C call releases the GIL (measured: a Python loop kept 97 % of its pace while
another thread verified passwords non-stop). The pool is the checks' own, so that a login
flood never queues ahead of the file and database work of the default executor, and small:
each running check holds 64 MiB.

Its threads run at the lowest CPU priority (nice +19; Linux sets it per thread, and the threads
argon2 starts for its lanes inherit it): otherwise a check's four lanes take every core from
the event loop, and a login flood still slowed every other request, only less.

The queue of waiting checks is bounded. When ``threads + queue`` checks are already admitted,
another is refused at once with :class:`PasswordPoolFull` (answered 503
``SERVICE_UNAVAILABLE`` with ``Retry-After``: the server is busy, this caller did nothing
wrong, so not 429) instead of waiting in an unbounded line that would hold its connection and
memory and answer long after the client gave up.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from assured_server.auth.secrets import verify_password
from assured_server.threads import run_to_completion

# CFS weights: a thread at nice 0 gets about 68 times the CPU of one at +19 when both run.
NICE = 19


class PasswordPoolFull(Exception):
    """Every thread is busy and the queue of waiting checks is full."""


class PasswordPool:
    """``threads`` threads checking passwords, and at most ``queue`` checks waiting for one."""

    def __init__(self, threads: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="password", initializer=_lower_priority
        )
        self._limit = threads + queue
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Checks running or waiting now."""
        return self._admitted

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches (``None``: no such user, same time); may raise full."""
        # Counted on the event loop only: no lock needed.
        if self._admitted >= self._limit:
            raise PasswordPoolFull
        self._admitted += 1
        try:
            work = functools.partial(verify_password, password_hash, password)
            return await run_to_completion(work, executor=self._executor)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        """Wait for the running checks and stop the threads (after the last request)."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def _lower_priority() -> None:
    """Make the calling thread (and the threads it starts) yield the CPU to the event loop."""
    if sys.platform != "linux":  # elsewhere the nice value is the whole process's
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except OSError:
        pass  # a sandbox may refuse; the checks still run, at the usual priority
