"""The database handle: one async engine, sessions for reading and for writing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# How long a SQLite writer waits for the lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 10_000
# How long opening a PostgreSQL connection may take before the database counts as unreachable.
PG_CONNECT_TIMEOUT = 5.0


# Set while a task is inside ``Database.write``: a nested write must not wait for itself.
_writing: ContextVar[bool] = ContextVar("assured_db_writing", default=False)


class DatabaseUnavailable(Exception):
    """The database cannot be reached; requests answer 503 until it is back."""


class Database:
    """Owns the engine; hands out sessions whose transactions fit the backend."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True, pool_timeout=10)
            kwargs["async_creator"] = _asyncpg_creator(url)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        # On SQLite a writer starts with BEGIN IMMEDIATE: taking the write lock up front avoids
        # the deadlock of two deferred transactions that both try to upgrade their read lock.
        self._writer = async_sessionmaker(
            self.engine.execution_options(assured_write=True), expire_on_commit=False
        )
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; nothing it does is committed."""
        async with self._reader() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed when the block ends without an error."""
        if self._write_lock is None or _writing.get():
            async with self._writer() as session, session.begin():
                yield session
            return
        # SQLite has one writer at a time. Queueing our own writers here, instead of letting
        # each connection's BEGIN IMMEDIATE find the lock taken, spares them SQLite's busy
        # handler, which sleeps (up to 100 ms a try) rather than waking when the lock is free.
        async with self._write_lock:
            token = _writing.set(True)
            try:
                async with self._writer() as session, session.begin():
                    yield session
            finally:
                _writing.reset(token)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _asyncpg_creator(url: str) -> Callable[[], Awaitable[Any]]:
    """Open asyncpg connections, turning every way of failing to connect into one error.

    asyncpg raises OSError, timeouts or its own errors (a server still starting) when it cannot
    connect; SQLAlchemy passes those through unwrapped, so they are named here once.
    """
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def create() -> Any:
        try:
            return await asyncpg.connect(dsn, timeout=PG_CONNECT_TIMEOUT)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(type(exc).__name__) from exc

    return create


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (the driver's implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL + synchronous=FULL: a committed upload record survives power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("assured_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
