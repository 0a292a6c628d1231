"""Encryption at rest of the embedded storage: keys, and the on-disk format of an object.

Three levels of keys. The master key (32 bytes, base64 in ``ASSURED_ENCRYPTION_KEY_FILE``)
wraps one key per account; those live in the database (wrapped) and reach this layer through
:class:`AccountKeys`, which the layers above implement (storage knows no database). Each object
gets a random data key, wrapped by its account's key and kept in the object's header.

An encrypted object on disk::

    header: MAGIC | chunk size (u32) | len + account id | len + object id | nonce | wrapped data key
    chunks: AES-256-GCM(data key, nonce = index (u64) | final (u8) | 000, aad = header)

Every chunk holds ``chunk size`` plaintext bytes (the last one 0 to ``chunk size``) plus its
16-byte tag and is authenticated on its own, so a ``Range`` decrypts only the chunks it needs.
The index in the nonce refuses reordered and dropped chunks; the final flag refuses an object
cut at a chunk boundary; the header as associated data (and the data key, unique per object)
refuses chunks moved from another object; the object id in the header, checked against the
key read, refuses two objects' files swapped. The data key's wrapping authenticates the header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from assured_server.storage.base import StorageError

MAGIC = b"\x00ASDENC\x01"
CHUNK_SIZE = 1 << 20
"""Plaintext bytes per chunk: the contract's maximum, and the writers' buffer size."""
MAX_CHUNK_SIZE = 1 << 20
TAG = 16
KEY_BYTES = 32
NONCE_BYTES = 12
_WRAPPED = KEY_BYTES + TAG
# Sanity bound on a header: ids are UUIDs; nothing longer is ours.
MAX_HEADER = 4 + len(MAGIC) + 2 * 256 + NONCE_BYTES + _WRAPPED


class ObjectUnreadable(StorageError):
    """An encrypted object that cannot be decrypted: changed, cut, moved, or its key destroyed.

    Never answered with bytes: the read fails.
    """


class EncryptionKeyError(ValueError):
    """The master key file cannot be used; the message says why (never the key)."""


@dataclass(frozen=True, slots=True)
class AccountKey:
    """An account's key in the clear, as the storage layer needs it to wrap data keys."""

    owner: str
    secret: bytes


class AccountKeys(Protocol):
    """What the encrypted storage asks of the layers above it (they hold the database)."""

    async def for_object(self, key: str) -> AccountKey:
        """The key of the account that owns the object about to be written under ``key``."""
        ...

    async def for_owner(self, owner: str) -> bytes | None:
        """The key of account ``owner``, or ``None`` when it was destroyed (crypto-shredded)."""
        ...


class MasterKey:
    """The key that wraps the account keys; only its id is ever shown."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise EncryptionKeyError("a master key is 32 bytes")
        self._aead = AESGCM(secret)
        # Which master key wrapped a stored account key (a rotation resumes by it); a hash
        # with its own label, so it reveals nothing of the key.
        self.key_id = hashlib.sha256(b"assured master key id\x00" + secret).hexdigest()[:32]

    @classmethod
    def load(cls, path: Path) -> MasterKey:
        """Read the key file, refusing one that is missing, readable by others or malformed."""
        try:
            info = path.stat()
            raw = path.read_bytes()
        except FileNotFoundError:
            raise EncryptionKeyError(f"the encryption key file {path} does not exist") from None
        except OSError as exc:
            raise EncryptionKeyError(
                f"the encryption key file {path} cannot be read: {exc.strerror}"
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise EncryptionKeyError(f"the encryption key file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise EncryptionKeyError(
                f"the encryption key file {path} is readable by others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}); make it 0600 or 0400"
            )
        try:
            secret = base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) != KEY_BYTES:
            raise EncryptionKeyError(
                f"the encryption key file {path} must hold 32 bytes in base64"
                " (make one with: head -c 32 /dev/urandom | base64)"
            )
        return cls(secret)

    def wrap(self, owner: str, secret: bytes) -> bytes:
        """``secret`` (an account key) encrypted for the database, bound to ``owner``."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret, _owner_aad(owner))

    def unwrap(self, owner: str, wrapped: bytes) -> bytes:
        """The account key back; :class:`EncryptionKeyError` if this master did not wrap it."""
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _owner_aad(owner)
            )
        except InvalidTag:
            raise EncryptionKeyError(
                "the encryption key is not the master key the stored account keys were wrapped"
                " with (after a rotation, start with the new key file)"
            ) from None


