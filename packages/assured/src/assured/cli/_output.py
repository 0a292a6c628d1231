"""Output: JSON for scripts (``--json``), rich tables for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def to_jsonable(model: BaseModel) -> dict[str, Any]:
    """A model as the API writes it (camelCase for v3 objects)."""
    return model.model_dump(mode="json", by_alias=True)


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
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name in type(model).model_fields:
        table.add_row(name, _cell(getattr(model, name)))
    console.print(table)


def show_list(
    models: Iterable[BaseModel],
    columns: Sequence[tuple[str, str]],
    *,
    as_json: bool,
    empty: str,
) -> None:
    """Several objects: a JSON array, or a table of the given ``(header, attribute)`` columns."""
    items = list(models)
    if as_json:
        print_json([to_jsonable(item) for item in items])
        return
    if not items:
        err_console.print(empty)
        return
    table = Table()
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for item in items:
        table.add_row(*(_cell(getattr(item, attribute)) for _, attribute in columns))
    console.print(table)
