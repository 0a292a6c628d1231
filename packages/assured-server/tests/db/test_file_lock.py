"""The write lock shared by processes on one SQLite file (``flock``), awaited off the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assured_server.db.errors import DatabaseUnavailable
from assured_server.db.sqlite.file_lock import FileLock, FileLockTimeout


async def _loop_turns(count: int) -> None:
    """Let the loop run ``count`` times (it would not if a lock wait blocked it)."""
    async with asyncio.timeout(10):
        for _ in range(count):
            await asyncio.sleep(0.005)


async def test_a_second_holder_waits_without_blocking_the_loop_and_gets_it_on_release(
    tmp_path: Path,
) -> None:
    # Two FileLock objects open the file separately: to flock they are two processes.
    first, second = FileLock(tmp_path / "w.lock"), FileLock(tmp_path / "w.lock")
    await first.acquire()
    waiting = asyncio.create_task(second.acquire())
    await _loop_turns(20)
    assert not waiting.done()
    first.release()
    async with asyncio.timeout(10):
        await waiting
    second.release()


async def test_a_lock_held_too_long_is_a_503_database_error(tmp_path: Path) -> None:
    holder = FileLock(tmp_path / "w.lock")
    await holder.acquire()
    try:
        with pytest.raises(FileLockTimeout) as raised:
            await FileLock(tmp_path / "w.lock", wait_seconds=0.2).acquire()
        assert isinstance(raised.value, DatabaseUnavailable)
    finally:
        holder.release()


async def test_an_abandoned_wait_never_keeps_the_lock(tmp_path: Path) -> None:
    holder = FileLock(tmp_path / "w.lock")
    await holder.acquire()
    waiter = asyncio.create_task(FileLock(tmp_path / "w.lock").acquire())
    await _loop_turns(5)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    holder.release()
    # The cancelled wait may win the lock in its thread; it must let go of it at once.
    third = FileLock(tmp_path / "w.lock", wait_seconds=10)
    async with asyncio.timeout(15):
        await third.acquire()
    third.release()
