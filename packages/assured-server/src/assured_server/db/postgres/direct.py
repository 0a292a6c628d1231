"""Statements run on asyncpg directly, for the hottest reads and writes on PostgreSQL.

Through SQLAlchemy's session a primary-key read or a one-row insert costs ~1 ms of CPU per
request here (session, pool checkout and reset, the asyncpg adaption layer, result objects);
asyncpg alone runs the same prepared statement in a tenth of that. The statements are compiled
by SQLAlchemy (:mod:`assured_server.db.compiled`); this module only owns a small
asyncpg pool of its own and turns asyncpg's errors into the ones the rest of the server
handles: SQLAlchemy's ``IntegrityError`` and ``DBAPIError``, or ``DatabaseUnavailable`` (503).
Each statement runs in a transaction of its own (asyncpg autocommits).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError

from assured_server.db.errors import DatabaseUnavailable

# Errors that mean "the database cannot answer now", not "this statement is wrong".
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,  # the client side: a closed or broken connection
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections
)


class PgDirect:
    """A lazily opened asyncpg pool of at most ``max_size`` connections to ``dsn``."""

    def __init__(self, dsn: str, *, max_size: int, connect_timeout: float, acquire_timeout: float):
        self._dsn = dsn
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._acquire_timeout = acquire_timeout
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def fetch_one(self, sql: str, parameters: Sequence[Any]) -> Sequence[Any] | None:
        """The first row of ``sql``'s result, or None."""
        pool = await self._get_pool()
        try:
            async with pool.acquire(timeout=self._acquire_timeout) as connection:
                row: Sequence[Any] | None = await connection.fetchrow(sql, *parameters)
                return row
        except Exception as exc:
            _raise_translated(exc, sql, parameters)
            raise

    async def execute(self, sql: str, parameters: Sequence[Any]) -> int:
        """Run one statement (committed when it returns); the rows it changed."""
        pool = await self._get_pool()
        try:
            async with pool.acquire(timeout=self._acquire_timeout) as connection:
                return await _execute(connection, sql, parameters)
        except Exception as exc:
            _raise_translated(exc, sql, parameters)
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Callable[[str, Sequence[Any]], Awaitable[int]]]:
        """``execute(sql, parameters)`` in one transaction, committed when the block ends."""
        pool = await self._get_pool()
        block_error: BaseException | None = None
        try:
            async with pool.acquire(timeout=self._acquire_timeout) as connection:
                async with connection.transaction():
                    try:
                        yield partial(_execute, connection)
                    except BaseException as exc:
                        block_error = exc
                        raise
        except Exception as exc:
            # Connecting, BEGIN and COMMIT; the block's own errors pass through unchanged.
            if exc is not block_error:
                _raise_translated(exc, "COMMIT", ())
            raise

    async def close(self) -> None:
        """Close the pool's connections (a later statement opens a new pool)."""
        async with self._opening:
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    # No connection is opened here (min_size=0): a database that is down
                    # fails the statement that needs it, not this.
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=0,
                        max_size=self._max_size,
                        timeout=self._connect_timeout,
                        reset=_keep_session,
                    )
        return self._pool


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is (asyncpg still rolls back an open transaction).

    The default reset (``RESET ALL``, ``UNLISTEN *``, … ) is a round trip per statement, and
    these statements change no session state: single autocommitted DML and SELECTs.
    """


async def _execute(connection: asyncpg.Connection, sql: str, parameters: Sequence[Any]) -> int:
    try:
        status: str = await connection.execute(sql, *parameters)
    except Exception as exc:
        _raise_translated(exc, sql, parameters)
        raise
    # "INSERT 0 1", "UPDATE 3", "DELETE 0": the count is the last word.
    return int(status.rsplit(" ", 1)[-1])


def _raise_translated(exc: Exception, sql: str, parameters: Sequence[Any]) -> None:
    """Raise the error the server handles for a driver error; return for any other."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        raise IntegrityError(sql, parameters, exc) from exc
    if isinstance(exc, _UNAVAILABLE):
        # Only the type: driver messages can carry connection details.
        raise DatabaseUnavailable(type(exc).__name__) from exc
    if isinstance(exc, asyncpg.PostgresError):
        # A statement PostgreSQL refused: a bug, answered 500.
        raise DBAPIError(sql, parameters, exc) from exc
