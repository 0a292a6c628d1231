"""Reconciling storage with the database: delete objects that no live file accounts for.

Bytes are written only under a row that exists first (v1 inserts its row before the upload, v3
before it hands out the form), and what ends a file deletes its bytes with it. Still, a process
killed between the two, or a delete the store refused, can leave objects under ``files/`` or
``uploads/`` that no row accounts for. Each sweep looks at one batch of them, in key order, and
the next sweep goes on after the last key seen (then on to the other prefix, and round again),
so every object is looked at over time for a bounded cost per sweep: one listing, one query,
the deletes.

An object goes only when it is older than the upload window plus its grace (nothing that old
belongs to an upload still being recorded) and its row is gone or says it has no bytes
(``purged_at`` set: expired and purged, rejected). Those states are final and ids are never
reused, so a row that accounts for no object never starts to; several sweepers (replicas) at
once may look at the same objects, and deleting one twice is harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from assured_server.clock import is_uuid
from assured_server.db.engine import Database
from assured_server.files.records import FILES_PREFIX, LANDING_PREFIX
from assured_server.storage.base import ObjectInfo, StorageBackend, StorageError
from assured_server.stores.files import Files

log = logging.getLogger(__name__)
PREFIXES = (FILES_PREFIX, LANDING_PREFIX)
# Objects looked at per sweep: one S3 listing page, one query of ids.
BATCH = 1000


class OrphanSweep:
    """Walks the stored objects a batch per :meth:`run`, deleting those of no live file."""

    def __init__(
        self, db: Database, storage: StorageBackend, *, min_age: timedelta, batch: int = BATCH
    ) -> None:
        self.files = Files(db)
        self.storage = storage
        self.min_age = min_age
        self.batch = batch
        # Where the walk is: which prefix, and the last key seen there (None: from the start).
        self._prefix = 0
        self._after: str | None = None

    async def run(self, now: datetime) -> int:
        """Look at the next batch of objects; returns how many were deleted."""
        prefix = PREFIXES[self._prefix]
        try:
            listed = await self.storage.list_objects(
                prefix, limit=self.batch, start_after=self._after
            )
        except StorageError:
            log.warning("could not list the objects under %s; next sweep retries", prefix)
            return 0
        if len(listed) < self.batch:  # the end of this prefix: the other one next time
            self._prefix = (self._prefix + 1) % len(PREFIXES)
            self._after = None
        else:
            self._after = listed[-1].key
        old = {
            info.key.removeprefix(prefix): info
            for info in listed
            if is_uuid(info.key.removeprefix(prefix)) and info.last_modified <= now - self.min_age
        }
        if not old:
            return 0
        live = await self._live(list(old))
        return await self._delete([info for file_id, info in old.items() if file_id not in live])

    async def _live(self, file_ids: list[str]) -> set[str]:
        """Those of ``file_ids`` whose row may still own bytes (not gone, not purged)."""
        return await self.files.live_ids(file_ids)

    async def _delete(self, orphans: list[ObjectInfo]) -> int:
        deleted = failed = 0
        for info in orphans:
            try:
                await self.storage.delete(info.key)
            except StorageError:
                failed += 1
                continue
            deleted += 1
        # One line per sweep, never one per object.
        if deleted:
            log.info("deleted %d stored object(s) that no file accounts for", deleted)
        if failed:
            log.warning("could not delete %d orphaned object(s); a later sweep retries", failed)
        return deleted
