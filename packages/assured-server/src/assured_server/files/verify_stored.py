"""Verify an object already in storage, the way an upload is verified while it streams.

Used where the store accepted bytes without the server seeing them (a direct upload to plain
S3) or where the server may have died before recording them. Nothing the store says about the
object is trusted but its ETag, and every read is pinned to that ETag, so the digest and verdict
are about exactly one version of the object: the one a conditional copy then moves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from assured_server.errors import ErrorCode
from assured_server.files.ingest import Ingested
from assured_server.files.sniff import SNIFF_BYTES, ContentMismatch, StreamVerifier
from assured_server.safety.inspection import Inspection, SafetyPolicy
from assured_server.storage.base import ObjectInfo, PreconditionFailed, StorageBackend


class _TooLarge(Exception):
    pass


async def verify_stored(
    storage: StorageBackend,
    info: ObjectInfo,
    content_type: str,
    max_bytes: int,
    safety: SafetyPolicy | None = None,
) -> Ingested | ErrorCode | None:
    """The verified size and digest, the reason to reject the object, or None if it is empty.

    With ``safety``, the same read feeds the content checks, and the returned ``outcome`` says
    what they concluded (acting on it is the caller's job). Raises :class:`PreconditionFailed`
    when the object changed while it was read.
    """
    if info.size == 0:
        return None
    # The store may have enforced the policy's size range; the server checks again anyway.
    if info.size > max_bytes:
        return ErrorCode.FILE_TOO_LARGE
    verifier = StreamVerifier(content_type)
    inspection = Inspection(safety, content_type) if safety is not None else None
    try:
        # The magic bytes first, with one small ranged GET: a mismatch costs no more than that.
        head_end = min(info.size, SNIFF_BYTES) - 1
        if inspection is not None:
            await inspection.start()
        head = storage.read(info.key, 0, head_end, if_match=info.etag)
        await _feed(head, verifier, max_bytes, inspection)
        if info.size > SNIFF_BYTES:
            rest = storage.read(info.key, SNIFF_BYTES, None, if_match=info.etag)
            await _feed(rest, verifier, max_bytes, inspection)
        digest = verifier.finish()
        outcome = await inspection.finish() if inspection is not None else None
    except ContentMismatch:
        return ErrorCode.CONTENT_MISMATCH
    except _TooLarge:
        return ErrorCode.FILE_TOO_LARGE
    finally:
        if inspection is not None:
            await inspection.aclose()
    if verifier.size != info.size:
        # Fewer or more bytes than the HEAD said: not the version the ETag named.
        raise PreconditionFailed(info.key)
    return Ingested(key=info.key, size=verifier.size, sha256=digest, outcome=outcome)


async def _feed(
    chunks: AsyncIterator[bytes],
    verifier: StreamVerifier,
    max_bytes: int,
    inspection: Inspection | None,
) -> None:
    try:
        async for chunk in chunks:
            if verifier.size + len(chunk) > max_bytes:
                raise _TooLarge
            verifier.feed(chunk)
            if inspection is not None:
                await inspection.feed(chunk)
    finally:
        # Stopping early must release the store's response now, not whenever GC runs.
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
