"""The embedded backend: objects as files under the data dir, written atomically.

A write goes to a temporary file in the object's own directory, is fsynced, then linked into
place and the directory fsynced: after a crash at any point the key shows either nothing or the
whole object. Temporary files left by a crashed process are removed at the next start.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.to_thread

from assured_server.s3_protocol.sigv4 import Credentials
from assured_server.storage.base import (
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectWriter,
    PreconditionFailed,
    StorageBackend,
    StorageUnavailable,
    check_key,
)
from assured_server.storage.encryption import (
    CHUNK_SIZE,
    MAGIC,
    MAX_HEADER,
    AccountKeys,
    Header,
    ObjectUnreadable,
    Opened,
    Sealer,
    is_encrypted,
    object_id,
    parse_header,
    plaintext_size,
)
from assured_server.storage.fs_files import (
    TEMP_PREFIX,
    discard,
    fsync_dir,
    link_durably,
    list_files,
    remove_stale_temps,
    unlink_durably,
    usable_dir,
    write_all,
)
from assured_server.storage.presigning import SigV4Presigning
from assured_server.threads import run_to_completion

log = logging.getLogger(__name__)
# Bigger writes mean fewer thread hops; 1 MiB keeps memory flat and the disk busy.
WRITE_BUFFER = 1 << 20
READ_CHUNK = 256 << 10


class FilesystemStorage(SigV4Presigning, StorageBackend):
    """Objects of one bucket as files under ``root``; URLs point at this server's /storage."""

    def __init__(
        self, root: Path, *, bucket: str, credentials: Credentials, public_url: str
    ) -> None:
        self.root = root.resolve()
        self.bucket = bucket
        self.credentials = credentials
        self.endpoint = f"{public_url.rstrip('/')}/storage"
        self.keys: AccountKeys | None = None
        self.chunk_size = CHUNK_SIZE

    def encrypt_with(self, keys: AccountKeys, *, chunk_size: int = CHUNK_SIZE) -> None:
        """Write every new object encrypted with the account keys ``keys`` gives (and read
        encrypted objects with them); the server wires this once it has checked the master key."""
        self.keys = keys
        self.chunk_size = chunk_size

    def path_of(self, key: str) -> Path:
        """Where the object under ``key`` lives on disk."""
        return self.root.joinpath(*check_key(key).split("/"))

    async def start(self) -> None:
        """Create the folders and remove temporary files left by processes that died."""
        await anyio.to_thread.run_sync(self._start_sync)

    def _start_sync(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_temps(self.root, only_dead_owners=True)
        if removed:
            log.info("removed %d temporary file(s) left by an earlier process", removed)

    async def open_writer(self, key: str) -> ObjectWriter:
        """A writer whose temporary file, next to the final path, appears with its first bytes.

        With encryption on, only sealed chunks reach that file: no plaintext byte touches disk.
        """
        path = self.path_of(key)
        if self.keys is None:
            return _FileWriter(path)
        account = await self.keys.for_object(key)
        return _FileWriter(path, Sealer(account, key, self.chunk_size))

    async def read(
        self, key: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> AsyncIterator[bytes]:
        """Stream a byte range of the file in 256 KiB chunks."""
        path = self.path_of(key)
        # A committed file never changes in place, so checking its ETag first is enough.
        if if_match is not None and (await self.head(key)).etag != if_match:
            raise PreconditionFailed(key)
        try:
            handle = await anyio.to_thread.run_sync(path.open, "rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageUnavailable(exc.strerror or "storage I/O error") from exc
        try:
            lead = await anyio.to_thread.run_sync(handle.read, len(MAGIC))
            if is_encrypted(lead):
                async for piece in self._read_encrypted(key, handle, start, end):
                    yield piece
                return
            await anyio.to_thread.run_sync(handle.seek, start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await anyio.to_thread.run_sync(handle.read, size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def _read_encrypted(
        self, key: str, handle: BinaryIO, start: int, end: int | None
    ) -> AsyncIterator[bytes]:
        """Decrypt only the chunks that hold bytes ``start`` to ``end``."""
        if self.keys is None:
            raise ObjectUnreadable("the object is encrypted and no encryption key is configured")
        header, file_size = await anyio.to_thread.run_sync(_read_header, handle)
        if header.object_id != object_id(key):
            raise ObjectUnreadable("the encrypted object belongs to another key")
        secret = await self.keys.for_owner(header.owner)
        if secret is None:
            raise ObjectUnreadable("the key of the object's account was destroyed")
        opened = Opened(header, secret, file_size)
        last = opened.size - 1 if end is None else min(end, opened.size - 1)
        if start > last:
            # Nothing to give, or a range past the end: only if the object truly ends there
            # (a copy cut at a chunk boundary would otherwise read as a shorter object).
            await anyio.to_thread.run_sync(opened.check_end, handle)
            return
        pieces = opened.chunks_of(handle, start, last)
        while (piece := await anyio.to_thread.run_sync(next, pieces, None)) is not None:
            yield piece

    async def is_encrypted(self, key: str) -> bool:
        """Whether the object under ``key`` is stored in the encrypted format."""
        path = self.path_of(key)

        def lead() -> bytes:
            with path.open("rb") as handle:
                return handle.read(len(MAGIC))

        try:
            return is_encrypted(await anyio.to_thread.run_sync(lead))
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    async def head(self, key: str) -> ObjectInfo:
        """Size (of the plaintext), a content-derived ETag and the modification time."""
        path = self.path_of(key)
        try:
            stat, size = await anyio.to_thread.run_sync(_stat_and_size, path)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageUnavailable(exc.strerror or "storage I/O error") from exc
        return dataclasses.replace(_info(key, stat), size=size)

    async def delete(self, key: str) -> None:
        """Unlink the file and fsync its directory so the removal is durable too."""
        path = self.path_of(key)
        with _unavailable_on_os_error():
            await anyio.to_thread.run_sync(unlink_durably, path)

    async def copy(self, src_key: str, dst_key: str, *, if_match_etag: str) -> None:
        """Link the verified file under its new key (no bytes move; the target must be free)."""
        src, dst = self.path_of(src_key), self.path_of(dst_key)
        if (await self.head(src_key)).etag != if_match_etag:
            raise PreconditionFailed(src_key)
        try:
            with _unavailable_on_os_error():
                await anyio.to_thread.run_sync(link_durably, src, dst)
        except FileExistsError as exc:
            raise ObjectExists(dst_key) from exc
        except FileNotFoundError as exc:
            raise ObjectNotFound(src_key) from exc

    async def list_objects(
        self, prefix: str, *, limit: int, start_after: str | None = None
    ) -> list[ObjectInfo]:
        """Committed files under ``prefix`` (temporary files are not objects)."""
        with _unavailable_on_os_error():
            found = await anyio.to_thread.run_sync(
                list_files, self.root, prefix, limit, start_after
            )
        return [_info(key, stat) for key, stat in found]

    async def ping(self) -> None:
        """The storage folder must exist, be writable and have free space."""
        ok = await anyio.to_thread.run_sync(usable_dir, self.root)
        if not ok:
            raise StorageUnavailable("the storage folder is missing, read-only or full")

    async def sweep_temps(self) -> int:
        """Remove temporary files older than a day (an upload that hung, a killed worker)."""
        return await anyio.to_thread.run_sync(remove_stale_temps, self.root, False)


# The writers' thread hops: waited to completion even when cancelled (run_to_completion), so
# that the temporary file and its descriptor are known to abort() whatever happens.
_IO = ThreadPoolExecutor(max_workers=32, thread_name_prefix="assured-files")


class _FileWriter(ObjectWriter):
    """A temporary file that becomes the object on commit.

    The temporary file is made by the first flush or by the commit, in the same thread hop as
    the I/O that needs it: a small upload costs one hop (create, write, fsync, link, fsync the
    folder), where opening, writing and committing separately took three.
    """

    def __init__(self, final: Path, sealer: Sealer | None = None) -> None:
        self._final = final
        self._sealer = sealer
        self._temp: Path | None = None
        self._fd: int | None = None
        self._buffer = bytearray()
        self._done = False

    def _opened(self) -> int:
        """The temporary file's descriptor, creating the file first if needed (in a thread)."""
        if self._fd is None:
            self._final.parent.mkdir(parents=True, exist_ok=True)
            temp = self._final.with_name(f"{TEMP_PREFIX}{os.getpid()}.{secrets.token_hex(8)}")
            self._fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._temp = temp
        return self._fd

    async def write(self, data: bytes) -> None:
        if self._done:
            raise ValueError("writer is closed")
        self._buffer += data
        if len(self._buffer) >= WRITE_BUFFER:
            try:
                with _unavailable_on_os_error():
                    data_out, self._buffer = self._buffer, bytearray()
                    await run_to_completion(lambda: self._write_sync(data_out), executor=_IO)
            except BaseException:
                await self.abort()
                raise

    def _write_sync(self, data: bytearray) -> None:
        # Encrypted here, in the thread hop: the event loop never spends time on AES.
        write_all(self._opened(), data if self._sealer is None else self._sealer.seal(data))

    async def commit(self, *, overwrite: bool = False) -> None:
        if self._done:
            raise ValueError("writer is closed")
        data, self._buffer = self._buffer, bytearray()
        try:
            with _unavailable_on_os_error():
                await run_to_completion(lambda: self._commit_sync(data, overwrite), executor=_IO)
        except BaseException:
            await self.abort()
            raise
        self._done = True

    def _commit_sync(self, data: bytearray, overwrite: bool) -> None:
        fd = self._opened()
        if self._sealer is not None:
            data = self._sealer.seal(data) + self._sealer.finish()
        if data:
            write_all(fd, data)
        self._fd = None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        assert self._temp is not None  # noqa: S101 - set by _opened
        if overwrite:
            os.replace(self._temp, self._final)
        else:
            # link() refuses an existing target, so a second upload can never replace the first.
            try:
                os.link(self._temp, self._final)
            except FileExistsError as exc:
                raise ObjectExists(str(self._final.name)) from exc
            finally:
                self._temp.unlink(missing_ok=True)
        self._temp = None
        fsync_dir(self._final.parent)

    async def abort(self) -> None:
        self._done = True
        self._buffer = bytearray()
        fd, temp, self._fd, self._temp = self._fd, self._temp, None, None
        if fd is None and temp is None:
            return  # nothing was written to disk yet
        # Shielded: a cancelled request must still remove its temporary file.
        with anyio.CancelScope(shield=True):
            await run_to_completion(lambda: discard(fd, temp), executor=_IO)


@contextmanager
def _unavailable_on_os_error() -> Iterator[None]:
    """A full or failing disk is the store being unavailable (503), not a bug (500)."""
    try:
        yield
    except (FileExistsError, FileNotFoundError, ObjectExists):
        raise
    except OSError as exc:
        log.error("filesystem storage error: %s", exc.strerror or type(exc).__name__)
        raise StorageUnavailable(exc.strerror or "storage I/O error") from exc


def _read_header(handle: BinaryIO) -> tuple[Header, int]:
    handle.seek(0)
    header = parse_header(handle.read(MAX_HEADER))
    return header, os.fstat(handle.fileno()).st_size


def _stat_and_size(path: Path) -> tuple[os.stat_result, int]:
    """The file's status and the object's size (of its plaintext, when encrypted)."""
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        start = handle.read(MAX_HEADER)
    if not is_encrypted(start[: len(MAGIC)]):
        return stat, stat.st_size
    return stat, plaintext_size(parse_header(start), stat.st_size)


def _info(key: str, stat: os.stat_result) -> ObjectInfo:
    # A file never changes after commit, so its inode, size and time identify its content.
    tag = hashlib.sha256(f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    return ObjectInfo(
        key=key,
        size=stat.st_size,
        etag=f'"{tag[:32]}"',
        last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
    )
