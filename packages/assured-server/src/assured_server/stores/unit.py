"""What the stores share: a unit of work (several store writes committed together, or not at
all), where a write goes, and the read of one account's row."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import DeclarativeBase

from assured_server.clock import is_uuid
from assured_server.db.compiled import Transaction, Writer
from assured_server.db.engine import Database


class Unit:
    """An open transaction that store methods join (``Stores.unit()``); opaque to callers."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx


def writer_of(db: Database, unit: Unit | None) -> Writer:
    """Where a store's prepared write goes: into ``unit``, else a durable write of its own."""
    return db if unit is None else unit._tx  # noqa: SLF001 - the stores' own handle


M = TypeVar("M", bound=DeclarativeBase)


async def owned_row(db: Database, model: type[M], account_id: str, key: str) -> M | None:
    """The row of ``model`` with primary key ``key`` if it is ``account_id``'s, else ``None``
    (also for a key that is not a UUID: every id is one)."""
    if not is_uuid(key):
        return None
    row = await db.fetch(model, key)
    if row is None or getattr(row, "account_id", None) != account_id:
        return None
    return row
