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
from pathlib import Path

from assured_server.db.errors import DatabaseUnavailable

# Matches SQLite's own busy timeout: past it, a writer gives up ("database is locked").
WAIT_SECONDS = 10.0


class FileLockTimeout(DatabaseUnavailable):
    """Another process held the write lock for longer than the wait allows (answered 503)."""


class FileLock:
    """``async with``-free on purpose: the holder releases it from whichever task commits."""

    def __init__(self, path: Path, *, wait_seconds: float = WAIT_SECONDS) -> None:
        self._path = path
        self._wait = wait_seconds
        self._fd: int | None = None

    async def acquire(self) -> None:
        """Take the lock: at once if it is free, else wait for it in a thread (bounded)."""
        if self._fd is not None:
            raise RuntimeError("the file lock is already held by this process")
        # A descriptor per acquisition: flock belongs to the open file, and a wait abandoned
        # on timeout may still win the lock later (it then lets go of it at once).
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
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), self._wait)
        except BaseException as exc:
            waiting.add_done_callback(lambda _done: _unlock_and_close(fd))
            if isinstance(exc, TimeoutError):
                raise FileLockTimeout(f"{self._path} stayed locked for {self._wait:g} s") from exc
            raise
        self._fd = fd

    def release(self) -> None:
        """Let the next process in."""
        fd, self._fd = self._fd, None
        if fd is not None:
            _unlock_and_close(fd)


def _unlock_and_close(fd: int) -> None:
    # Closing the descriptor releases the lock (if this wait ever got it) in either case.
    os.close(fd)