def _owner_aad(owner: str) -> bytes:
    return b"assured account key\x00" + owner.encode()


def new_secret() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


SEGMENT_FOLDER = "tus"
"""Where the pieces of a resumable upload are kept: ``tus/<file id>/<start offset>``."""


def object_id(key: str) -> str:
    """The identity an object's chunks are bound to: the id its key ends with.

    ``uploads/<id>`` and ``files/<id>`` name one file (a verified landing object is linked to
    its permanent key), so the folder is not part of it. A resumable upload's piece
    ``tus/<id>/<start>`` is ``<id>@<start>``: bound to its file and to its place in it.
    """
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == SEGMENT_FOLDER:
        return f"{parts[1]}@{parts[2]}"
    return parts[-1]


def file_id_of(key: str) -> str:
    """The id of the file whose bytes (or a piece of them) the object ``key`` holds."""
    return object_id(key).split("@", 1)[0]


def _nonce(index: int, final: bool) -> bytes:
    return struct.pack(">QB3x", index, 1 if final else 0)


@dataclass(frozen=True, slots=True)
class Header:
    """An encrypted object's header, parsed."""

    raw: bytes
    chunk_size: int
    owner: str
    object_id: str
    wrap_nonce: bytes
    wrapped_key: bytes

    @property
    def prefix(self) -> bytes:
        """What the data key's wrapping authenticates: everything before its nonce."""
        return self.raw[: -(NONCE_BYTES + _WRAPPED)]


def is_encrypted(start: bytes) -> bool:
    """Whether an object starting with ``start`` is in the encrypted format.

    Tolerant on purpose: a damaged magic must not turn an encrypted object into a "plain" one
    served as it is (wrong bytes). Plain documents never come close: no supported type starts
    with a NUL and these letters.
    """
    if len(start) < len(MAGIC):
        return len(start) > 0 and MAGIC.startswith(start)
    same = sum(a == b for a, b in zip(start[: len(MAGIC)], MAGIC, strict=True))
    return same >= len(MAGIC) - 3


def parse_header(data: bytes) -> Header:
    """The header at the start of ``data``; :class:`ObjectUnreadable` if malformed."""
    try:
        if data[: len(MAGIC)] != MAGIC:
            raise ValueError("magic")
        at = len(MAGIC)
        (chunk_size,) = struct.unpack_from(">I", data, at)
        at += 4
        fields = []
        for _ in range(2):
            length = data[at]
            fields.append(data[at + 1 : at + 1 + length].decode())
            at += 1 + length
        end = at + NONCE_BYTES + _WRAPPED
        if end > len(data) or not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError("short")
    except (ValueError, IndexError, struct.error, UnicodeDecodeError):
        raise ObjectUnreadable("the object's encryption header is damaged") from None
    return Header(
        data[:end],
        chunk_size,
        fields[0],
        fields[1],
        data[at : at + NONCE_BYTES],
        data[at + 12 : end],
    )


