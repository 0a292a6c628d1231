"""A unit of work: several store writes committed together, or not at all."""

from __future__ import annotations

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
