"""Resumable uploads (tus): bytes that arrive over many requests, durable at every offset
acknowledged, verified as they arrive, and verified once more as they become the file.

**Where the bytes are.** Each ``PATCH`` stores what it brings as a *segment*, an ordinary
committed object ``tus/<id>/<start offset>`` written through the storage interface, and only
then advances the offset in the database; the ``204`` follows that commit. A committed object is
durable on every backend (the filesystem fsyncs the file and its folder before the commit
returns; S3 has acknowledged the PUT or the completed multipart upload), and the database row is
shared by every worker and replica, so an offset in a ``204`` survives SIGKILL of any of them.
Segments other than the last are at least :data:`MIN_SEGMENT` (S3's 5 MiB minimum part): while
the last one is smaller, the next request rewrites it whole with the new bytes after it (at most
5 MiB read back). Rewriting it in place is safe: the new object starts with the same committed
bytes, and every read stops at the committed offset, so a crash between the storage commit and
the database commit leaves a longer object of which only the acknowledged part counts. Nothing
of a request is visible before it ended well (a cut connection, a checksum mismatch, bytes past
``Upload-Length``): its writer is aborted, and on S3 an aborted writer aborts its multipart
upload; one left open by a process that died is aborted by the storage sweep (when a day old,
or at once when its upload expires). This is the
"another design" of the issue: no multipart upload stays open between requests (so no replica
needs state another one holds), and the parts are readable objects, which the hash needs.

**Verification.** A :class:`StreamVerifier` is fed every byte as it arrives: the first bytes
decide the declared type at once (a mismatch rejects the file then), and the SHA-256 runs across
requests. Python cannot save a hash's state, so a worker that did not see the previous requests
(another worker or replica, or a restart) re-reads the acknowledged segments to rebuild it. When
the offset reaches ``Upload-Length`` the segments are streamed through the one upload pipeline
of every API (:func:`~assured_server.files.ingest.ingest`) into ``files/<id>``: the same checks
as a v3 upload, on the stored bytes, and their digest must equal the one computed on arrival.
The file is ``available`` (or ``rejected``) before the last ``PATCH`` answers.

**One writer.** A request holds the upload's writer lease (a column of its row, see
:mod:`assured_server.stores.resumable`) while it writes; a second one gets ``UPLOAD_LOCKED``.
The lease of a process that died runs out within :data:`WRITER_LEASE`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio

from assured_server.clock import utcnow
from assured_server.db.models import ResumableUpload, StoredFile
from assured_server.errors import ApiError, ErrorCode, invalid, not_found
from assured_server.files import lifecycle
from assured_server.files.ingest import Ingested, ingest
from assured_server.files.records import PENDING, effective_status, storage_key
from assured_server.files.screening import Refused, safety_columns
from assured_server.files.sniff import ContentMismatch, StreamVerifier
from assured_server.safety.inspection import Inspection, SafetyPolicy
from assured_server.storage.base import ObjectExists, StorageBackend, StorageError
from assured_server.stores import Stores

log = logging.getLogger(__name__)
SEGMENT_PREFIX = "tus/"
MIN_SEGMENT = 5 * 1024 * 1024
"""Segments before the last are at least this long: S3's minimum part size."""
WRITER_LEASE = timedelta(seconds=25)
"""A writer that died holds its upload at most this long (the contract says within 30 s)."""
RENEW_EVERY = 5.0
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
# Verifiers of uploads this process saw last, with the offset they reached (bounded: a verifier
# holds at most 1 KiB of head and a hash state).
_VERIFIERS: OrderedDict[str, tuple[int, StreamVerifier]] = OrderedDict()
_VERIFIERS_KEPT = 512


def segment_key(file_id: str, start: int) -> str:
    """The key of the segment of ``file_id`` that starts at byte ``start``."""
    return f"{SEGMENT_PREFIX}{file_id}/{start:020d}"