def plaintext_size(header: Header, file_size: int) -> int:
    """The object's size in the clear, from its size on disk; raises if no chunk layout fits."""
    body = file_size - len(header.raw)
    stride = header.chunk_size + TAG
    chunks = -(-body // stride)
    if body < TAG or body - (chunks - 1) * stride < TAG:
        raise ObjectUnreadable("the encrypted object is cut short")
    return body - chunks * TAG


class Sealer:
    """Turns an object's plaintext into its encrypted form, chunk by chunk.

    Holds back up to one chunk: only :meth:`finish` knows which chunk is the last one.
    """

    def __init__(self, account: AccountKey, key: str, chunk_size: int = CHUNK_SIZE) -> None:
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError("chunk size out of range")
        data_key = new_secret()
        owner, ident = account.owner.encode(), object_id(key).encode()
        prefix = (
            MAGIC
            + struct.pack(">I", chunk_size)
            + bytes([len(owner)])
            + owner
            + bytes([len(ident)])
            + ident
        )
        nonce = os.urandom(NONCE_BYTES)
        wrapped = AESGCM(account.secret).encrypt(nonce, data_key, prefix)
        self.header = prefix + nonce + wrapped
        self._aead = AESGCM(data_key)
        self._size = chunk_size
        self._pending = bytearray()
        self._index = 0
        self._started = False

    def _start(self, out: bytearray) -> None:
        if not self._started:
            self._started = True
            out += self.header

    def seal(self, data: bytes | bytearray) -> bytearray:
        """Ciphertext of every chunk that ``data`` completes, except a possible last one."""
        out = bytearray()
        self._start(out)
        self._pending += data
        size = self._size
        taken = 0
        # Strictly more than a chunk left: the chunk being sealed is certainly not the last.
        while len(self._pending) - taken > size:
            chunk = bytes(self._pending[taken : taken + size])
            out += self._aead.encrypt(_nonce(self._index, False), chunk, self.header)
            self._index += 1
            taken += size
        del self._pending[:taken]
        return out

    def finish(self) -> bytearray:
        """The last chunk (maybe empty), marked final."""
        out = bytearray()
        self._start(out)
        out += self._aead.encrypt(_nonce(self._index, True), bytes(self._pending), self.header)
        self._pending = bytearray()
        return out


class Opened:
    """An encrypted object opened for reading: header checked, data key unwrapped."""

    def __init__(self, header: Header, account_secret: bytes, file_size: int) -> None:
        try:
            data_key = AESGCM(account_secret).decrypt(
                header.wrap_nonce, header.wrapped_key, header.prefix
            )
        except InvalidTag:
            raise ObjectUnreadable("the object's data key does not decrypt") from None
        self.header = header
        self.size = plaintext_size(header, file_size)
        body = file_size - len(header.raw)
        self._chunks = -(-body // (header.chunk_size + TAG))
        self._aead = AESGCM(data_key)

    def check_end(self, handle: BinaryIO) -> None:
        """Authenticate the final chunk: the object really ends where its size says."""
        for _ in self._decrypted(handle, self._chunks - 1, self._chunks - 1):
            pass

    def _decrypted(self, handle: BinaryIO, first: int, last: int) -> Iterator[bytes]:
        stride = self.header.chunk_size + TAG
        for index in range(first, last + 1):
            handle.seek(len(self.header.raw) + index * stride)
            sealed = handle.read(stride)
            try:
                yield self._aead.decrypt(
                    _nonce(index, index == self._chunks - 1), sealed, self.header.raw
                )
            except InvalidTag:
                raise ObjectUnreadable("a chunk of the encrypted object does not decrypt") from None

    def chunks_of(self, handle: BinaryIO, start: int, end: int) -> Iterator[bytes]:
        """Plaintext bytes ``start`` to ``end`` (inclusive), decrypting only their chunks.

        Each chunk is authenticated before any of its bytes is given out.
        """
        size = self.header.chunk_size
        first, last = start // size, end // size
        if last >= self._chunks:
            raise ObjectUnreadable("the encrypted object is cut short")
        for index, plain in enumerate(self._decrypted(handle, first, last), start=first):
            low = start - index * size if index == first else 0
            high = end - index * size + 1 if index == last else len(plain)
            yield plain[low:high]
