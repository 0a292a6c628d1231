"""Primary-key reads of one table without the ORM, for the hottest read paths.

An ORM ``session.get`` costs about 340 µs of SQLAlchemy machinery on this server (session,
transaction, identity map, result objects) for a read SQLite answers in under 10 µs; it was
half of the CPU of a ``download-url`` request. A reader runs one ``SELECT … WHERE <primary
key> = ?`` compiled once by SQLAlchemy, through the driver (:class:`SqliteReads` on SQLite,
:class:`~assured_server.db.pg_direct.PgDirect` on PostgreSQL), and converts the values with
the columns' own SQLAlchemy result processors, so the row is exactly what the ORM would have
loaded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.engine import Dialect

from assured_server.db.sqlite_loop import LoopConnection, loop_connector

FetchOne = Callable[[str, Sequence[Any]], Awaitable[Sequence[Any] | None]]
"""``fetch_one(sql, parameters)`` → the first row of the result, or None."""


class PointReader:
    """``await reader.get(key)`` → the row of ``table`` as ``{attribute: value}``, or None."""

    def __init__(self, table: Table, dialect: Dialect, fetch_one: FetchOne) -> None:
        columns = list(table.columns)
        (primary_key,) = table.primary_key.columns
        # Compiled once by SQLAlchemy itself: the columns in table order, one parameter.
        self._sql = str(
            select(*columns).where(primary_key == bindparam("key")).compile(dialect=dialect)
        )
        self._keys = [c.key for c in columns]
        self._processors: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]
        self._fetch_one = fetch_one

    async def get(self, key: str) -> dict[str, Any] | None:
        """The row whose primary key is ``key``."""
        row = await self._fetch_one(self._sql, (key,))
        if row is None:
            return None
        return {
            name: value if process is None else process(value)
            for name, process, value in zip(self._keys, self._processors, row, strict=True)
        }


class SqliteReads:
    """One loop-run SQLite connection (see ``sqlite_loop``) for point reads."""

    def __init__(self, path: str) -> None:
        self._connect = loop_connector(path)
        self._connection: LoopConnection | None = None
        # The connection is used by one read at a time (a read that finds the database locked
        # waits for it in a thread, and the next read must not use it meanwhile).
        self._lock = asyncio.Lock()

    async def fetch_one(self, sql: str, parameters: Sequence[Any]) -> Sequence[Any] | None:
        """The first row of ``sql``'s result, or None."""
        async with self._lock:
            if self._connection is None:
                self._connection = await self._connect()
            cursor = await self._connection.execute(sql, parameters)
            row: Sequence[Any] | None = await cursor.fetchone()
            await cursor.close()
        return row

    async def close(self) -> None:
        """Close the connection (a later read opens a new one)."""
        async with self._lock:
            connection, self._connection = self._connection, None
            if connection is not None:
                await connection.close()