@dataclass(frozen=True, slots=True)
class Checksum:
    """An ``Upload-Checksum``: the algorithm and the digest the request's bytes must have."""

    algorithm: str
    digest: bytes


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an upload stands after a request."""

    offset: int
    length: int
    expires_at: datetime
    file: StoredFile | None = None


class PastLength(Exception):
    """The request brought bytes past ``Upload-Length``."""


def _starts(row: ResumableUpload) -> list[int]:
    starts = json.loads(row.segments)
    return [int(start) for start in starts]


async def create(
    stores: Stores, spec: lifecycle.NewFile, length: int, ttl_seconds: int, now: datetime
) -> tuple[StoredFile, ResumableUpload]:
    """A pending file and its upload, committed together; the upload expires after the TTL
    (never after the file)."""
    row = lifecycle.new_row(spec, now=now, upload_window=ttl_seconds)
    assert row.upload_expires_at is not None  # noqa: S101 - set by new_row with a window
    upload = ResumableUpload(
        file_id=row.id,
        upload_length=length,
        upload_offset=0,
        segments="[]",
        expires_at=row.upload_expires_at,
        writer_until=None,
    )
    async with stores.unit() as unit:
        await stores.files.add(row, unit)
        await stores.resumables.add(upload, unit)
    return row, upload


async def find(
    stores: Stores, account_id: str, file_id: str, now: datetime
) -> tuple[StoredFile, ResumableUpload]:
    """The caller's upload, or 404 (also another account's); 410 once it expired."""
    file = await stores.files.owned(account_id, file_id)
    upload = None if file is None else await stores.resumables.get(file_id)
    if file is None or upload is None:
        raise not_found()
    status = effective_status(file, now)
    if status == PENDING and upload.expires_at <= now or status == "expired":
        raise ApiError(ErrorCode.FILE_EXPIRED, "The upload has expired.")
    return file, upload


class _Writer:
    """This request's hold on the upload (see the module docstring)."""

    def __init__(self, stores: Stores, file_id: str, until: datetime) -> None:
        self.stores, self.file_id, self.until = stores, file_id, until
        self._renewed = time.monotonic()

    @classmethod
    async def take(cls, stores: Stores, file_id: str) -> _Writer:
        now = utcnow()
        if not await stores.resumables.take_writer(file_id, now, now + WRITER_LEASE):
            raise ApiError(
                ErrorCode.UPLOAD_LOCKED, "Another request is writing to this upload right now."
            )
        return cls(stores, file_id, now + WRITER_LEASE)

    async def keep(self) -> None:
        if time.monotonic() - self._renewed < RENEW_EVERY:
            return
        until = max(utcnow() + WRITER_LEASE, self.until + timedelta(microseconds=1))
        if not await self.stores.resumables.renew_writer(self.file_id, self.until, until):
            raise ApiError(ErrorCode.UPLOAD_LOCKED, "The upload was taken over by another request.")
        self.until, self._renewed = until, time.monotonic()

    async def release(self) -> None:
        with anyio.CancelScope(shield=True):
            await self.stores.resumables.release_writer(self.file_id, self.until)


async def read_acknowledged(
    storage: StorageBackend, file_id: str, starts: list[int], offset: int, upto: int | None = None
) -> AsyncIterator[bytes]:
    """The acknowledged bytes ``[0, offset)`` (or from segments up to ``upto``), in order."""
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else offset
        if upto is not None:
            end = min(end, upto)
        if end > start:
            async for chunk in storage.read(segment_key(file_id, start), 0, end - start - 1):
                yield chunk


async def _verifier(
    storage: StorageBackend, upload: ResumableUpload, content_type: str
) -> StreamVerifier:
    """The verifier of what was acknowledged: this process's own, else rebuilt by re-reading."""
    kept = _VERIFIERS.pop(upload.file_id, None)
    if kept is not None and kept[0] == upload.upload_offset:
        return kept[1]
    verifier = StreamVerifier(content_type)
    async for chunk in read_acknowledged(
        storage, upload.file_id, _starts(upload), upload.upload_offset
    ):
        verifier.feed(chunk)
    return verifier


def _remember(file_id: str, offset: int, verifier: StreamVerifier) -> None:
    _VERIFIERS[file_id] = (offset, verifier)
    while len(_VERIFIERS) > _VERIFIERS_KEPT:
        _VERIFIERS.popitem(last=False)


async def append(
    stores: Stores,
    storage: StorageBackend,
    file: StoredFile,
    offset: int,
    chunks: AsyncIterable[bytes],
    *,
    checksum: Checksum | None,
    max_bytes: int,
    safety: SafetyPolicy | None = None,
) -> Progress:
    """Write one ``PATCH``'s bytes at ``offset``; durable before it returns.

    Raises ``OFFSET_MISMATCH``, ``UPLOAD_LOCKED``, ``CHECKSUM_MISMATCH`` (nothing kept),
    :class:`PastLength` (nothing kept) and ``CONTENT_MISMATCH`` (the file rejected). When the
    last byte arrives the file is made final before this returns.
    """
    if file.status != PENDING:
        raise not_found()
    writer = await _Writer.take(stores, file.id)
    try:
        upload = await stores.resumables.get(file.id)
        if upload is None:
            raise not_found()
        if offset != upload.upload_offset:
            raise ApiError(
                ErrorCode.OFFSET_MISMATCH,
                f"Upload-Offset is {offset}, but the upload is at {upload.upload_offset}.",
            )
        try:
            verifier = await _verifier(storage, upload, file.content_type)
            return await _append_locked(
                stores,
                storage,
                file,
                upload,
                verifier,
                chunks,
                checksum,
                writer,
                max_bytes,
                safety,
            )
        except ContentMismatch as exc:
            await _reject(stores, storage, file, upload)
            raise ApiError(ErrorCode.CONTENT_MISMATCH, str(exc)) from exc
    finally:
        await writer.release()


