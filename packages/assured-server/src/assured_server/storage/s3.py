"""The S3 backend: objects in a bucket of any S3-compatible store (AWS S3, MinIO, SeaweedFS, Ceph).

Requests go through aiobotocore (docs/deploy.md, "Choosing the S3 client", says why); the URLs
handed to clients are signed by our own SigV4 module, the one the embedded storage verifies with,
and point at the store's endpoint in path style (``{endpoint}/{bucket}/{key}``). This module is
imported only when ``ASSURED_STORAGE_BACKEND=s3``: the filesystem server never loads botocore.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from assured_server.s3_protocol.sigv4 import Credentials
from assured_server.storage.base import (
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectWriter,
    PreconditionFailed,
    StorageBackend,
    StorageError,
    StorageUnavailable,
    check_key,
)
from assured_server.storage.presigning import SigV4Presigning
from assured_server.storage.s3_errors import error_code, mapped_errors
from assured_server.storage.s3_writer import S3Writer

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CopyObjectRequestTypeDef, GetObjectRequestTypeDef

log = logging.getLogger(__name__)
MIB = 1 << 20
DEFAULT_PART_SIZE = 8 * MIB
# S3 refuses parts under 5 MiB (all but the last one).
MIN_PART_SIZE = 5 * MIB
READ_CHUNK = 256 << 10
# Where the If-None-Match probe writes (and deletes) its empty object; how long it may take,
# and how long until the next after one that could not tell.
PROBE_PREFIX = "assured-probe/"
PROBE_TIMEOUT = 10.0
PROBE_RETRY = 60.0
# Multipart uploads older than this belong to writers that died; the sweep aborts them.
STALE_UPLOAD = timedelta(hours=24)


class S3Storage(SigV4Presigning, StorageBackend):
    """Objects of one bucket in an S3-compatible store, addressed in path style."""

    # MinIO's policy checker, which SeaweedFS shares, refuses a ``starts-with`` condition on
    # ``$success_action_status`` and with it every upload; so S3 policies leave the field out.
    covers_success_action_status = False

    def __init__(
        self,
        endpoint_url: str,
        *,
        bucket: str,
        credentials: Credentials,
        part_size: int = DEFAULT_PART_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 2,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes")
        self.endpoint = endpoint_url.rstrip("/")
        self.bucket = bucket
        self.credentials = credentials
        self.part_size = part_size
        self.conditional_writes = True
        """Whether the store honours ``If-None-Match: *``; switched off if it says it does not."""
        # Whether a PUT with If-None-Match is known to be refused over an existing object (a
        # store may also accept the header and ignore it): None until probed (put_checks_first).
        self._put_refuses_existing: bool | None = None
        self._probe_lock = anyio.Lock()
        self._probe_not_before = 0.0
        self._timeouts = (connect_timeout, read_timeout)
        self._max_attempts = max_attempts
        self._client: S3Client | None = None
        self._stack = AsyncExitStack()
        self._lock = anyio.Lock()
        self._lists_uploads = True

    async def client(self) -> S3Client:
        """The shared client, created on first use (nothing connects before a request)."""
        client = self._client
        if client is None:
            async with self._lock:
                client = self._client
                if client is None:
                    client = await self._stack.enter_async_context(self._new_client())
                    self._client = client
        return client

    def _new_client(self) -> AbstractAsyncContextManager[S3Client]:
        connect, read = self._timeouts
        config = AioConfig(
            s3={"addressing_style": "path"},
            # One retry rides out a blip; more would hold requests for seconds while the store
            # is down, when a quick 503 with Retry-After serves clients better.
            retries={"mode": "standard", "max_attempts": self._max_attempts},
            connect_timeout=connect,
            read_timeout=read,
            max_pool_connections=20,
            # Flexible checksums (CRC32 by default since botocore 1.36) cost CPU and are refused
            # by several S3-compatible stores; integrity is ours to check (SHA-256).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return get_session().create_client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.credentials.region,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            config=config,
        )

    async def start(self) -> None:
        """Create the client; the store itself is checked by /readyz, not at start."""
        await self.client()

    async def close(self) -> None:
        """Close the client's connection pool."""
        await self._stack.aclose()
        self._client = None

    async def open_writer(self, key: str) -> ObjectWriter:
        """A writer that streams ``key`` up part by part."""
        return S3Writer(self, check_key(key))

    async def read(
        self, key: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> AsyncIterator[bytes]:
        """Stream a byte range of the object, 256 KiB at a time."""
        check_key(key)
        client = await self.client()
        args: GetObjectRequestTypeDef = {"Bucket": self.bucket, "Key": key}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end}"
        if if_match is not None:
            args["IfMatch"] = if_match
        with mapped_errors("get", key):
            response = await client.get_object(**args)
        body = response["Body"]
        try:
            with mapped_errors("get", key):
                async for chunk in body.iter_chunks(READ_CHUNK):
                    yield chunk
        finally:
            body.close()

    async def head(self, key: str) -> ObjectInfo:
        """Size, ETag and modification time, or :class:`ObjectNotFound`."""
        client = await self.client()
        with mapped_errors("head", key):
            found = await client.head_object(Bucket=self.bucket, Key=check_key(key))
        return ObjectInfo(
            key=key,
            size=found["ContentLength"],
            etag=found["ETag"],
            last_modified=found["LastModified"].astimezone(UTC),
        )

    async def delete(self, key: str) -> None:
        """Delete the object (S3 answers a missing key with success too)."""
        client = await self.client()
        with mapped_errors("delete", key):
            await client.delete_object(Bucket=self.bucket, Key=check_key(key))

    async def refuse_existing(self, key: str) -> None:
        """Raise :class:`ObjectExists` if ``key`` holds an object now."""
        try:
            await self.head(key)
        except ObjectNotFound:
            return
        raise ObjectExists(key)

    async def put_checks_first(self) -> bool:
        """Whether a PUT that must not replace an object needs a HEAD before it.

        Not where the store was seen to refuse a second ``If-None-Match: *`` PUT of one key
        (probed once, on a key of its own under ``assured-probe/``, then deleted): the PUT
        itself closes the race there, and the HEAD was a request (~1.5 ms of botocore's CPU)
        in every small upload. Until a probe tells, and on stores that ignore the header,
        every such PUT is checked first. One probe at a time, which no other write waits for;
        after one that could not tell (the store down), none for a minute.
        """
        if not self.conditional_writes:
            return True
        if self._put_refuses_existing is not None:
            return not self._put_refuses_existing
        if self._probe_lock.locked() or time.monotonic() < self._probe_not_before:
            return True
        async with self._probe_lock:
            with anyio.move_on_after(PROBE_TIMEOUT):
                self._put_refuses_existing = await self._probe_put_if_none_match()
            if self._put_refuses_existing is None:
                self._probe_not_before = time.monotonic() + PROBE_RETRY
                return True
        return not self._put_refuses_existing

    async def _probe_put_if_none_match(self) -> bool | None:
        """True if the store refused a repeated conditional PUT; None if it could not tell."""
        client = await self.client()
        key = f"{PROBE_PREFIX}{uuid.uuid4()}"
        try:
            await client.put_object(Bucket=self.bucket, Key=key, Body=b"", IfNoneMatch="*")
        except Exception as exc:
            return self._probe_failed(exc)
        try:
            await client.put_object(Bucket=self.bucket, Key=key, Body=b"", IfNoneMatch="*")
        except ClientError as exc:
            code, status = error_code(exc)
            if code == "PreconditionFailed" or status == 412:
                return True
            return self._probe_failed(exc)
        except Exception as exc:
            return self._probe_failed(exc)
        finally:
            with anyio.move_on_after(PROBE_TIMEOUT, shield=True):
                try:
                    await client.delete_object(Bucket=self.bucket, Key=key)
                except Exception as exc:  # an empty object under assured-probe/ at worst
                    log.info("could not delete the probe object: %s", type(exc).__name__)
        log.warning("the object store ignores If-None-Match on PUT; using HEAD checks")
        return False

    def _probe_failed(self, exc: Exception) -> bool | None:
        """``False`` (keep the HEAD checks) for a definite refusal, ``None`` to ask again."""
        if isinstance(exc, ClientError):
            if self.conditional_unsupported(exc):
                return False
            code, status = error_code(exc)
            log.info("could not probe If-None-Match: %s (HTTP %s)", code, status)
            # A 4xx (no permission under the prefix, the header refused) will not change.
            return False if 400 <= status < 500 else None
        log.info("could not probe If-None-Match: %s", type(exc).__name__)
        return None

    def conditional_unsupported(self, exc: ClientError) -> bool:
        """Whether ``exc`` says the store does not implement ``If-None-Match`` on writes.

        Then writes fall back to the HEAD check alone, which leaves a race between the check and
        the write (docs/deploy.md names the stores that honour conditional writes).
        """
        code, status = error_code(exc)
        if code != "NotImplemented" and status != 501:
            return False
        if self.conditional_writes:
            log.warning("the object store does not support If-None-Match; using HEAD checks")
        self.conditional_writes = False
        return True

    async def copy(self, src_key: str, dst_key: str, *, if_match_etag: str) -> None:
        """Server-side copy of exactly the version ``if_match_etag``, never over an object."""
        check_key(src_key)
        check_key(dst_key)
        client = await self.client()
        await self.refuse_existing(dst_key)
        args: CopyObjectRequestTypeDef = {
            "Bucket": self.bucket,
            "Key": dst_key,
            "CopySource": {"Bucket": self.bucket, "Key": src_key},
            "CopySourceIfMatch": if_match_etag,
        }
        try:
            with mapped_errors("copy", src_key):
                try:
                    if self.conditional_writes:
                        guarded: CopyObjectRequestTypeDef = {**args, "IfNoneMatch": "*"}
                        await client.copy_object(**guarded)
                        return
                except ClientError as exc:
                    if not self.conditional_unsupported(exc):
                        raise
                await client.copy_object(**args)
        except PreconditionFailed:
            # One 412 for two conditions: the target being taken is the one a HEAD can tell.
            await self.refuse_existing(dst_key)
            raise

    async def list_objects(
        self, prefix: str, *, limit: int, start_after: str | None = None
    ) -> list[ObjectInfo]:
        """One page (at most ``limit``, up to 1000) of the objects under ``prefix``."""
        client = await self.client()
        with mapped_errors("list", prefix):
            if start_after is None:
                page = await client.list_objects_v2(
                    Bucket=self.bucket, Prefix=prefix, MaxKeys=min(limit, 1000)
                )
            else:
                page = await client.list_objects_v2(
                    Bucket=self.bucket,
                    Prefix=prefix,
                    MaxKeys=min(limit, 1000),
                    StartAfter=start_after,
                )
        return [
            ObjectInfo(
                key=item["Key"],
                size=item["Size"],
                etag=item["ETag"],
                last_modified=item["LastModified"].astimezone(UTC),
            )
            for item in page.get("Contents", [])
        ]

    async def ping(self) -> None:
        """HEAD the bucket: the store answers and these credentials may use the bucket."""
        client = await self.client()
        try:
            with mapped_errors("head-bucket", self.bucket):
                await client.head_bucket(Bucket=self.bucket)
        except ObjectNotFound as exc:
            log.error("the bucket %s does not exist in the object store", self.bucket)
            raise StorageUnavailable(f"no bucket {self.bucket}") from exc

    async def abort_uploads(self, prefix: str) -> int:
        """Abort the open multipart uploads of keys under ``prefix``, whatever their age (a
        resumable upload that expired: none of its writers may still commit); how many."""
        if not self._lists_uploads:
            return 0
        client = await self.client()
        with mapped_errors("list-uploads", self.bucket):
            page = await client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix)
        aborted = 0
        for upload in page.get("Uploads", []):
            with mapped_errors("abort", upload["Key"]):
                await client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
            aborted += 1
        return aborted

    async def sweep_temps(self) -> int:
        """Abort multipart uploads a day old: parts left by writers that died."""
        if not self._lists_uploads:
            return 0
        client = await self.client()
        cutoff = datetime.now(UTC) - STALE_UPLOAD
        try:
            with mapped_errors("list-uploads", self.bucket):
                try:
                    page = await client.list_multipart_uploads(Bucket=self.bucket)
                except ClientError as exc:
                    if error_code(exc)[0] == "NotImplemented":
                        # Such a store needs a lifecycle rule instead (docs/deploy.md).
                        self._lists_uploads = False
                        return 0
                    raise
        except StorageError:
            return 0
        aborted = 0
        for upload in page.get("Uploads", []):
            if upload["Initiated"].astimezone(UTC) >= cutoff:
                continue
            try:
                with mapped_errors("abort", upload["Key"]):
                    await client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                aborted += 1
            except StorageError:
                continue
        return aborted
