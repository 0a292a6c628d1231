"""Output: JSON for scripts (``--json``), rich tables for people.

rich is imported when something is printed with it, not when the command line starts: ``assured
--help`` and usage errors do without it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.console import Console


def console() -> Console:
    """Standard output, for tables (made per use: it reads the terminal's width then)."""
    from rich.console import Console

    return Console()


def err_console() -> Console:
    """Standard error, for messages and progress bars (standard output stays for results)."""
    from rich.console import Console

    return Console(stderr=True)


def to_jsonable(model: BaseModel) -> dict[str, Any]:
    """A model as the API wrote it (camelCase for v3 objects): only the fields it sent, so a
    field the SDK knows but the server did not send (an older server) is not made up."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def print_json(data: Any) -> None:
    """Exactly one JSON document on standard output, nothing else."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).replace("+00:00", "Z")
    return str(value)


def show_object(model: BaseModel, *, as_json: bool) -> None:
    """One object: JSON, or a two-column table of its fields."""
    if as_json:
        print_json(to_jsonable(model))
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name in type(model).model_fields:
        table.add_row(name, _cell(getattr(model, name)))
    console().print(table)


class Column(NamedTuple):
    """A column of a table of objects."""

    header: str
    value: str | Callable[[Any], object]
    """The attribute shown, or a function of the object."""
    folds: bool = True
    """Whether its text may fold onto more lines in a narrow terminal (else it keeps its width;
    only the columns that fold give up width)."""

    def cell(self, item: Any) -> str:
        """The text of this column for ``item``."""
        value = self.value(item) if callable(self.value) else getattr(item, self.value)
        return _cell(value)


def show_list(
    models: Iterable[BaseModel],
    columns: Sequence[Column],
    *,
    as_json: bool,
    empty: str,
) -> None:
    """Several objects: a JSON array, or a table of the given columns."""
    items = list(models)
    if as_json:
        print_json([to_jsonable(item) for item in items])
        return
    if not items:
        err_console().print(empty)
        return
    from rich.table import Table

    table = Table()
    for column in columns:
        table.add_column(column.header, overflow="fold", no_wrap=not column.folds)
    for item in items:
        table.add_row(*(column.cell(item) for column in columns))
    console().print(table)
