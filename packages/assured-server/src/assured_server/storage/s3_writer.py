"""Streaming writes to S3: one PUT for small objects, a multipart upload for large ones.

The body is held one part at a time (``part_size``, 8 MiB by default), so memory does not grow
with the object. Nothing is visible under the key until :meth:`S3Writer.commit` completes the
upload; any failure aborts the multipart upload so no parts are left behind in the store.
"""

from __future__ import annotations

import io
import logging
from typing import IO, TYPE_CHECKING, cast

import anyio
from botocore.exceptions import ClientError

from assured_server.storage.base import ObjectExists, ObjectWriter, PreconditionFailed
from assured_server.storage.s3_errors import mapped_errors

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import (
        CompletedPartTypeDef,
        CompleteMultipartUploadRequestTypeDef,
    )

    from assured_server.storage.s3 import S3Storage

log = logging.getLogger("assured_server.storage.s3")
# An abort that hangs must not hold a cancelled request forever.
ABORT_TIMEOUT = 30.0


class S3Writer(ObjectWriter):
    """One object being uploaded to S3 under ``key``."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self._storage = storage
        self._key = key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._closed = False

    async def write(self, data: bytes) -> None:
        """Buffer ``data``; upload a part whenever a full one is buffered."""
        if self._closed:
            raise ValueError("writer is closed")
        self._buffer += data
        if len(self._buffer) >= self._storage.part_size:
            try:
                await self._send_part()
            except BaseException:
                await self.abort()
                raise

    async def _send_part(self) -> None:
        client = await self._storage.client()
        bucket, key = self._storage.bucket, self._key
        with mapped_errors("upload", key):
            if self._upload_id is None:
                created = await client.create_multipart_upload(Bucket=bucket, Key=key)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            # The buffer itself is the body (no copy); a fresh one collects the next part.
            body, self._buffer = part_body(self._buffer), bytearray()
            sent = await client.upload_part(
                Bucket=bucket, Key=key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})

    async def commit(self, *, overwrite: bool = False) -> None:
        """Complete the upload; without ``overwrite`` an existing object is never replaced."""
        if self._closed:
            raise ValueError("writer is closed")
        try:
            if not overwrite and (
                self._upload_id is not None or await self._storage.put_checks_first()
            ):
                # For stores that ignore If-None-Match; where it is honoured it closes the race.
                await self._storage.refuse_existing(self._key)
            if self._upload_id is None:
                await self._put_whole(overwrite)
            else:
                if self._buffer:
                    await self._send_part()
                await self._complete(overwrite)
        except PreconditionFailed as exc:
            await self.abort()
            raise ObjectExists(self._key) from exc
        except BaseException:
            await self.abort()
            raise
        self._closed = True
        self._upload_id = None
        self._buffer = bytearray()

    async def _put_whole(self, overwrite: bool) -> None:
        client = await self._storage.client()
        body = part_body(self._buffer)
        conditional = not overwrite and self._storage.conditional_writes
        with mapped_errors("put", self._key):
            try:
                if conditional:
                    await client.put_object(
                        Bucket=self._storage.bucket, Key=self._key, Body=body, IfNoneMatch="*"
                    )
                    return
            except ClientError as exc:
                if not self._storage.conditional_unsupported(exc):
                    raise
            body.seek(0)
            await client.put_object(Bucket=self._storage.bucket, Key=self._key, Body=body)

    async def _complete(self, overwrite: bool) -> None:
        client = await self._storage.client()
        assert self._upload_id is not None  # noqa: S101 - only called with an upload open
        args: CompleteMultipartUploadRequestTypeDef = {
            "Bucket": self._storage.bucket,
            "Key": self._key,
            "UploadId": self._upload_id,
            "MultipartUpload": {"Parts": self._parts},
        }
        conditional = not overwrite and self._storage.conditional_writes
        with mapped_errors("complete", self._key):
            try:
                if conditional:
                    guarded: CompleteMultipartUploadRequestTypeDef = {**args, "IfNoneMatch": "*"}
                    await client.complete_multipart_upload(**guarded)
                    return
            except ClientError as exc:
                if not self._storage.conditional_unsupported(exc):
                    raise
            await client.complete_multipart_upload(**args)

    async def abort(self) -> None:
        """Drop the buffer and abort the multipart upload; safe to repeat, never raises."""
        upload, self._upload_id = self._upload_id, None
        self._buffer = bytearray()
        self._closed = True
        if upload is None:
            return
        # Shielded: a cancelled request (the client went away) must still remove its parts.
        with anyio.move_on_after(ABORT_TIMEOUT, shield=True):
            try:
                client = await self._storage.client()
                await client.abort_multipart_upload(
                    Bucket=self._storage.bucket, Key=self._key, UploadId=upload
                )
                return
            except Exception as exc:  # the sweep aborts what is left; the caller's error wins
                log.warning(
                    "could not abort the multipart upload of %s: %s", self._key, type(exc).__name__
                )


def part_body(data: bytearray) -> IO[bytes]:
    """``data`` as a file for botocore's ``Body`` (typed as the IO it accepts)."""
    return cast("IO[bytes]", PartBody(data))


class PartBody(io.RawIOBase):
    """A seekable read-only file over a buffer, so a part is sent without being copied.

    A file rather than the bytes: aiohttp warns about (and copies) large raw bodies, while a
    file is streamed in small reads; botocore seeks back to resend it on a retry.
    """

    def __init__(self, data: bytearray) -> None:
        super().__init__()
        self._view = memoryview(data)
        self._pos = 0

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Always seekable."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Copy the next bytes into ``buffer``."""
        count = max(0, min(len(buffer), len(self._view) - self._pos))
        buffer[:count] = self._view[self._pos : self._pos + count]
        self._pos += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position as ``io`` files do."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        """The current position."""
        return self._pos
