"""The background sweep: expire files, purge their bytes, settle or drop stale uploads, and
delete stored objects that no file accounts for (:mod:`assured_server.files.orphans`).

Every file a sweep works on is claimed first (:mod:`assured_server.stores.files`), so two
sweepers (two replicas) never process one file at the same time; and every change is a
conditional update from the state the sweep read, so a row changes once whatever happens.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import anyio

from assured_server.clock import is_uuid, utcnow
from assured_server.db.engine import Database
from assured_server.db.errors import UNAVAILABLE
from assured_server.files import lifecycle, orphans, resumable
from assured_server.files.records import LANDING_PREFIX, PENDING, storage_key
from assured_server.files.screening import ScanOwed
from assured_server.metrics import SWEPT
from assured_server.safety.inspection import SafetyPolicy
from assured_server.storage.base import StorageBackend, StorageError
from assured_server.stores import Stores
from assured_server.stores.accounts import Accounts
from assured_server.stores.files import Files
from assured_server.stores.idempotency import IdempotencyKeys

log = logging.getLogger(__name__)
# What a sweep meets when the machine is short of something: logged as one line, and retried.
TRANSIENT: tuple[type[Exception], ...] = (OSError, StorageError, *UNAVAILABLE)
BATCH = 200
# After its upload window closes, a pending file gets this long before it is dropped, so that
# an upload that started just in time can finish.
UPLOAD_GRACE = timedelta(minutes=5)
# The defaults of ASSURED_MAX_UPLOAD_BYTES and ASSURED_UPLOAD_URL_TTL.
DEFAULT_MAX_UPLOAD = 104_857_600
DEFAULT_UPLOAD_WINDOW = 900


class Sweeper:
    """Runs :meth:`sweep_once` every interval until cancelled."""

    def __init__(
        self,
        db: Database,
        storage: StorageBackend,
        interval: float,
        *,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
        upload_window: int = DEFAULT_UPLOAD_WINDOW,
        orphan_batch: int = orphans.BATCH,
        safety: SafetyPolicy | None = None,
    ) -> None:
        self.db = db
        self.accounts = Accounts(db)
        self.files = Files(db)
        self.idempotency = IdempotencyKeys(db)
        self.storage = storage
        self.interval = interval
        self.max_upload_bytes = max_upload_bytes
        self.safety = safety
        self.orphans = orphans.OrphanSweep(
            db,
            storage,
            min_age=timedelta(seconds=upload_window) + UPLOAD_GRACE,
            batch=orphan_batch,
        )

    async def run(self) -> None:
        """Sweep forever; one failed sweep is logged and the next one tries again."""
        while True:
            try:
                await self.sweep_once()
            except TRANSIENT as exc:
                # Expected while the machine is short of something (open files, the database,
                # the store): one line a sweep, not a traceback a sweep.
                log.warning(
                    "sweep failed (%s: %s); retrying next interval", type(exc).__name__, exc
                )
            except Exception:
                log.exception("sweep failed; retrying next interval")
            await anyio.sleep(self.interval)

    async def sweep_once(self, now: datetime | None = None) -> dict[str, int]:
        """One pass; returns how many files each step changed."""
        now = now or utcnow()
        expired = await self._expire(now)
        purged = await self._purge(now)
        landed, strays = await self._landed_uploads(now)
        counts = {
            "expired": expired,
            "purged": purged,
            "settled_or_dropped": landed
            + await self._stale_uploads(now)
            + await self._owed_scans(now),
            # Stray landings and objects found by the reconciliation: objects of no live file.
            "orphans": strays + await self.orphans.run(now),
            # Unfinished resumable uploads past their TTL, and segments of no upload.
            "resumable": await resumable.sweep(Stores(self.db), self.storage, now, BATCH),
        }
        await self.accounts.purge_revocations(utcnow())
        await self.idempotency.purge(now)
        if hasattr(self.storage, "sweep_temps"):
            await self.storage.sweep_temps()
        for action, count in counts.items():
            if count:
                SWEPT.labels(action).inc(count)
        return counts

    async def _expire(self, now: datetime) -> int:
        return await self.files.expire(now)

    async def _purge(self, now: datetime) -> int:
        """Delete the bytes of expired and rejected files, once each."""
        rows = await self.files.claim_unpurged(now, BATCH)
        purged = 0
        for row in rows:
            try:
                await self.storage.delete(storage_key(row.id))
            except StorageError:
                log.warning("could not delete the bytes of file %s; next sweep retries", row.id)
                await self.files.release_claim(row.id)
                continue
            purged += await self.files.mark_purged(row.id, utcnow())
        return purged

    async def _stale_uploads(self, now: datetime) -> int:
        """Pending files past their upload window: settle them if bytes arrived, else drop."""
        rows = await self.files.claim_stale_uploads(now - UPLOAD_GRACE, now, BATCH)
        changed = 0
        for row in rows:
            try:
                settled = await lifecycle.settle_pending(
                    self.files,
                    self.storage,
                    row,
                    max_bytes=self.max_upload_bytes,
                    safety=self.safety,
                )
            except ScanOwed:
                # Uploaded, but not scanned yet: kept (fail closed), retried by the next sweep.
                await self.files.release_claim(row.id)
                continue
            except StorageError:
                log.warning("could not check the upload of file %s; next sweep retries", row.id)
                await self.files.release_claim(row.id)
                continue
            if settled:
                changed += 1
                await self.files.release_claim(row.id)
                continue
            changed += await self.files.drop_pending(row.id)
        return changed

    async def _landed_uploads(self, now: datetime) -> tuple[int, int]:
        """Settle pending files whose direct upload landed; delete landings no file waits for.

        A store like plain S3 never tells the server that an upload arrived, so every sweep
        looks, whatever the upload window says: a file is final within two sweep intervals even
        if no client calls ``complete``. A landing object whose file has left ``pending`` (a
        second POST of the same form) or is gone never becomes the file: it is deleted.
        Returns how many files were settled and how many landings deleted.
        """
        try:
            landed = await self.storage.list_objects(LANDING_PREFIX, limit=BATCH)
        except StorageError:
            log.warning("could not list the landed uploads; next sweep retries")
            return 0, 0
        settled = strays = 0
        for info in landed:
            file_id = info.key.removeprefix(LANDING_PREFIX)
            if not is_uuid(file_id):
                continue  # not a key this server hands out: not ours to judge
            row = await self.files.by_id(file_id)
            try:
                if row is None or row.status != PENDING:
                    await self.storage.delete(info.key)
                    strays += 1
                    continue
                claimed = await self.files.claim_pending(file_id, now)
                if claimed is None:
                    continue  # another sweeper has it
                try:
                    if await lifecycle.settle_pending(
                        self.files,
                        self.storage,
                        claimed,
                        max_bytes=self.max_upload_bytes,
                        safety=self.safety,
                    ):
                        settled += 1
                except ScanOwed:
                    pass  # moved to its place, scanned by a later sweep
                finally:
                    await self.files.release_claim(file_id)
            except StorageError:
                log.warning("could not settle the upload of file %s; next sweep retries", file_id)
        if strays:
            log.info("deleted %d landed upload(s) that no pending file waits for", strays)
        return settled, strays

    async def _owed_scans(self, now: datetime) -> int:
        """Scan the stored files that wait for a scanner that could not be reached.

        Skipped while the scanner does not answer a ping: a sweep then costs one ping, not a
        failed connection per waiting file.
        """
        clamd = self.safety.clamd if self.safety is not None else None
        if clamd is not None and not await clamd.ping():
            return 0
        rows = await self.files.claim_scan_owed(now, BATCH)
        settled = 0
        for row in rows:
            try:
                if await lifecycle.settle_pending(
                    self.files,
                    self.storage,
                    row,
                    max_bytes=self.max_upload_bytes,
                    safety=self.safety,
                ):
                    settled += 1
            except ScanOwed:
                log.info("file %s still waits for the scanner; next sweep retries", row.id)
            except StorageError:
                log.warning("could not scan the upload of file %s; next sweep retries", row.id)
            finally:
                await self.files.release_claim(row.id)
        return settled
