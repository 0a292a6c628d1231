# generated from src/assured/resources/files/_async.py by scripts/unasync.py;
# do not edit: change the async module and run `make unasync`.
"""``client.files`` of the sync client."""

from __future__ import annotations

from pathlib import Path
from typing import Unpack

from assured import _concurrency, _limits
from assured._base_client_sync import SyncPaginator
from assured._constants import (
    CHUNK_SIZE,
    DEFAULT_PROCESSING_TIMEOUT,
    DEFAULT_RESUMABLE_THRESHOLD,
    RESUMABLE_ATTEMPTS,
    RESUMABLE_CHUNK_SIZE,
)
from assured._download import DownloadDestination
from assured._httpx import httpx
from assured._request_options import CallOptions, RequestOptions
from assured._resource import SyncAPIResource
from assured._responses import connection_error
from assured._streams import FileContent, ProgressCallback, UploadSource, open_source
from assured.exceptions import (
    APIConnectionError,
    AssuredAPIError,
    ConflictError,
    FileProcessingTimeoutError,
)
from assured.models.files import DownloadURL, File, FilePage, FileUpload, PresignedURL, UploadTicket
from assured.resources.files import _requests as req
from assured.resources.files import _transfer


class Files(SyncAPIResource):
    """File uploads, downloads and metadata (sync).

    Every method also takes the per-call keywords ``timeout``, ``extra_headers`` and
    ``extra_query`` (see ``CallOptions``).
    """

    def upload(
        self,
        file_content: FileContent,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        expiration: str | None = None,
        progress: ProgressCallback | None = None,
        resumable_threshold: int | None = DEFAULT_RESUMABLE_THRESHOLD,
        **call: Unpack[CallOptions],
    ) -> FileUpload:
        """Upload a PDF, PNG or JPEG (bytes, binary file or path), streamed; get its s3:// URI.

        A file over the server's upload limit raises :class:`FileTooLargeError` before a byte
        is sent (when its size is known: bytes, a path, a seekable file). A file larger than
        ``resumable_threshold`` bytes (32 MiB; ``None``: never) whose size is known and that can
        be read again goes up with the resumable protocol (tus) in 8 MiB chunks: a broken
        connection costs one chunk, resumed (with backoff) from the offset the server holds.
        """
        options = req.v1_upload(
            file_content,
            filename=filename,
            mime_type=mime_type,
            expiration=expiration,
            progress=progress,
        )
        form = options.form
        if form is not None:
            self._check_size(form.file_size, form.filename)
            size = form.file_size
            if (
                resumable_threshold is not None
                and size is not None
                and size > resumable_threshold
                and form.rewindable
            ):
                return self._upload_resumable(
                    form.source,
                    size,
                    file_name=form.filename,
                    content_type=mime_type or req.content_type_for(form.filename, None),
                    expiration=expiration,
                    progress=progress,
                    call=call,
                )
        return self._client.request(options, FileUpload, **call)

    def _upload_resumable(
        self,
        source: UploadSource,
        size: int,
        *,
        file_name: str,
        content_type: str,
        expiration: str | None,
        progress: ProgressCallback | None,
        call: CallOptions,
    ) -> FileUpload:
        create = req.tus_create(
            self._client.account_id(),
            file_name=file_name,
            content_type=content_type,
            size=size,
            expiration=expiration,
        )
        location = (self._client.request_raw(create, **call)).headers["location"]
        offset, failures = 0, 0
        if progress is not None:
            progress(0, size)
        while offset < size:
            chunk = source.read_at_sync(offset, min(RESUMABLE_CHUNK_SIZE, size - offset))
            try:
                answer = self._client.request_raw(req.tus_patch(location, offset, chunk), **call)
            except (APIConnectionError, AssuredAPIError) as exc:
                failures += 1
                if not req.resumable_failure(exc) or failures >= RESUMABLE_ATTEMPTS:
                    raise
                _concurrency.sleep(req.retry_delay(failures))
                head = self._client.request_raw(req.tus_offset(location), **call)
                offset = int(head.headers["upload-offset"])
                continue
            failures = 0
            offset = int(answer.headers["upload-offset"])
            if progress is not None:
                progress(offset, size)
        return req.uploaded(self.get(location.rstrip("/").rsplit("/", 1)[1], **call))

    def _check_size(self, size: int | None, name: str) -> None:
        if size is not None:
            _limits.check_size(size, self._client.max_upload_size(), name)

    def presign(
        self, file_url: str, expires_in: int = 300, **call: Unpack[CallOptions]
    ) -> PresignedURL:
        """A temporary download URL for an ``s3://`` URI, with its expiry time."""
        options = req.presign(file_url, expires_in)
        return self._client.request(options, PresignedURL, **call)

    def presign_url(self, file_url: str, expires_in: int = 300, **call: Unpack[CallOptions]) -> str:
        """A temporary download URL for an ``s3://`` URI (generate it when needed; don't cache)."""
        return (self.presign(file_url, expires_in, **call)).url

    def create_upload(
        self,
        file_name: str,
        content_type: str,
        *,
        description: str | None = None,
        business_process: str | None = None,
        business_process_action: str | None = None,
        expiration: str | None = None,
        **call: Unpack[CallOptions],
    ) -> UploadTicket:
        """Create a v3 file and get the pre-signed form to upload its bytes with."""
        options = req.create_upload(
            self._client.account_id(),
            file_name=file_name,
            content_type=content_type,
            description=description,
            business_process=business_process,
            business_process_action=business_process_action,
            expiration=expiration,
        )
        return self._client.request(options, UploadTicket, **call)

    def upload_file(
        self,
        file_content: FileContent,
        *,
        file_name: str | None = None,
        content_type: str | None = None,
        description: str | None = None,
        business_process: str | None = None,
        business_process_action: str | None = None,
        expiration: str | None = None,
        progress: ProgressCallback | None = None,
        max_wait_seconds: float = DEFAULT_PROCESSING_TIMEOUT,
        **call: Unpack[CallOptions],
    ) -> File:
        """Create, upload (streamed) and complete a v3 file; wait until it is available.

        Raises :class:`FileTooLargeError` before creating anything when the file's size is
        known and over the server's limit, :class:`FileRejectedError` when verification rejects
        the bytes and :class:`FileProcessingTimeoutError` when it is still pending after
        ``max_wait_seconds``.
        """
        source = open_source(file_content)
        name = req.name_of(source, file_name, "file_name")
        ctype = req.content_type_for(name, content_type)
        self._check_size(source.size, name)
        ticket = self.create_upload(
            name,
            ctype,
            description=description,
            business_process=business_process,
            business_process_action=business_process_action,
            expiration=expiration,
            **call,
        )
        upload = req.storage_upload(
            ticket, source, filename=name, content_type=ctype, progress=progress
        )
        try:
            self._client.request_raw(upload, **call)
        except (APIConnectionError, AssuredAPIError):
            # The storage may have taken the bytes before failing (a lost answer), or refused
            # them after verifying them (a content mismatch): the File's status decides.
            if not self._landed(ticket.id, call):
                raise
        return self.wait_until_available(ticket.id, max_wait_seconds=max_wait_seconds, **call)

    def _landed(self, file_id: str, call: CallOptions) -> bool:
        try:
            return (self.complete(file_id, **call)).status != "pending"
        except ConflictError:  # FILE_NOT_READY: nothing arrived
            return False

    def complete(self, file_id: str, **call: Unpack[CallOptions]) -> File:
        """Verify an uploaded v3 file now; returns it ``available`` or ``rejected``."""
        options = req.complete(self._client.account_id(), file_id)
        return self._client.request(options, File, **call)

    def wait_until_available(
        self,
        file_id: str,
        *,
        max_wait_seconds: float = DEFAULT_PROCESSING_TIMEOUT,
        **call: Unpack[CallOptions],
    ) -> File:
        """Complete the file and poll (with backoff, at most ``max_wait_seconds``) until final."""
        schedule = req.PollSchedule(max_wait_seconds)
        while True:
            try:
                file = self.complete(file_id, **call)
                if file.status != "pending":
                    return req.settled(file)
            except ConflictError as exc:
                # 409 FILE_NOT_READY: storage has not reported the bytes yet (plain S3).
                if exc.code != "FILE_NOT_READY":
                    raise
            delay = schedule.next_delay()
            if delay is None:
                raise FileProcessingTimeoutError(file_id, schedule.waited)
            _concurrency.sleep(delay)

    def get(self, file_id: str, **call: Unpack[CallOptions]) -> File:
        """A v3 file's metadata."""
        path = req.files_path(self._client.account_id(), file_id)
        return self._client.request(RequestOptions("GET", path), File, **call)

    def list_page(
        self,
        *,
        status: str | None = None,
        business_process: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        upload_link_id: str | None = None,
        **call: Unpack[CallOptions],
    ) -> FilePage:
        """One page of files, newest first (``limit``: page size, 1..200; ``upload_link_id``:
        only the files of that upload link)."""
        options = req.list_files(
            self._client.account_id(),
            status=status,
            business_process=business_process,
            limit=limit,
            cursor=cursor,
            upload_link_id=upload_link_id,
        )
        return self._client.request(options, FilePage, **call)

    def list(
        self,
        *,
        status: str | None = None,
        business_process: str | None = None,
        limit: int | None = None,
        upload_link_id: str | None = None,
        **call: Unpack[CallOptions],
    ) -> SyncPaginator[File]:
        """Every file, newest first, fetching pages of ``limit`` as ``for`` goes."""

        def fetch(cursor: str | None) -> tuple[list[File], str | None]:
            page = self.list_page(
                status=status,
                business_process=business_process,
                limit=limit,
                cursor=cursor,
                upload_link_id=upload_link_id,
                **call,
            )
            return req.page_items(page)

        return SyncPaginator(fetch)

    def download_url(
        self, file_id: str, expires_in: int = 300, **call: Unpack[CallOptions]
    ) -> DownloadURL:
        """A pre-signed download URL of an available v3 file."""
        path = req.files_path(self._client.account_id(), file_id, "/download-url")
        options = RequestOptions("GET", path, params={"expiresIn": expires_in})
        return self._client.request(options, DownloadURL, **call)

    def download(
        self,
        file_id_or_url: str,
        destination: DownloadDestination,
        *,
        progress: ProgressCallback | None = None,
        **call: Unpack[CallOptions],
    ) -> Path | None:
        """Download a file (a v3 id or an ``s3://`` URI), streamed; returns the path written.

        A path is written atomically (temporary name, renamed when complete). A directory — an
        existing one, or a path ending in ``/`` (made if missing) — receives the file under its
        own name. A file object is written to as is.
        """
        if req.is_file_url(file_id_or_url):
            url = self.presign_url(file_id_or_url, **call)
        else:
            url = (self.download_url(file_id_or_url, **call)).url
        with self._client.stream(_transfer.presigned_get(url), **call) as response:
            total = _transfer.total_size(response)
            sink = _transfer.open_sink(response, destination, file_id_or_url)
            done = 0
            try:
                if progress is not None:
                    progress(0, total)
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    sink.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
                sink.commit()
            except httpx.RequestError as exc:
                sink.abort()
                raise connection_error(exc, response.request) from exc
            except BaseException:
                sink.abort()
                raise
        return sink.path

    def delete(self, file_id: str, **call: Unpack[CallOptions]) -> None:
        """Delete a v3 file: its bytes and every download URL stop working."""
        path = req.files_path(self._client.account_id(), file_id)
        self._client.request_raw(RequestOptions("DELETE", path), **call)
