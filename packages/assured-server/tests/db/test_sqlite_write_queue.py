"""SQLite writers queue in the process instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from server_helpers import numbers_database
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from assured_server.db.engine import Database


async def test_many_concurrent_writers_all_commit_without_busy_waits(tmp_path: Path) -> None:
    db = await numbers_database(tmp_path)
    try:

        async def add(value: int) -> None:
            async with db.write() as session:
                await session.execute(text("INSERT INTO n (v) VALUES (:v)"), {"v": value})
                await asyncio.sleep(0)  # hold the transaction across a switch

        started = time.monotonic()
        await asyncio.gather(*(add(i) for i in range(64)))
        # Busy-handler sleeps (up to 100 ms a try) would add up far past this.
        assert time.monotonic() - started < 5
        async with db.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM n")) == 64
    finally:
        await db.dispose()


async def test_a_write_nested_in_a_write_does_not_wait_for_itself(tmp_path: Path) -> None:
    db = await numbers_database(tmp_path)
    try:

        async def nested() -> None:
            async with db.write() as outer:
                await outer.execute(text("INSERT INTO n (v) VALUES (1)"))
                await outer.commit()
                async with db.write() as inner:
                    await inner.execute(text("INSERT INTO n (v) VALUES (2)"))

        # Without the re-entrancy rule this would wait for its own lock forever.
        await asyncio.wait_for(nested(), 20)
    finally:
        await db.dispose()


async def test_a_failed_write_releases_the_queue(tmp_path: Path) -> None:
    db = await numbers_database(tmp_path)
    try:
        with pytest.raises(IntegrityError):
            async with db.write() as session:
                await session.execute(text("INSERT INTO n (v) VALUES (NULL)"))
        async with asyncio.timeout(5):
            async with db.write() as session:
                await session.execute(text("INSERT INTO n (v) VALUES (3)"))
        async with db.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM n")) == 1
    finally:
        await db.dispose()


async def test_concurrent_writers_share_commits_and_each_returns_only_once_durable(
    tmp_path: Path,
) -> None:
    db = await numbers_database(tmp_path)
    try:
        seen_by_a_new_connection: list[int] = []

        async def add(value: int) -> None:
            async with db.write() as session:
                await session.execute(text("INSERT INTO n (v) VALUES (:v)"), {"v": value})
            # Durable on return: another connection (as another process would) sees it.
            other = sqlite3.connect(tmp_path / "q.db")
            try:
                row = other.execute("SELECT count(*) FROM n WHERE v = ?", (value,)).fetchone()
                seen_by_a_new_connection.append(row[0])
            finally:
                other.close()

        await asyncio.gather(*(add(i) for i in range(200)))
        assert seen_by_a_new_connection == [1] * 200
        async with db.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM n")) == 200
    finally:
        await db.dispose()


async def test_a_failing_writer_among_concurrent_ones_loses_only_its_own_rows(
    tmp_path: Path,
) -> None:
    db = await numbers_database(tmp_path)
    try:

        async def add(value: int | None) -> str:
            try:
                async with db.write() as session:
                    await session.execute(text("INSERT INTO n (v) VALUES (1000)"))
                    await session.execute(text("INSERT INTO n (v) VALUES (:v)"), {"v": value})
            except IntegrityError:
                return "failed"
            return "ok"

        values = [None if i % 5 == 0 else i for i in range(50)]
        outcomes = await asyncio.gather(*(add(v) for v in values))
        assert outcomes.count("failed") == 10
        async with db.read() as session:
            # Each failed unit's first row went with it; every other unit kept both rows.
            assert await session.scalar(text("SELECT count(*) FROM n WHERE v = 1000")) == 40
            assert await session.scalar(text("SELECT count(*) FROM n WHERE v < 1000")) == 40
    finally:
        await db.dispose()


async def test_a_write_waits_off_the_loop_while_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    db = await numbers_database(tmp_path)
    # Another connection (as the admin CLI or a second worker process would) takes the lock.
    holder = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        write = asyncio.create_task(_insert(db, 7))
        ticks = 0
        # The loop keeps running while the write waits: count its turns, bounded.
        async with asyncio.timeout(10):
            while ticks < 20:
                await asyncio.sleep(0.01)
                ticks += 1
        assert not write.done()
        holder.execute("COMMIT")
        async with asyncio.timeout(10):
            await write
        async with db.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM n WHERE v = 7")) == 1
    finally:
        holder.close()
        await db.dispose()


async def _insert(db: Database, value: int) -> None:
    async with db.write() as session:
        await session.execute(text("INSERT INTO n (v) VALUES (:v)"), {"v": value})


async def test_two_databases_on_one_file_take_turns_through_the_shared_lock(
    tmp_path: Path,
) -> None:
    # As two worker processes would: separate engines, pools, queues and lock descriptors.
    first = await numbers_database(tmp_path)
    second = Database(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    try:
        await asyncio.gather(
            *(_insert(first, i) for i in range(100)),
            *(_insert(second, 1000 + i) for i in range(100)),
        )
        async with second.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM n")) == 200
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_cancelled_writer_does_not_stop_the_others_from_committing(
    tmp_path: Path,
) -> None:
    db = await numbers_database(tmp_path)
    try:
        tasks = [asyncio.create_task(_insert(db, i)) for i in range(30)]
        await asyncio.sleep(0)
        tasks[3].cancel()
        tasks[17].cancel()
        async with asyncio.timeout(20):
            results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(r is None for i, r in enumerate(results) if i not in (3, 17))
        async with db.read() as session:
            count = await session.scalar(text("SELECT count(*) FROM n"))
        # A cancelled writer's row may or may not have made it; all the others did.
        assert 28 <= count <= 30
        async with asyncio.timeout(5):
            await _insert(db, 99)
    finally:
        await db.dispose()
