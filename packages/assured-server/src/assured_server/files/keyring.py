"""The account keys of encryption at rest: made on first use, unwrapped, rotated, destroyed.

The storage layer asks for keys through :class:`~assured_server.storage.encryption.AccountKeys`
and knows no database; :class:`Keyring` answers it from the files and encryption-key stores.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from assured_server.clock import utcnow
from assured_server.db.models import EncryptionKey
from assured_server.storage.encryption import (
    AccountKey,
    EncryptionKeyError,
    MasterKey,
    file_id_of,
    new_secret,
)
from assured_server.stores.encryption_keys import EncryptionKeys
from assured_server.stores.files import Files

log = logging.getLogger(__name__)
CHECK_OWNER = "*"
"""The reserved owner of the check key: which master key the stored keys are wrapped with."""
# Unwrapped keys are kept this long: a key destroyed by another process stops being used
# within it (its objects are deleted right after anyway).
CACHE_SECONDS = 60.0
ROTATE_BATCH = 500


class Keyring:
    """Account keys for the encrypted storage, wrapped by ``master`` in the database."""

    def __init__(self, master: MasterKey, keys: EncryptionKeys, files: Files) -> None:
        self._master = master
        self._keys = keys
        self._files = files
        self._cache: dict[str, tuple[bytes, float]] = {}

    async def check(self) -> None:
        """Refuse a master key that did not wrap the stored keys (made at the first start)."""
        masters = await self._keys.master_ids()
        others = {m: n for m, n in masters.items() if m != self._master.key_id}
        if others:
            half = (
                " (a rotation was interrupted: run keys rotate again)"
                if masters.keys() - others
                else ""
            )
            raise EncryptionKeyError(
                "the encryption key is not the master key that wraps the stored account keys"
                f" (after a rotation, start with the new key file){half}"
            )
        if not masters:
            await self._secret(CHECK_OWNER, create=True)
        elif await self._secret(CHECK_OWNER, create=False) is None:
            raise EncryptionKeyError("the stored check key is missing")

    async def for_object(self, key: str) -> AccountKey:
        """The key of the account whose file ``key`` holds, made on the account's first write."""
        row = await self._files.by_id(file_id_of(key))
        if row is None:
            raise LookupError(f"no file row accounts for the object {key}")
        secret = await self._secret(row.account_id, create=True)
        assert secret is not None  # noqa: S101 - create=True makes one
        return AccountKey(row.account_id, secret)

    async def for_owner(self, owner: str) -> bytes | None:
        """The key of account ``owner``, or ``None`` once destroyed."""
        return await self._secret(owner, create=False)

    async def _secret(self, owner: str, *, create: bool) -> bytes | None:
        cached = self._cache.get(owner)
        if cached is not None and time.monotonic() - cached[1] < CACHE_SECONDS:
            return cached[0]
        row = await self._keys.get(owner)
        if row is None:
            if not create:
                return None
            fresh = new_secret()
            row = await self._keys.add_if_absent(
                EncryptionKey(
                    owner=owner,
                    wrapped=self._master.wrap(owner, fresh),
                    master_id=self._master.key_id,
                    created_at=utcnow(),
                )
            )
        secret = self._master.unwrap(owner, row.wrapped)
        self._cache[owner] = (secret, time.monotonic())
        return secret

    async def destroy(self, owner: str) -> bool:
        """Crypto-shred account ``owner``: its key is deleted, its objects unreadable forever."""
        self._cache.pop(owner, None)
        return await self._keys.destroy(owner)


@dataclass(frozen=True, slots=True)
class Rotated:
    """What a rotation did."""

    rewrapped: int
    already: int


async def rotate(keys: EncryptionKeys, old: MasterKey, new: MasterKey) -> Rotated:
    """Re-wrap every key wrapped by ``old`` under ``new``; no object is rewritten.

    Each key changes in its own conditional write, so an interrupted rotation leaves every key
    wrapped by one master or the other, and running it again finishes the rest.
    """
    already = (await keys.master_ids()).get(new.key_id, 0)
    done = 0
    if old.key_id == new.key_id:
        return Rotated(rewrapped=0, already=already)  # rotated already, and restarted with it
    while batch := await keys.wrapped_by(old.key_id, limit=ROTATE_BATCH):
        for row in batch:
            secret = old.unwrap(row.owner, row.wrapped)
            if await keys.rewrap(row.owner, old.key_id, new.wrap(row.owner, secret), new.key_id):
                done += 1
    return Rotated(rewrapped=done, already=already)
