"""Core statements compiled once for the SQLite driver, for the hottest writes.

A Core ``UPDATE`` through an ORM session costs 300–700 µs of SQLAlchemy machinery (statement
construction, cache key, ORM execution hooks, result) for a change SQLite makes in a few
microseconds; every upload and every keyed create runs two or three of them. A statement here
is built once per *shape* (the caller names it), compiled by SQLAlchemy for the dialect, and
its values are converted by the bound columns' own bind processors, so what is written is what
the session would have written.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
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
