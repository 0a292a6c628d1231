"""SQLite writes committed in groups: one transaction and one fsync for the writes that queue.

SQLite has one writer at a time, and with ``synchronous=FULL`` each commit waits for fsync in
a thread. Taking turns one transaction at a time, a busy server commits once per turn of the
event loop: the committing task waits for its thread, then for its place in a loop crowded
with other requests, all while holding the write lock. Instead, each write here is a *unit*:
a session inside a SAVEPOINT of a shared transaction. Units run one after another (a lock
queues them, so they never interleave); when a unit ends and nobody else is queued, the
transaction is committed and every unit in it learns the outcome. A unit's block returns only
once its changes are durable, exactly as with a transaction of its own.

- A unit that raises is rolled back to its savepoint and does not affect the others, unless
  the error broke the transaction itself (an operational error from the database): then the
  whole group is rolled back and every unit in it gets that error.
- A unit that fails still waits for its group's outcome: what it saw (or failed on) may have
  been another unit's change, which counts only if the group commits.
- A write nested in a unit (in the same task) becomes a nested savepoint of the same group.
- Queueing in the process also keeps our writers out of SQLite's busy handler, which sleeps
  (up to 100 ms a try) rather than waking when the lock is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from assured_server.db.errors import DatabaseUnavailable
from assured_server.db.sqlite.file_lock import WAIT_SECONDS, FileLock


class _Group:
    """One open transaction and the future its units wait on."""

    __slots__ = ("connection", "committed", "driver_connection")

    def __init__(self, connection: AsyncConnection, driver_connection: Any) -> None:
        self.connection = connection
        # The sqlite3-style connection under it, for statements run without a session.
        self.driver_connection = driver_connection
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Every unit may have been cancelled: nobody would read a failure, and asyncio would
        # log "exception was never retrieved".
        self.committed.add_done_callback(_retrieve)

    def fail(self, error: BaseException) -> None:
        if self.committed.done():
            return
        if isinstance(error, asyncio.CancelledError):
            self.committed.cancel()
        else:
            self.committed.set_exception(error)


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


# The group of the unit running in this task, so that a nested write joins it.
_current: ContextVar[_Group | None] = ContextVar("assured_db_group", default=None)


class GroupCommitter:
    """Hands out write units on ``engine`` (whose ``assured_write`` BEGIN takes the lock).

    ``file_lock``: taken for each group, so that other processes writing the same file queue
    in the kernel rather than in SQLite's sleeping busy handler.
    """

    def __init__(self, engine: AsyncEngine, file_lock: FileLock | None = None) -> None:
        self._engine = engine.execution_options(assured_write=True)
        self._file_lock = file_lock
        self._wait_seconds = file_lock.wait_seconds if file_lock is not None else WAIT_SECONDS
        self._lock = asyncio.Lock()
        self._queued = 0
        self._group: _Group | None = None
        self._savepoints = 0  # names them
        # The connection between groups: kept checked out, because taking one from the pool
        # and returning it (with its reset) cost a fifth of a small write's CPU.
        self._idle: AsyncConnection | None = None
        # asyncio keeps only weak references to tasks: hold the commits in flight.
        self._commits: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """A session whose changes are committed (durably) when the block ends without error."""
        async with self._turn() as group, _savepoint(group) as session:
            yield session

    async def execute(self, sql: str, parameters: Sequence[Any]) -> int:
        """Run one statement without a session (the hottest writes); the rows it changed.

        A unit of its own, or part of the unit running in this task. A single statement needs
        no savepoint: SQLite undoes a failed statement by itself and the transaction goes on.
        Its errors are SQLAlchemy's, as through a session.
        """
        async with self._turn() as group:
            return await _execute(group.driver_connection, sql, parameters)

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[Callable[[str, Sequence[Any]], Awaitable[int]]]:
        """A unit of statements without a session: ``execute(sql, parameters)`` in the block.

        Its own SAVEPOINT (taken and released on the driver) keeps the unit atomic within
        its group; the block ends once the group is durable, as with :meth:`unit`.
        """
        async with self._turn() as group:
            connection = group.driver_connection
            self._savepoints += 1
            name = f"assured_{self._savepoints}"
            await _execute(connection, f"SAVEPOINT {name}", ())
            try:
                yield partial(_execute, connection)
            except BaseException:
                await _execute(connection, f"ROLLBACK TO SAVEPOINT {name}", ())
                await _execute(connection, f"RELEASE {name}", ())
                raise
            await _execute(connection, f"RELEASE {name}", ())

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[_Group]:
        """This unit's place in a group: the block runs alone on the group's connection."""
        nested_in = _current.get()
        if nested_in is not None:
            yield nested_in
            return
        # Bounds the whole wait of this write (for our queue and for other processes).
        deadline = time.monotonic() + self._wait_seconds
        self._queued += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._queued -= 1
            self._close_if_orphaned()
            raise
        self._queued -= 1
        lock_handed_over = False
        unit_error: BaseException | None = None
        try:
            group = self._group
            if group is None:
                group = self._group = await self._begin(deadline)
            token = _current.set(group)
            try:
                yield group
            except OperationalError as exc:
                # The database failed under the transaction: none of the group can commit.
                self._group = None
                group.fail(exc)
                await self._discard(group)
                raise
            except BaseException as exc:
                # The unit's own failure, rolled back to its savepoint; the group goes on.
                unit_error = exc
            finally:
                _current.reset(token)
            if self._queued == 0:
                lock_handed_over = self._finish(group)
        finally:
            if not lock_handed_over:
                self._lock.release()
        if isinstance(unit_error, asyncio.CancelledError):
            raise unit_error
        try:
            await asyncio.shield(group.committed)
        except Exception as group_error:
            # Whatever this unit saw (or failed on) may have been another unit's row that
            # never became durable: the group's failure is the answer.
            raise group_error from unit_error
        if unit_error is not None:
            raise unit_error

    def _close_if_orphaned(self) -> None:
        """After a queued unit left without running: commit a group nobody will finish."""
        if self._queued == 0 and self._group is not None:
            task = asyncio.get_running_loop().create_task(self._commit_orphan())
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)

    async def _commit_orphan(self) -> None:
        # The unit that left it open handed it to a successor that was cancelled while queued.
        await self._lock.acquire()
        group = self._group
        if group is None or self._queued:
            self._lock.release()  # finished meanwhile, or a queued unit will finish it
            return
        self._group = None
        await self._commit(group)  # releases the lock

    async def _begin(self, deadline: float) -> _Group:
        # The connection first: waiting for one must not happen while holding the lock that
        # other processes queue on.
        connection, self._idle = self._idle, None
        if connection is None:
            connection = await self._engine.connect()
        try:
            if self._file_lock is not None:
                await self._file_lock.acquire(deadline)
            try:
                await connection.begin()
            except BaseException:
                self._release_file()
                raise
            raw = await connection.get_raw_connection()
        except BaseException:
            await connection.close()
            raise
        return _Group(connection, raw.driver_connection)

    def _release_file(self) -> None:
        if self._file_lock is not None:
            self._file_lock.release()

    def _finish(self, group: _Group) -> bool:
        """Commit ``group`` in a task of its own, which then releases the lock."""
        self._group = None
        # Its own task: a unit cancelled while waiting must not stop the others' commit.
        task = asyncio.get_running_loop().create_task(self._commit(group))
        self._commits.add(task)
        task.add_done_callback(self._commits.discard)
        return True

    async def _commit(self, group: _Group) -> None:
        try:
            if not _in_transaction(group):
                # SQLite ends a transaction by itself on some errors (a full disk, corruption):
                # a COMMIT now would "succeed" having written nothing.
                raise DatabaseUnavailable("the database ended the transaction by itself")
            await group.connection.commit()
        except BaseException as exc:
            group.fail(exc)
            await self._discard(group)
        else:
            if not group.committed.done():
                group.committed.set_result(None)
            self._release_file()
            self._idle = group.connection
        finally:
            self._lock.release()

    async def close(self) -> None:
        """Return the connection kept between groups to the pool (a later write takes one)."""
        async with self._lock:
            connection, self._idle = self._idle, None
            if connection is not None:
                await connection.close()

    async def _discard(self, group: _Group) -> None:
        """Roll back and close the connection (the error that got us here is what counts)."""
        with contextlib.suppress(Exception):
            await group.connection.rollback()
        self._release_file()
        with contextlib.suppress(Exception):
            await group.connection.close()


async def _execute(connection: Any, sql: str, parameters: Sequence[Any]) -> int:
    """Run ``sql`` on the driver ``connection``; the rows it changed; SQLAlchemy's errors."""
    try:
        cursor = await connection.execute(sql, parameters)
        rowcount: int = cursor.rowcount
        await cursor.close()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, parameters, exc, sqlite3.Error) from exc
    return rowcount


def _in_transaction(group: _Group) -> bool:
    return bool(getattr(group.driver_connection, "in_transaction", True))


@asynccontextmanager
async def _savepoint(group: _Group) -> AsyncIterator[AsyncSession]:
    session = AsyncSession(
        bind=group.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        async with session.begin():
            # The SAVEPOINT now, not at the session's first statement: statements run on the
            # connection directly inside the block (``execute``) must be undone with it.
            await session.connection()
            yield session
    finally:
        await session.close()
