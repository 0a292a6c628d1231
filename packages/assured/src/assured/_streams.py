"""Upload sources: bytes, a binary file object or a path, read in chunks and never whole.

A source can be read again from its start (``rewindable``) when it is bytes, a path (reopened)
or a seekable file object (sought back to where it was). A pipe or socket cannot: a request
carrying one is sent once and never retried.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Protocol, cast

from assured._constants import CHUNK_SIZE
from assured.exceptions import AssuredError, AssuredValidationError


class BinaryReadable(Protocol):
    """Anything with a binary ``read(size)``: an open file, ``io.BytesIO``, a socket file."""

    def read(self, size: int, /) -> bytes | None:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...


FileContent = bytes | bytearray | memoryview | BinaryReadable | str | os.PathLike[str]
"""What an upload accepts: the bytes themselves, a binary file object, or a path (str is a path)."""

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, total)``; ``total`` is ``None`` when the size is unknown."""


class UploadSource:
    """Bytes to upload, readable in chunks, possibly more than once."""

    filename: str | None = None
    size: int | None = None
    rewindable: bool = True

    def chunks(self) -> Iterator[bytes]:
        """The bytes from the start, in chunks (blocking reads)."""
        raise NotImplementedError

    def achunks(self) -> AsyncIterator[bytes]:
        """The bytes from the start, in chunks (file reads happen in a worker thread)."""
        raise NotImplementedError

    def read_at_sync(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` (a resumable chunk; the source has a known size)."""
        raise NotImplementedError

    async def read_at_async(self, offset: int, size: int) -> bytes:
        """:meth:`read_at_sync` without blocking the event loop on a file."""
        return self.read_at_sync(offset, size)


class _BytesSource(UploadSource):
    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._data = memoryview(data).cast("B")
        self.size = len(self._data)

    def chunks(self) -> Iterator[bytes]:
        for start in range(0, len(self._data), CHUNK_SIZE):
            yield bytes(self._data[start : start + CHUNK_SIZE])

    async def achunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk

    def read_at_sync(self, offset: int, size: int) -> bytes:
        return bytes(self._data[offset : offset + size])


def _checked(chunk: object) -> bytes:
    if isinstance(chunk, str):
        raise AssuredValidationError("Open the file in binary mode ('rb'): read() returned text.")
    if not isinstance(chunk, bytes | bytearray | memoryview):
        raise AssuredValidationError(f"read() returned {type(chunk).__name__}, not bytes.")
    return bytes(chunk)


class _FileSource(UploadSource):
    """A binary file object; for a path, one opened anew for every attempt."""

    def __init__(self, opener: Callable[[], IO[bytes]], *, owned: bool) -> None:
        self._opener = opener
        # Owned files (opened from a path) are closed after each attempt; a caller's file object
        # stays open: it is the caller's to close.
        self._owned = owned
        self._start: int | None = None
        self._consumed = False
        probe = opener()
        try:
            name = getattr(probe, "name", None)
            if isinstance(name, str) and name:
                self.filename = os.path.basename(name)
            seekable = getattr(probe, "seekable", None)
            if callable(seekable) and seekable():
                self._start = probe.tell()
                self.size = probe.seek(0, os.SEEK_END) - self._start
                probe.seek(self._start)
            else:
                self.rewindable = owned
        finally:
            if owned:
                probe.close()

    def _begin(self) -> IO[bytes]:
        if self._consumed and not self.rewindable:
            raise AssuredError("The upload stream cannot be rewound to be sent again.")
        self._consumed = True
        f = self._opener()
        if self._start is not None:
            f.seek(self._start)
        return f

    def _end(self, f: IO[bytes]) -> None:
        if self._owned:
            f.close()

    def _account(self, sent: int, chunk: bytes) -> bytes:
        # A file that grows while it is sent would overrun the Content-Length already
        # announced; one that shrinks would leave the request hanging short. Refuse both.
        if self.size is not None and sent + len(chunk) > self.size:
            raise AssuredError("The file grew while it was being uploaded.")
        return chunk

    def _finish(self, sent: int) -> None:
        if self.size is not None and sent != self.size:
            raise AssuredError("The file shrank while it was being uploaded.")

    def chunks(self) -> Iterator[bytes]:
        f = self._begin()
        sent = 0
        try:
            while chunk := _checked(f.read(CHUNK_SIZE)):
                yield self._account(sent, chunk)
                sent += len(chunk)
            self._finish(sent)
        finally:
            self._end(f)

    async def achunks(self) -> AsyncIterator[bytes]:
        import anyio.to_thread  # on first use: see _concurrency

        f = self._begin()
        sent = 0
        try:
            while chunk := _checked(await anyio.to_thread.run_sync(f.read, CHUNK_SIZE)):
                yield self._account(sent, chunk)
                sent += len(chunk)
            self._finish(sent)
        finally:
            self._end(f)

    def read_at_sync(self, offset: int, size: int) -> bytes:
        f = self._opener()
        try:
            f.seek((self._start or 0) + offset)
            data = b""
            while len(data) < size and (chunk := _checked(f.read(size - len(data)))):
                data += chunk
        finally:
            self._end(f)
        if len(data) != size:
            raise AssuredError("The file shrank while it was being uploaded.")
        return data

    async def read_at_async(self, offset: int, size: int) -> bytes:
        import anyio.to_thread  # on first use: see _concurrency

        return await anyio.to_thread.run_sync(self.read_at_sync, offset, size)


def open_source(content: FileContent) -> UploadSource:
    """Wrap what the caller passed as an :class:`UploadSource` (paths are checked now)."""
    if isinstance(content, bytes | bytearray | memoryview):
        return _BytesSource(content)
    if isinstance(content, str | os.PathLike):
        path = Path(content)
        if not path.is_file():
            raise AssuredValidationError(f"No such file: {str(path)!r}.")
        return _FileSource(lambda: path.open("rb"), owned=True)
    if hasattr(content, "read"):
        # Seeking is probed at run time; a stream without it is simply sent once.
        stream = cast(IO[bytes], content)
        return _FileSource(lambda: stream, owned=False)
    raise AssuredValidationError(
        f"Cannot upload a {type(content).__name__}: pass bytes, a binary file object or a path."
    )
