"""The one upload pipeline of both APIs: verify while streaming, keep only verified bytes."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass

from assured_server.files.sniff import StreamVerifier
from assured_server.storage.base import ObjectWriter, StorageBackend


class TooLarge(Exception):
    """More bytes arrived than allowed; raised as soon as the limit is passed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the maximum of {limit} bytes.")
        self.limit = limit


class TooSmall(Exception):
    """Fewer bytes arrived than required (an empty file)."""

    def __init__(self, minimum: int) -> None:
        super().__init__(f"The file is smaller than the minimum of {minimum} byte(s).")
        self.minimum = minimum


@dataclass(frozen=True, slots=True)
class Ingested:
    """A verified object now durable under its key."""

    key: str
    size: int
    sha256: str


async def ingest(
    storage: StorageBackend,
    key: str,
    chunks: AsyncIterable[bytes],
    *,
    content_type: str,
    max_bytes: int,
    min_bytes: int = 1,
    before_commit: Callable[[], Awaitable[None]] | None = None,
    heartbeat: Callable[[], Awaitable[None]] | None = None,
) -> Ingested:
    """Stream ``chunks`` into ``key``, refusing oversize, undersize and mismatched content.

    Nothing is written until the first bytes prove the declared type; on any failure (including
    cancellation when the client goes away) the partial object is thrown away, so the key shows
    either nothing or the complete verified object. Raises :class:`TooLarge`, :class:`TooSmall`,
    :class:`~assured_server.files.sniff.ContentMismatch`, ``ObjectExists`` or storage errors.
    ``before_commit`` runs once the bytes are verified and before they become visible: what it
    raises (say, a form field after the file that refuses the request) discards them.
    ``heartbeat`` runs for every chunk that arrives (an upload's lease renews itself there);
    what it raises discards the bytes too.
    """
    verifier = StreamVerifier(content_type)
    held: list[bytes] = []
    writer: ObjectWriter | None = None
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            if heartbeat is not None:
                await heartbeat()
            if verifier.size + len(chunk) > max_bytes:
                raise TooLarge(max_bytes)
            verifier.feed(chunk)
            if writer is not None:
                await writer.write(chunk)
                continue
            held.append(chunk)
            if verifier.head_checked:
                writer = await _open_with(storage, key, held)
                held = []
        # Too small first: an empty body is "nothing sent", not "the wrong kind of bytes".
        if verifier.size < min_bytes:
            raise TooSmall(min_bytes)
        sha256 = verifier.finish()
        if writer is None:
            writer = await _open_with(storage, key, held)
        if before_commit is not None:
            await before_commit()
        await writer.commit()
    except BaseException:
        if writer is not None:
            await writer.abort()
        raise
    return Ingested(key=key, size=verifier.size, sha256=sha256)


async def _open_with(storage: StorageBackend, key: str, held: list[bytes]) -> ObjectWriter:
    writer = await storage.open_writer(key)
    try:
        for chunk in held:
            await writer.write(chunk)
    except BaseException:
        await writer.abort()
        raise
    return writer
