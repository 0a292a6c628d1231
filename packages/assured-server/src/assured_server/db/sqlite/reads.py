"""Point reads on SQLite: one loop-run connection (see :mod:`~assured_server.db.sqlite.loop`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from assured_server.db.sqlite.loop import LoopConnection, loop_connector


class SqliteReads:
    """One loop-run SQLite connection (see :mod:`~assured_server.db.sqlite.loop`) for reads."""

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
