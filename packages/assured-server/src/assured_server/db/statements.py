"""Core statements compiled once and run on the driver, for the hottest writes.

A Core ``UPDATE`` through an ORM session costs 300–700 µs of SQLAlchemy machinery (statement
construction, cache key, ORM execution hooks, result) for a change SQLite makes in a few
microseconds; every upload and every keyed create runs two or three of them. A statement here
is built once per *shape* (the caller names it), compiled by SQLAlchemy for the dialect, and
its values are converted by the bound columns' own bind processors, so what is written is what
the session would have written. A :class:`Transaction` groups several of them; a
:class:`Writer` is either that or the database itself (each statement a write of its own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from assured_server.db.row_insert import RowInsert


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement's SQL with its positional parameters' names and bind processors."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional parameters for ``values`` (by bind name)."""
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self.names, self.processors, strict=True)
        )


class StatementCache:
    """Compiled statements by shape, for one dialect with positional parameters."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._compiled: dict[Hashable, Compiled] = {}

    def get(self, shape: Hashable, build: Callable[[], Executable]) -> Compiled:
        """The compiled form of the statement ``build()`` makes for ``shape``."""
        compiled = self._compiled.get(shape)
        if compiled is None:
            compiled = self._compiled[shape] = self._compile(build())
        return compiled

    def _compile(self, statement: Executable) -> Compiled:
        compiler = statement.compile(dialect=self._dialect)  # type: ignore[attr-defined]
        assert isinstance(compiler, SQLCompiler)  # noqa: S101 - DML compiles to SQL
        names = tuple(compiler.positiontup or ())
        processors = tuple(
            compiler.binds[name].type.dialect_impl(self._dialect).bind_processor(self._dialect)
            for name in names
        )
        return Compiled(str(compiler), names, processors)


Execute = Callable[[str, Sequence[Any]], Awaitable[int]]
"""``execute(sql, parameters)`` → the rows the statement changed."""


class Writer(Protocol):
    """Where prepared writes go: the database (each a write of its own) or a transaction."""

    async def insert(self, row: DeclarativeBase) -> None:
        """Write ``row`` as a new row."""

    async def run(
        self, shape: Hashable, build: Callable[[], Executable], values: Mapping[str, Any]
    ) -> int:
        """Run the DML statement ``build()`` (named ``shape``) with ``values``; rows changed."""


class Transaction:
    """Prepared writes in one transaction (``Database.transaction()``), without a session."""

    def __init__(self, statements: PreparedStatements, execute: Execute) -> None:
        self._statements = statements
        self._execute = execute

    async def insert(self, row: DeclarativeBase) -> None:
        """Write ``row`` as a new row (``row`` stays a plain, transient object)."""
        statement = self._statements.insert(type(row))
        await self._execute(statement.sql, statement.parameters(row))

    async def run(
        self, shape: Hashable, build: Callable[[], Executable], values: Mapping[str, Any]
    ) -> int:
        """Run the DML statement ``build()`` (named ``shape``) with ``values``; rows changed."""
        compiled = self._statements.get(shape, build)
        return await self._execute(compiled.sql, compiled.parameters(values))


class PreparedStatements:
    """The compiled whole-row inserts and DML statements of one database."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._cache = StatementCache(dialect)
        self._inserts: dict[type[DeclarativeBase], RowInsert] = {}

    def insert(self, model: type[DeclarativeBase]) -> RowInsert:
        """The whole-row insert of ``model``."""
        statement = self._inserts.get(model)
        if statement is None:
            statement = self._inserts[model] = RowInsert(model, self._dialect)
        return statement

    def get(self, shape: Hashable, build: Callable[[], Executable]) -> Compiled:
        """The compiled statement named ``shape``."""
        return self._cache.get(shape, build)
