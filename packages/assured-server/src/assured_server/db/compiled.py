"""Statements compiled once by SQLAlchemy and run on the driver: the engines' fast paths.

Through an ORM session a primary-key read costs about 340 µs of SQLAlchemy machinery, an
insert about 300 µs and a Core ``UPDATE`` 300–700 µs, for work SQLite does in a few
microseconds (half the CPU of a ``download-url``, a third of a create-upload). Each statement
here is compiled once for the dialect and its values converted by the columns' own bind and
result processors, so what is written or read is exactly what the session would have written
or loaded:

- :class:`StatementCache` / :class:`Compiled`: DML statements by *shape* (the caller names
  each), run by :class:`Transaction` or by the database itself (a :class:`Writer`);
- :class:`RowInsert`: one whole row of a mapped class (the models declare no defaults);
- :class:`PointReader`: ``SELECT … WHERE <primary key> = ?`` of one table, through the
  engine's own connection (:class:`~assured_server.db.sqlite.reads.SqliteReads`,
  :class:`~assured_server.db.postgres.direct.PgDirect`).

Only the stores use these, through :class:`~assured_server.db.engine.Database`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, insert, inspect, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler


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


class RowInsert:
    """``INSERT INTO <table> (<every column>) VALUES (…)`` for objects of ``model``."""

    def __init__(self, model: type[DeclarativeBase], dialect: Dialect) -> None:
        mapper = inspect(model)
        table = mapper.local_table
        compiled = insert(model).compile(dialect=dialect)
        self.sql = str(compiled)
        # Positional parameters in the order the compiled statement names them.
        columns = {column.key: column for column in table.columns}
        order = compiled.positiontup or []
        self._attributes = [mapper.get_property_by_column(columns[name]).key for name in order]
        self._processors: list[Callable[[Any], Any] | None] = [
            columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
        ]

    def parameters(self, row: object) -> tuple[Any, ...]:
        """The statement's parameters for ``row``."""
        return tuple(
            value if process is None else process(value)
            for process, value in zip(
                self._processors,
                (getattr(row, attribute) for attribute in self._attributes),
                strict=True,
            )
        )


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