async def _append_locked(
    stores: Stores,
    storage: StorageBackend,
    file: StoredFile,
    upload: ResumableUpload,
    verifier: StreamVerifier,
    chunks: AsyncIterable[bytes],
    checksum: Checksum | None,
    writer: _Writer,
    max_bytes: int,
    safety: SafetyPolicy | None,
) -> Progress:
    starts, offset = _starts(upload), upload.upload_offset
    hasher = CHECKSUMS[checksum.algorithm]() if checksum else None
    # The last segment is rewritten with the new bytes while it is under the minimum part size.
    rewrite = bool(starts) and offset - starts[-1] < MIN_SEGMENT
    start = starts[-1] if rewrite else offset
    new_starts = starts if rewrite else [*starts, offset]
    received = 0
    object_writer = None
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            await writer.keep()
            if offset + received + len(chunk) > upload.upload_length:
                raise PastLength
            verifier.feed(chunk)  # ContentMismatch on the first bytes already
            if hasher is not None:
                hasher.update(chunk)
            if object_writer is None:
                object_writer = await storage.open_writer(segment_key(file.id, start))
                if rewrite:
                    async for kept in read_acknowledged(storage, file.id, starts[-1:], offset):
                        await object_writer.write(kept)
            await object_writer.write(chunk)
            received += len(chunk)
        if hasher is not None and checksum is not None and hasher.digest() != checksum.digest:
            raise ApiError(
                ErrorCode.CHECKSUM_MISMATCH,
                "The request's bytes do not match its Upload-Checksum; nothing of it was kept.",
            )
        if object_writer is not None:
            await object_writer.commit(overwrite=True)
            object_writer = None
    except BaseException:
        _VERIFIERS.pop(file.id, None)  # fed bytes that were not kept: rebuild next time
        if object_writer is not None:
            with anyio.CancelScope(shield=True):
                await object_writer.abort()
        raise
    new_offset = offset + received
    if received == 0:
        _remember(file.id, offset, verifier)
        return Progress(offset, upload.upload_length, upload.expires_at)
    segments = json.dumps(new_starts)
    if new_offset < upload.upload_length:
        if not await stores.resumables.advance(
            file.id, held=writer.until, from_offset=offset, to_offset=new_offset, segments=segments
        ):
            raise ApiError(ErrorCode.UPLOAD_LOCKED, "The upload was taken over by another request.")
        _remember(file.id, new_offset, verifier)
        return Progress(new_offset, upload.upload_length, upload.expires_at)
    try:
        done = await _finish(
            storage, file, new_starts, new_offset, verifier, writer, max_bytes, safety
        )
    except Refused as refused:
        # Malware, active content refused by policy, an image bomb: nothing of it is kept.
        _VERIFIERS.pop(file.id, None)
        with anyio.CancelScope(shield=True):
            await discard_segments(storage, file.id, new_starts)
            await lifecycle.mark_refused(stores.files, file.id, refused)
            await stores.resumables.delete(file.id)
        final = await stores.files.by_id(file.id)
        return Progress(new_offset, upload.upload_length, upload.expires_at, final)
    outcome = done.outcome
    if outcome is not None and outcome.scan_owed:
        # Fail closed: the scanner could not be reached. The verified bytes are in place but
        # the file stays pending (never served) until a sweep scans them; the upload itself is
        # over, so its record goes (the tus sweep must not take the file for unfinished).
        settled = await lifecycle.mark_scan_owed(stores.files, file.id, done)
        if settled:
            await stores.resumables.delete(file.id)
            log.warning("file %s waits for the malware scanner: %s", file.id, outcome.detail)
    else:
        checked = safety_columns(outcome, utcnow()) if outcome is not None else {}
        async with stores.unit() as unit:
            settled = await lifecycle.mark_available(
                stores.files, file.id, done, unit=unit, **checked
            )
            await stores.resumables.advance(
                file.id,
                held=writer.until,
                from_offset=offset,
                to_offset=new_offset,
                segments="[]",
                unit=unit,
            )
    if not settled:  # deleted or expired while we assembled: these bytes belong to nobody
        await storage.delete(done.key)
        raise not_found()
    await discard_segments(storage, file.id, new_starts)
    final = await stores.files.by_id(file.id)
    return Progress(new_offset, upload.upload_length, upload.expires_at, final)


