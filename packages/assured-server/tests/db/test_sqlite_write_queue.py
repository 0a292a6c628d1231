"""SQLite writers queue in the process instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from assured_server.db.engine import Database


async def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    async with db.write() as session:
        await session.execute(text("CREATE TABLE n (v INTEGER NOT NULL)"))
    return db


async def test_many_concurrent_writers_all_commit_without_busy_waits(tmp_path: Path) -> None:
    db = await _db(tmp_path)
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
    db = await _db(tmp_path)
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
    db = await _db(tmp_path)
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
