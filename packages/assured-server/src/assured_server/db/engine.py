"""The database handle: one async engine, sessions for reading and for writing."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Table, event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Executable

from assured_server.db.compiled import FetchOne, PointReader, PreparedStatements, Transaction
from assured_server.db.errors import DatabaseUnavailable
from assured_server.db.postgres.direct import PgDirect
from assured_server.db.sqlite.file_lock import FileLock
from assured_server.db.sqlite.group_commit import GroupCommitter
from assured_server.db.sqlite.loop import BUSY_TIMEOUT_MS, loop_connector
from assured_server.db.sqlite.reads import SqliteReads

# How long opening a PostgreSQL connection may take before the database counts as unreachable.
PG_CONNECT_TIMEOUT = 5.0
# How long a statement waits for a pooled PostgreSQL connection (then 503).
PG_POOL_TIMEOUT = 10.0
# Connections of the asyncpg pool for the hottest statements (beside SQLAlchemy's pool).
PG_DIRECT_POOL_SIZE = 10


__all__ = ["Database", "DatabaseUnavailable"]
M = TypeVar("M", bound=DeclarativeBase)


class Database:
    """Owns the engine; hands out sessions whose transactions fit the backend."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        sqlite_file = sqlite_file_of(url) if self.is_sqlite else None
        if sqlite_file is not None:
            # SQLite runs on the event loop, waiting in threads only (see db/sqlite/loop.py).
            kwargs["async_creator"] = loop_connector(sqlite_file)
        elif self.is_sqlite:
            # In-memory or URI databases keep aiosqlite's own connections.
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
        else:
            # No pre-ping (a round trip per checkout): a connection found dead raises a
            # disconnect error, which makes SQLAlchemy replace every pooled connection, and
            # the request answers 503 as during the outage itself.
            kwargs.update(pool_size=10, max_overflow=10, pool_timeout=PG_POOL_TIMEOUT)
            kwargs["async_creator"] = _asyncpg_creator(url)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_timeout_ms=0 if sqlite_file else BUSY_TIMEOUT_MS)
        # Set for a SQLite file: its connections run on the loop (db/sqlite/loop.py).
        self._sqlite_file = sqlite_file
        # The hottest statements skip SQLAlchemy's execution (see compiled.py, postgres/direct.py).
        self._sqlite_reads = SqliteReads(sqlite_file) if sqlite_file is not None else None
        self._pg: PgDirect | None = None
        self._fetch_one: FetchOne | None = None
        if self._sqlite_reads is not None:
            self._fetch_one = self._sqlite_reads.fetch_one
        elif not self.is_sqlite:
            self._pg = PgDirect(
                _asyncpg_dsn(url),
                max_size=PG_DIRECT_POOL_SIZE,
                connect_timeout=PG_CONNECT_TIMEOUT,
                acquire_timeout=PG_POOL_TIMEOUT,
            )
            self._fetch_one = self._pg.fetch_one
        self._point_readers: dict[str, PointReader] = {}
        self._prepared = PreparedStatements(self.engine.dialect)
        # PostgreSQL reads in autocommit: at READ COMMITTED every statement takes its own
        # snapshot even inside a transaction, so BEGIN and ROLLBACK would only add two round
        # trips. SQLite keeps its BEGIN: there it gives the session one snapshot.
        reader_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._reader = async_sessionmaker(reader_engine, expire_on_commit=False)
        # PostgreSQL writes: a session per transaction (SQLite's go through the group commit).
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self._group_commit: GroupCommitter | None = None
        if self.is_sqlite:
            # Its writers start with BEGIN IMMEDIATE: taking the write lock up front avoids the
            # deadlock of two deferred transactions that both try to upgrade their read lock.
            # Other processes on the same file (workers, admin commands) take turns with us.
            lock = FileLock(Path(f"{sqlite_file}-writer.lock")) if sqlite_file else None
            self._group_commit = GroupCommitter(self.engine, lock)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; nothing it does is committed."""
        if self._sqlite_file is None:
            async with self._reader() as session:
                yield session
            return
        session = self._reader()
        try:
            yield session
        finally:
            # Closed inline: ``async with`` closes in a new task behind asyncio.shield (so that
            # a cancelled close cannot leave a connection half-reset), which keeps the pooled
            # connection out past this request and churned the pool under load. A loop-run
            # SQLite read never suspends while closing, so it cannot be cancelled midway.
            await session.close()

    async def fetch(self, model: type[M], key: str) -> M | None:
        """The row of ``model`` whose primary key is ``key``, as a detached object, or None.

        For a request that only reads the row: on SQLite through a point reader (no ORM
        session: half of the CPU of a ``download-url`` went to the ORM's load).
        """
        reader = self._point_reader(cast(Table, model.__table__))
        if reader is None:
            async with self.read() as session:
                return await session.get(model, key)
        values = await reader.get(key)
        return None if values is None else model(**values)

    def _point_reader(self, table: Table) -> PointReader | None:
        """Primary-key reads of ``table`` without the ORM, or ``None`` (in-memory SQLite)."""
        if self._fetch_one is None:
            return None
        reader = self._point_readers.get(table.name)
        if reader is None:
            reader = PointReader(table, self.engine.dialect, self._fetch_one)
            self._point_readers[table.name] = reader
        return reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed when the block ends without an error.

        On SQLite the block is a unit of a group commit (see ``sqlite/group_commit.py``): it
        still ends only once its changes are durable, or raises.
        """
        if self._group_commit is not None:
            async with self._group_commit.unit() as session:
                yield session
            return
        async with self._writer() as session, session.begin():
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Prepared writes (``insert``, ``run``) in one transaction, without a session.

        Committed, durably, when the block ends without an error; on SQLite a unit of the
        group commit (its own savepoint), on PostgreSQL a transaction on the direct pool.
        """
        if self._group_commit is not None:
            async with self._group_commit.statements() as execute:
                yield Transaction(self._prepared, execute)
            return
        assert self._pg is not None  # noqa: S101 - every database is SQLite or PostgreSQL
        async with self._pg.transaction() as execute:
            yield Transaction(self._prepared, execute)

    async def insert(self, row: DeclarativeBase) -> None:
        """Write ``row`` as a new row, durably, in a write of its own (no session).

        On SQLite a unit of the group commit (or part of the write block running in this
        task); ``row`` stays a plain (transient) object.
        """
        statement = self._prepared.insert(type(row))
        await self._execute(statement.sql, statement.parameters(row))

    async def run(
        self, shape: Hashable, build: Callable[[], Executable], values: Mapping[str, Any]
    ) -> int:
        """Run the Core DML statement ``build()`` with its bind ``values``, durably, in a write
        of its own; the rows it changed. ``shape`` names the statement (one per ``build``)."""
        compiled = self._prepared.get(shape, build)
        return await self._execute(compiled.sql, compiled.parameters(values))

    async def _execute(self, sql: str, parameters: Sequence[Any]) -> int:
        if self._group_commit is not None:
            return await self._group_commit.execute(sql, parameters)
        assert self._pg is not None  # noqa: S101 - every database is SQLite or PostgreSQL
        return await self._pg.execute(sql, parameters)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        if self._sqlite_reads is not None:
            await self._sqlite_reads.close()
        if self._pg is not None:
            await self._pg.close()
        if self._group_commit is not None:
            await self._group_commit.close()
        await self.engine.dispose()


def _asyncpg_creator(url: str) -> Callable[[], Awaitable[Any]]:
    """Open asyncpg connections, turning every way of failing to connect into one error.

    asyncpg raises OSError, timeouts or its own errors (a server still starting) when it cannot
    connect; SQLAlchemy passes those through unwrapped, so they are named here once.
    """
    import asyncpg

    dsn = _asyncpg_dsn(url)

    async def create() -> Any:
        try:
            return await asyncpg.connect(dsn, timeout=PG_CONNECT_TIMEOUT)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailable(type(exc).__name__) from exc

    return create


def _asyncpg_dsn(url: str) -> str:
    """The ``postgresql://`` DSN asyncpg takes, from SQLAlchemy's ``postgresql+asyncpg://``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_file_of(url: str) -> str | None:
    """The database file of a SQLite URL; ``None`` for memory or URI-style databases."""
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or parsed.query.get("uri"):
        return None
    return database


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    sync_engine = engine.sync_engine
    # Every write is a SAVEPOINT of a group commit (sqlite/group_commit.py), and every group a
    # BEGIN IMMEDIATE. Through ``exec_driver_sql`` each such statement costs ~80 µs (execution
    # context, events, result) and SQLAlchemy compiles a savepoint statement afresh each time
    # (its name changes); they are run on the driver's cursor instead (``_bare``).
    dialect: Any = sync_engine.dialect
    dialect.do_savepoint = lambda conn, name: _bare(conn, f"SAVEPOINT {name}")
    dialect.do_release_savepoint = lambda conn, name: _bare(conn, f"RELEASE {name}")
    dialect.do_rollback_to_savepoint = lambda conn, name: _bare(
        conn, f"ROLLBACK TO SAVEPOINT {name}"
    )

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (the driver's implicit BEGIN is always DEFERRED).
        # Loop connections are opened in that mode already (aiosqlite's setter is a thread hop).
        if dbapi_connection.isolation_level is not None:
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL + synchronous=FULL: a committed upload record survives power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("assured_write", False)
        _bare(conn, "BEGIN IMMEDIATE" if write else "BEGIN")


def _bare(conn: Any, sql: str) -> None:
    """Run a statement without parameters or result on ``conn``'s driver cursor.

    Its errors become SQLAlchemy's (``OperationalError`` for a failing disk…), as through
    ``exec_driver_sql``: the group commit tells a broken transaction by them.
    """
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, (), exc, sqlite3.Error) from exc
    finally:
        cursor.close()