async def _finish(
    storage: StorageBackend,
    file: StoredFile,
    starts: list[int],
    length: int,
    verifier: StreamVerifier,
    writer: _Writer,
    max_bytes: int,
    safety: SafetyPolicy | None,
) -> Ingested:
    """Stream the acknowledged segments through the upload pipeline into ``files/<id>``.

    With ``safety`` the content checks see that read (raising :class:`Refused`); a scanner that
    cannot be reached leaves the bytes in place with the scan owed (``outcome.scan_owed``).
    The checks run here, on the assembled bytes, because a scan cannot span requests: a clamd
    stream lives on one connection of one process, and a tus upload's requests may reach any
    worker or replica, hours apart.
    """
    digest = verifier.finish()  # the whole file's verdict (a PDF header, the UTF-8 tail)
    for attempt in range(2):
        inspection = Inspection(safety, file.content_type) if safety is not None else None
        if inspection is not None:
            await inspection.start()
        try:
            done = await ingest(
                storage,
                storage_key(file.id),
                read_acknowledged(storage, file.id, starts, length),
                content_type=file.content_type,
                max_bytes=max_bytes,
                heartbeat=writer.keep,
                inspection=inspection,
                keep_unscanned=True,
            )
        except ObjectExists:
            if attempt:
                raise
            # A finish of an earlier request that died before recording it: the file is still
            # pending, so nobody serves those bytes; they are made again from the segments.
            await storage.delete(storage_key(file.id))
            continue
        if done.sha256 != digest or done.size != length:
            await storage.delete(done.key)
            log.error("the stored segments of upload %s differ from what arrived", file.id)
            raise StorageError("stored bytes differ from the bytes acknowledged")
        return done
    raise AssertionError("unreachable")  # pragma: no cover


async def _reject(
    stores: Stores, storage: StorageBackend, file: StoredFile, upload: ResumableUpload
) -> None:
    """The bytes are not the declared type: the file is rejected and nothing is kept."""
    _VERIFIERS.pop(file.id, None)
    with anyio.CancelScope(shield=True):
        # With the segment this request may have started at the offset.
        await discard_segments(storage, file.id, [*_starts(upload), upload.upload_offset])
        await lifecycle.mark_rejected(stores.files, file.id, ErrorCode.CONTENT_MISMATCH)
        await stores.resumables.delete(file.id)


async def discard_segments(storage: StorageBackend, file_id: str, starts: list[int]) -> None:
    """Delete the segments of an upload (deleting a missing one is no error)."""
    for start in sorted(set(starts)):
        await storage.delete(segment_key(file_id, start))


async def sweep(stores: Stores, storage: StorageBackend, now: datetime, limit: int) -> int:
    """Delete expired unfinished uploads (bytes, then their File) and segments of no upload.

    Returns how many uploads and stray segments went.
    """
    removed = 0
    for row in await stores.resumables.claim_expired(now, now + WRITER_LEASE, limit):
        try:
            await discard_segments(storage, row.file_id, _starts(row))
            if hasattr(storage, "abort_uploads"):
                # A writer of a segment that died mid-way leaves its S3 multipart upload open.
                await storage.abort_uploads(f"{SEGMENT_PREFIX}{row.file_id}/")
        except StorageError:
            log.warning("could not delete the bytes of upload %s; next sweep retries", row.file_id)
            if row.writer_until is not None:
                await stores.resumables.release_writer(row.file_id, row.writer_until)
            continue
        _VERIFIERS.pop(row.file_id, None)
        # The File goes with its unfinished upload (the row of the upload with it); a finished
        # one stays, only its upload record goes.
        await stores.files.forget_upload(row.file_id)
        await stores.resumables.delete(row.file_id)
        removed += 1
    # Segments whose upload is gone (a v3 DELETE of the File, a process that died mid-way).
    try:
        stored = await storage.list_objects(SEGMENT_PREFIX, limit=limit)
    except StorageError:
        return removed
    ids = sorted({info.key.split("/")[1] for info in stored})
    live = await stores.resumables.live_ids(ids)
    for info in stored:
        if info.key.split("/")[1] not in live:
            try:
                await storage.delete(info.key)
                removed += 1
            except StorageError:
                continue
    return removed


async def terminate(
    stores: Stores, storage: StorageBackend, account_id: str, file: StoredFile
) -> None:
    """``DELETE``: the upload's bytes and its File are gone."""
    writer = await _Writer.take(stores, file.id)
    try:
        upload = await stores.resumables.get(file.id)
        if upload is not None:
            _VERIFIERS.pop(file.id, None)
            await discard_segments(storage, file.id, _starts(upload))
        await lifecycle.delete_file(stores.files, storage, account_id, file.id)
    finally:
        await writer.release()


def parse_checksum(header: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; 400 for an unknown algorithm or a
    malformed value."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise invalid(f"Unsupported checksum algorithm {algorithm!r}.", "Upload-Checksum")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid("Upload-Checksum is not valid base64.", "Upload-Checksum") from exc
    if len(digest) != CHECKSUMS[algorithm]().digest_size:
        raise invalid("Upload-Checksum has the wrong length.", "Upload-Checksum")
    return Checksum(algorithm, digest)
