"""The one upload pipeline of both APIs: verify while streaming, keep only verified bytes."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass

from assured_server.files.screening import Refused, ScanOwed, check
from assured_server.files.sniff import StreamVerifier
from assured_server.safety.inspection import Inspection, Outcome, ScanRecord
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
    # What the content checks concluded (None when none ran); with ``scan_owed`` set the
    # bytes are stored but the file must stay pending until a scan.
    outcome: Outcome | None = None


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
    inspection: Inspection | None = None,
    keep_unscanned: bool = False,
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

    ``inspection`` (started by the caller) sees every chunk as it passes, so the content checks
    cost no second read; its refusal (:class:`~assured_server.files.screening.Refused`, raised
    as soon as it is certain) discards the bytes. An unreachable scanner raises
    :class:`~assured_server.files.screening.ScanOwed` without keeping anything, unless
    ``keep_unscanned``: then the bytes are committed and the returned ``outcome`` says the scan
    is owed (the file must stay pending).
    """
    verifier = StreamVerifier(content_type)
    held: list[bytes] = []
    writer: ObjectWriter | None = None
    outcome: Outcome | None = None
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            if heartbeat is not None:
                await heartbeat()
            if verifier.size + len(chunk) > max_bytes:
                raise TooLarge(max_bytes)
            verifier.feed(chunk)
            if inspection is not None:
                await inspection.feed(chunk)
                _refuse_early(inspection, keep_unscanned)
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
        if inspection is not None:
            outcome = await inspection.finish()
            if not (keep_unscanned and outcome.scan_owed):
                check(outcome)
        if writer is None:
            writer = await _open_with(storage, key, held)
        if before_commit is not None:
            await before_commit()
        await writer.commit()
    except BaseException:
        if writer is not None:
            await writer.abort()
        if inspection is not None:
            await inspection.aclose()
        raise
    return Ingested(key=key, size=verifier.size, sha256=sha256, outcome=outcome)


def _refuse_early(inspection: Inspection, keep_unscanned: bool) -> None:
    """Stop reading a file already certain to be refused (an image header over the pixel
    limit) or, when nothing unscanned may be kept, one the scanner will not see."""
    early = inspection.early_rejection
    if early is not None:
        # The scan of a file refused before its end never finished: it was skipped.
        detail = "The image's header declares more pixels than the server accepts."
        raise Refused(Outcome(scan=ScanRecord("skipped"), rejection=early, detail=detail))
    if not keep_unscanned and inspection.scanner_unavailable:
        raise ScanOwed()


async def _open_with(storage: StorageBackend, key: str, held: list[bytes]) -> ObjectWriter:
    writer = await storage.open_writer(key)
    try:
        for chunk in held:
            await writer.write(chunk)
    except BaseException:
        await writer.abort()
        raise
    return writer
