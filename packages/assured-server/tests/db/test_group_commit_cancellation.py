"""Group commit and the loop shim under cancellation, lock timeouts and stuck processes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import anyio
import pytest
from server_helpers import numbers_database
from sqlalchemy import text

from assured_server.db.sqlite import loop as sqlite_loop
from assured_server.threads import run_to_completion


async def test_a_cancelled_queued_writer_does_not_orphan_the_group(tmp_path: Path) -> None:
    db = await numbers_database(tmp_path)
    committer = db._group_commit
    assert committer is not None
    in_body, finish_a = asyncio.Event(), asyncio.Event()

    async def a() -> None:
        async with db.write() as session:
            await session.execute(text("INSERT INTO n (v) VALUES (1)"))
            in_body.set()
            await finish_a.wait()

    async def b() -> None:
        async with db.write() as session:
            await session.execute(text("INSERT INTO n (v) VALUES (2)"))

    task_a = asyncio.create_task(a())
    try:
        await asyncio.wait_for(in_body.wait(), 5)
        task_b = asyncio.create_task(b())
        for _ in range(100):
            if committer._queued == 1:
                break
            await asyncio.sleep(0)
        assert committer._queued == 1
        # A ends its block while B is still counted as queued, so A hands B the group and
        # does not commit; B (e.g. its client hung up) is cancelled before it runs.
        finish_a.set()
        task_b.cancel()
        # A never returns: nobody is left to commit the group, whose BEGIN IMMEDIATE (and
        # flock) also keep every other process on the file from writing.
        await asyncio.wait_for(asyncio.shield(task_a), 3)
    finally:
        if not task_a.done():
            # Unblock A by queueing another write, which joins and commits the group.
            async with db.write() as session:
                await session.execute(text("INSERT INTO n (v) VALUES (3)"))
            await asyncio.wait_for(task_a, 5)
        await db.dispose()


async def test_thread_work_is_waited_for_even_under_an_anyio_cancel_scope() -> None:
    thread_done = threading.Event()

    def work() -> None:
        time.sleep(0.3)
        thread_done.set()

    with anyio.move_on_after(0.05):
        await run_to_completion(work)
    # The connection the work uses would now be rolled back / returned to the pool while the
    # thread is still executing on it.
    assert thread_done.is_set()
    await asyncio.sleep(0.4)


async def test_busy_retry_under_an_anyio_cancel_scope_waits_for_its_thread(
    tmp_path: Path,
) -> None:
    """A statement that found the database locked waits in a thread; cancelling the caller
    (anyio re-delivers the cancellation every loop turn) must not let go of that thread while it
    still uses the connection."""
    path = tmp_path / "b.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE n (v INTEGER)")
    setup.close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    conn = await sqlite_loop.loop_connector(str(path))()
    release = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        with anyio.move_on_after(0.05):
            await conn.cursor().execute("BEGIN IMMEDIATE")
        # The cancelled call returned only once its thread was done with ``conn``: by then
        # the other connection had let go and the BEGIN IMMEDIATE had gone through.
        assert release.finished.is_set()
        assert conn.in_transaction
        await conn.rollback()
    finally:
        release.join()
        await conn.close()
        holder.close()


async def test_timed_out_flock_waits_do_not_starve_the_commit_threads(tmp_path: Path) -> None:
    from assured_server.db.sqlite.file_lock import FileLock, FileLockTimeout

    holder = FileLock(tmp_path / "w.lock")
    await holder.acquire()  # another process, holding the write lock for a while
    try:
        waiter = FileLock(tmp_path / "w.lock", wait_seconds=0.02)
        # Six timed-out write attempts (60 s of a stuck holder at the default 10 s wait).
        for _ in range(6):
            with pytest.raises(FileLockTimeout):
                await waiter.acquire()
        # The default executor (min(32, cores + 4) threads: 6 on two cores) also runs every
        # COMMIT and busy retry of sqlite_loop; it must still have a thread for them.
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.run_in_executor(None, lambda: None), 1)
    finally:
        holder.release()
        await asyncio.sleep(0.2)  # let the abandoned waits take and drop the lock


async def test_queued_writers_fail_within_the_flock_bound_not_in_series(tmp_path: Path) -> None:
    from assured_server.db.sqlite.file_lock import FileLock, FileLockTimeout

    db = await numbers_database(tmp_path)
    committer = db._group_commit
    assert committer is not None and committer._file_lock is not None
    committer._file_lock.wait_seconds = 0.2
    committer._wait_seconds = 0.2
    other = FileLock(Path(f"{tmp_path / 'q.db'}-writer.lock"))
    await other.acquire()  # another worker holds the write lock and does not let go
    try:

        async def write() -> float:
            started = time.monotonic()
            with pytest.raises(FileLockTimeout):
                async with db.write() as session:
                    await session.execute(text("INSERT INTO n (v) VALUES (1)"))
            return time.monotonic() - started

        waited = await asyncio.gather(*(write() for _ in range(10)))
        # Each write's wait counts from when it queued: in series, the tenth would wait 2 s.
        assert max(waited) < 1.0, waited
    finally:
        other.release()
        await asyncio.sleep(0.3)
        await db.dispose()
