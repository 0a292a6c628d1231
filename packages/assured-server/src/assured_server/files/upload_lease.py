"""An upload's hold on its file's row while the bytes arrive.

The hold is the row's claim of :mod:`assured_server.stores.files` (``sweep_claimed_until``),
the one every sweeper takes before it touches a file: while an upload holds it, no sweeper (of
any worker or replica) drops, settles or purges the row under the upload, and no second upload
of the same file can start. It lives in the database, so it holds across processes and
machines; it is taken by a conditional update, renewed by compare-and-set while bytes keep
arriving (an upload may take longer than the lease), and given back when the upload ends. The
lease of a process that died runs out by itself, and so does the lease of a client that stopped
sending: after that the upload has lost its row (:class:`UploadLost`) and commits nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

import anyio

from assured_server.clock import utcnow
from assured_server.db.models import StoredFile
from assured_server.stores.files import LEASE, Files

# Seconds of streaming between renewals: a fifth of the lease, so a client may pause for four
# minutes between bytes, and the commit after a renewal has as long before any sweeper may act.
RENEW_EVERY = LEASE.total_seconds() / 5
RELEASED: Mapping[str, None] = MappingProxyType({"sweep_claimed_until": None})
"""The column value that gives the lease back, within the change that settles the file."""


class UploadLost(Exception):
    """The row left ``pending``, or the upload stalled past its lease and another took it."""


class UploadLease:
    """One upload's lease on its file's row (see the module docstring)."""

    def __init__(
        self, files: Files, file_id: str, until: datetime, *, renew_every: float = RENEW_EVERY
    ) -> None:
        self._files = files
        self.file_id = file_id
        self.until = until
        self._renew_every = renew_every
        self._renewed = time.monotonic()
        self.held = True

    @classmethod
    def of_new_row(cls, files: Files, row: StoredFile, now: datetime) -> UploadLease:
        """Hold ``row`` from its insert (the lease is a column of the row: no extra write)."""
        row.sweep_claimed_until = now + LEASE
        return cls(files, row.id, row.sweep_claimed_until)

    @classmethod
    async def claim(cls, files: Files, file_id: str, now: datetime) -> UploadLease | None:
        """Take the lease of a ``pending`` file nobody holds; ``None`` if it is not to be had."""
        until = now + LEASE
        if not await files.take_lease(file_id, now, until):
            return None
        return cls(files, file_id, until)

    async def keep(self) -> None:
        """Renew the lease when it is due (cheap otherwise: called for every chunk)."""
        if time.monotonic() - self._renewed >= self._renew_every:
            await self.renew()

    async def renew(self) -> None:
        """Extend the lease if it is still this upload's and the file still ``pending``."""
        until = utcnow() + LEASE
        if until <= self.until:  # a clock that stepped back: the new value must differ
            until = self.until + timedelta(microseconds=1)
        if not await self._files.renew_lease(self.file_id, self.until, until):
            self.held = False
            raise UploadLost(self.file_id)
        self.until = until
        self._renewed = time.monotonic()

    def given_back(self) -> None:
        """The change that settled the file gave the lease back too (with :data:`RELEASED`)."""
        self.held = False

    async def release(self) -> None:
        """Give the lease back if this upload still holds it (shielded: also when cancelled)."""
        if not self.held:
            return
        self.held = False
        with anyio.CancelScope(shield=True):
            await self._files.release_lease(self.file_id, self.until)
