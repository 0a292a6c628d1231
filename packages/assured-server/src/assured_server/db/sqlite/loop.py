"""SQLite on the event loop: the aiosqlite interface, with a thread only where SQLite waits.

aiosqlite runs every call (BEGIN, execute, fetch, commit…) in its own thread and wakes the
loop for each answer: a primary-key read costs about nine hand-offs, ≈1 ms of CPU on a busy
machine, while SQLite answers it in ≈7 µs. These classes give SQLAlchemy's aiosqlite dialect
the awaitable connection and cursor it expects and call :mod:`sqlite3` right on the loop,
except for the two things that can take long:

- waiting for the write lock. Connections have no busy timeout, so a statement that finds
  the database locked (another process writing) fails at once; it is then run again in a
  thread, with a busy timeout, off the loop. In WAL mode readers never wait for writers, and
  this server's own writers queue in :class:`~assured_server.db.engine.Database`, so that is
  rare;
- ``COMMIT``, which waits for fsync (``synchronous=FULL``): always in a thread.

Everything else is CPU work on small indexed tables (SQLite answers in microseconds).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from assured_server.threads import run_to_completion

# How long a statement that found the database locked waits for it, off the loop.
BUSY_TIMEOUT_MS = 10_000


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _execute_waiting(cursor: sqlite3.Cursor, sql: str, parameters: Any) -> None:
    connection = cursor.connection
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        cursor.execute(sql, parameters)
    finally:
        connection.execute("PRAGMA busy_timeout=0")


class LoopCursor:
    """An awaitable :class:`sqlite3.Cursor` that runs on the calling thread."""

    __slots__ = ("_cursor",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._cursor = connection.cursor()

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        """The DB-API column description of the last query."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The rowid of the last inserted row."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Rows per ``fetchmany`` by default."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        """Run one statement; if the database is locked, wait for it in a thread."""
        try:
            self._cursor.execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            await run_to_completion(lambda: _execute_waiting(self._cursor, sql, parameters))
        return self

    async def executemany(self, sql: str, seq: Iterable[Any]) -> LoopCursor:
        """Run one statement for each parameter set."""
        self._cursor.executemany(sql, seq)
        return self

    async def fetchone(self) -> Any:
        """The next row, or ``None``."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Up to ``size`` rows."""
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        """The remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()


class LoopConnection:
    """An awaitable :class:`sqlite3.Connection` (autocommit; BEGIN is issued explicitly)."""

    __slots__ = ("_conn",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    @property
    def _connection(self) -> sqlite3.Connection | None:
        # SQLAlchemy's adapter commits or rolls back only while this is set (as in aiosqlite).
        return self._conn

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (SQLite may end one by itself after some errors)."""
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        """Always ``None`` (autocommit): transactions start with an explicit BEGIN."""
        return self._conn.isolation_level

    def cursor(self) -> LoopCursor:
        """A new cursor."""
        return LoopCursor(self._conn)

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        """Run one statement on a new cursor."""
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        """Commit the open transaction, if any, in a thread (it waits for fsync)."""
        if self._conn.in_transaction:
            await run_to_completion(self._conn.commit)

    async def rollback(self) -> None:
        """Roll back the open transaction, if any."""
        self._conn.rollback()

    async def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function (SQLAlchemy registers regexp)."""
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        """Close at once (SQLAlchemy's forced termination)."""
        self._conn.close()


def loop_connector(path: str) -> Callable[[], Awaitable[LoopConnection]]:
    """An ``async_creator`` for SQLAlchemy that opens :class:`LoopConnection` s on ``path``."""

    async def connect() -> LoopConnection:
        connection = sqlite3.connect(
            path,
            timeout=0,  # never wait on the loop: see the module docstring
            isolation_level=None,
            # Used on the loop's thread and, one call at a time, in a worker thread.
            check_same_thread=False,
        )
        return LoopConnection(connection)

    return connect
