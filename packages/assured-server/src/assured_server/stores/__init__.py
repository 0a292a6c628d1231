"""The data-access seam: one store per aggregate, each query named once as a method.

Routes and domain code call these; sessions, prepared statements and the engines' fast paths
stay behind them (in ``assured_server.db``). Writes that must commit together share a
:class:`~assured_server.stores.unit.Unit` from :meth:`Stores.unit`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from assured_server.db.engine import Database
from assured_server.stores.accounts import Accounts
from assured_server.stores.encryption_keys import EncryptionKeys
from assured_server.stores.files import Files
from assured_server.stores.idempotency import IdempotencyKeys
from assured_server.stores.providers import Providers
from assured_server.stores.resumable import Resumables
from assured_server.stores.unit import Unit
from assured_server.stores.upload_links import UploadLinks

__all__ = ["Stores", "Unit"]


class Stores:
    """Every store of one database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.accounts = Accounts(db)
        self.encryption_keys = EncryptionKeys(db)
        self.files = Files(db)
        self.idempotency = IdempotencyKeys(db)
        self.providers = Providers(db)
        self.upload_links = UploadLinks(db)
        self.resumables = Resumables(db)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """Writes of several stores in one transaction, committed (durably) when the block ends
        without an error."""
        async with self._db.transaction() as tx:
            yield Unit(tx)
