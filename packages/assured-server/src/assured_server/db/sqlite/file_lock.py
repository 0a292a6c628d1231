"""An exclusive lock shared by processes (``flock`` on a file), awaited without blocking the loop.

SQLite lets one writer in at a time, but a writer that finds the database locked by another
process sleeps in SQLite's busy handler (1, 2, 5 … 100 ms a try) instead of waking when the
lock is free. Several server processes on one SQLite file (``serve --workers N``, the admin
commands) therefore take this lock first: the kernel wakes the next waiter the moment the
holder lets go.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import time
from pathlib import Path

from assured_server.db.errors import DatabaseUnavailable

# Matches SQLite's own busy timeout: past it, a writer gives up ("database is locked").
WAIT_SECONDS = 10.0


class FileLockTimeout(DatabaseUnavailable):
    """Another process held the write lock for longer than the wait allows (answered 503)."""


class _Wait:
    """A blocking ``flock`` in a thread of its own, which the loop may give up on.

    Its own daemon thread rather than a pooled one: a wait given up on stays blocked until the
    other process lets go, and must neither hold a thread that commits need nor delay exit.
    Whichever side comes second (the thread getting the lock, the loop giving up) closes the
    descriptor, which also releases the lock if it was taken.
    """

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = fd
        self.got = asyncio.Event()
        self.error: OSError | None = None
        self._loop = loop
        self._mutex = threading.Lock()
        self._abandoned = False
        self._acquired = False
        threading.Thread(target=self._run, name="assured-flock-wait", daemon=True).start()

    def _run(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            self.error = exc
        with self._mutex:
            if self._abandoned:
                os.close(self.fd)
                return
            self._acquired = self.error is None
        try:
            self._loop.call_soon_threadsafe(self.got.set)
        except RuntimeError:  # the loop is closed: the process is going away
            pass

    def abandon(self) -> None:
        """Give up; the descriptor (and the lock, if taken meanwhile) is let go."""
        with self._mutex:
            self._abandoned = True
            done = self._acquired or self.error is not None
        if done:
            os.close(self.fd)


class FileLock:
    """Not a context manager on purpose: the holder releases it from whichever task commits."""

    def __init__(self, path: Path, *, wait_seconds: float = WAIT_SECONDS) -> None:
        self._path = path
        self.wait_seconds = wait_seconds
        self._fd: int | None = None

    async def acquire(self, deadline: float | None = None) -> None:
        """Take the lock: at once if it is free, else wait (until ``deadline``, monotonic)."""
        if self._fd is not None:
            raise RuntimeError("the file lock is already held by this process")
        if deadline is None:
            deadline = time.monotonic() + self.wait_seconds
        # A descriptor per acquisition: flock belongs to the open file, and a wait given up
        # on may still win the lock later (and then lets go of it at once).
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            raise
        else:
            self._fd = fd
            return
        wait = _Wait(fd, asyncio.get_running_loop())
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await wait.got.wait()
        except BaseException as exc:
            wait.abandon()
            if isinstance(exc, TimeoutError):
                raise FileLockTimeout(f"{self._path} stayed locked too long") from exc
            raise
        if wait.error is not None:
            os.close(fd)
            raise wait.error
        self._fd = fd

    def release(self) -> None:
        """Let the next process in."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases its lock
