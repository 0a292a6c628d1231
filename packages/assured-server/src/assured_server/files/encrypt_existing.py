"""``keys encrypt-existing``: rewrite the files stored before encryption was turned on.

Resumable: an object already encrypted is skipped, so an interrupted run is simply run again.
Each object is read through the storage (plain), written back encrypted to a temporary file,
checked against the SHA-256 its row recorded, and only then put in place of the plain one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from assured_server.files.records import FILES_PREFIX
from assured_server.storage.base import ObjectNotFound, PreconditionFailed
from assured_server.storage.encryption import file_id_of
from assured_server.storage.filesystem import FilesystemStorage
from assured_server.stores.files import Files

log = logging.getLogger(__name__)
BATCH = 200


@dataclass
class Converted:
    """What a run did."""

    encrypted: int = 0
    already: int = 0
    skipped: int = 0


async def encrypt_existing(storage: FilesystemStorage, files: Files) -> Converted:
    """Encrypt every plain object under ``files/`` that a file row accounts for."""
    if storage.keys is None:
        raise ValueError("encryption is not configured: set ASSURED_ENCRYPTION_KEY_FILE")
    done = Converted()
    after: str | None = None
    while page := await storage.list_objects(FILES_PREFIX, limit=BATCH, start_after=after):
        for info in page:
            after = info.key
            try:
                if await storage.is_encrypted(info.key):
                    done.already += 1
                    continue
            except ObjectNotFound:
                continue  # deleted meanwhile
            row = await files.by_id(file_id_of(info.key))
            if row is None:
                done.skipped += 1  # no row accounts for it: the sweep removes such orphans
                continue
            if await _rewrite(storage, info.key, info.etag, row.sha256):
                done.encrypted += 1
            else:
                done.skipped += 1
    return done


async def _rewrite(
    storage: FilesystemStorage, key: str, etag: str, expected_sha256: str | None
) -> bool:
    digest = hashlib.sha256()
    writer = await storage.open_writer(key)
    try:
        async for chunk in storage.read(key, if_match=etag):
            digest.update(chunk)
            await writer.write(chunk)
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
            log.warning("object %s does not match its recorded SHA-256: left as it is", key)
            await writer.abort()
            return False
        await writer.commit(overwrite=True)
    except (ObjectNotFound, PreconditionFailed):
        await writer.abort()
        return False
    except BaseException:
        await writer.abort()
        raise
    return True
