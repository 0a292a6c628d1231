"""``client.files`` of the sync client."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assured import _base_client_sync
from assured._base_client import RequestOptions
from assured._constants import DEFAULT_PROCESSING_TIMEOUT
from assured._download import DownloadDestination
from assured._pagination import SyncPaginator
from assured._streams import FileContent, ProgressCallback, open_source
from assured.exceptions import (
    APIConnectionError,
    AssuredAPIError,
    ConflictError,
    FileProcessingTimeoutError,
)
from assured.models.files import DownloadURL, File, FilePage, FileUpload, PresignedURL, UploadTicket
from assured.resources.files import _requests as req
from assured.resources.files._transfer import download_sync

if TYPE_CHECKING:
    from assured._client import Assured


class Files:
    """File uploads, downloads and metadata (sync)."""

    def __init__(self, client: Assured) -> None:
        self._client = client

    def upload(
        self,
        file_content: FileContent,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        expiration: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> FileUpload:
        """Upload a PDF, PNG or JPEG (bytes, binary file or path), streamed; get its s3:// URI."""
        options = req.v1_upload(
            file_content,
            filename=filename,
            mime_type=mime_type,
            expiration=expiration,
            progress=progress,
        )
        return self._client.request(options, FileUpload)

    def presign(self, file_url: str, expires_in: int = 300) -> PresignedURL:
        """A temporary download URL for an ``s3://`` URI, with its expiry time."""
        return self._client.request(req.presign(file_url, expires_in), PresignedURL)

    def presign_url(self, file_url: str, expires_in: int = 300) -> str:
        """A temporary download URL for an ``s3://`` URI (generate it when needed; don't cache)."""
        return self.presign(file_url, expires_in).url

    def create_upload(
        self,
        file_name: str,
        content_type: str,
        *,
        description: str | None = None,
        business_process: str | None = None,
        business_process_action: str | None = None,
        expiration: str | None = None,
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
        return self._client.request(options, UploadTicket)

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
        timeout: float = DEFAULT_PROCESSING_TIMEOUT,
    ) -> File:
        """Create, upload (streamed) and complete a v3 file; wait until it is available.

        Raises :class:`FileRejectedError` when verification rejects the bytes and
        :class:`FileProcessingTimeoutError` when it is still pending after ``timeout`` seconds.
        """
        source = open_source(file_content)
        name = req.name_of(source, file_name)
        ctype = req.content_type_for(name, content_type)
        ticket = self.create_upload(
            name,
            ctype,
            description=description,
            business_process=business_process,
            business_process_action=business_process_action,
            expiration=expiration,
        )
        upload = req.storage_upload(
            ticket, source, filename=name, content_type=ctype, progress=progress
        )
        try:
            self._client.request_raw(upload)
        except (APIConnectionError, AssuredAPIError):
            # The storage may have taken the bytes before failing (a lost answer), or refused
            # them after verifying them (a content mismatch): the File's status decides.
            if not self._landed(ticket.id):
                raise
        return self.wait_until_available(ticket.id, timeout=timeout)

    def _landed(self, file_id: str) -> bool:
        try:
            return self.complete(file_id).status != "pending"
        except ConflictError:  # FILE_NOT_READY: nothing arrived
            return False

    def complete(self, file_id: str) -> File:
        """Verify an uploaded v3 file now; returns it ``available`` or ``rejected``."""
        options = req.complete(self._client.account_id(), file_id)
        return self._client.request(options, File)

    def wait_until_available(
        self, file_id: str, *, timeout: float = DEFAULT_PROCESSING_TIMEOUT
    ) -> File:
        """Complete the file and poll (with backoff, at most ``timeout`` s) until it is final."""
        schedule = req.PollSchedule(timeout)
        while True:
            try:
                file = self.complete(file_id)
                if file.status != "pending":
                    return req.settled(file)
            except ConflictError as exc:
                # 409 FILE_NOT_READY: storage has not reported the bytes yet (plain S3).
                if exc.code != "FILE_NOT_READY":
                    raise
            delay = schedule.next_delay()
            if delay is None:
                raise FileProcessingTimeoutError(file_id, schedule.waited)
            _base_client_sync._sleep(delay)

    def get(self, file_id: str) -> File:
        """A v3 file's metadata."""
        path = req.files_path(self._client.account_id(), file_id)
        return self._client.request(RequestOptions("GET", path), File)

    def list_page(
        self,
        *,
        status: str | None = None,
        business_process: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> FilePage:
        """One page of files, newest first (``limit``: page size, 1..200)."""
        options = req.list_files(
            self._client.account_id(),
            status=status,
            business_process=business_process,
            limit=limit,
            cursor=cursor,
        )
        return self._client.request(options, FilePage)

    def list(
        self,
        *,
        status: str | None = None,
        business_process: str | None = None,
        limit: int | None = None,
    ) -> SyncPaginator[File]:
        """Every file, newest first, fetching pages of ``limit`` as ``for`` goes."""

        def fetch(cursor: str | None) -> tuple[list[File], str | None]:
            page = self.list_page(
                status=status, business_process=business_process, limit=limit, cursor=cursor
            )
            return req.page_items(page)

        return SyncPaginator(fetch)

    def download_url(self, file_id: str, expires_in: int = 300) -> DownloadURL:
        """A pre-signed download URL of an available v3 file."""
        path = req.files_path(self._client.account_id(), file_id, "/download-url")
        options = RequestOptions("GET", path, params={"expiresIn": expires_in})
        return self._client.request(options, DownloadURL)

    def download(
        self,
        file_id_or_url: str,
        destination: DownloadDestination,
        *,
        progress: ProgressCallback | None = None,
    ) -> Path | None:
        """Download a file (a v3 id or an ``s3://`` URI), streamed; returns the path written.

        A path is written atomically (temporary name, renamed when complete); an existing
        directory receives the file under its own name. A file object is written to as is.
        """
        if req.is_file_url(file_id_or_url):
            url = self.presign_url(file_id_or_url)
        else:
            url = self.download_url(file_id_or_url).url
        return download_sync(self._client, url, destination, file_id_or_url, progress)

    def delete(self, file_id: str) -> None:
        """Delete a v3 file: its bytes and every download URL stop working."""
        path = req.files_path(self._client.account_id(), file_id)
        self._client.request_raw(RequestOptions("DELETE", path))
