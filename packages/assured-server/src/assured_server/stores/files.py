"""File rows (``stored_files``): each query on them named once."""

from __future__ import annotations

from assured_server.db.engine import Database
from assured_server.db.models import StoredFile
from assured_server.stores.unit import Unit, writer_of


class Files:
    """Reading and changing file rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, row: StoredFile, unit: Unit | None = None) -> None:
        """Insert ``row`` as a new file, in ``unit`` or a durable write of its own."""
        await writer_of(self._db, unit).insert(row)
