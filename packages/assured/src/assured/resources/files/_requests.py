"""The requests and decisions of ``client.files``, shared by its async and sync classes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import quote

from assured._constants import (
    CONTENT_TYPES_BY_EXTENSION,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_DELAY,
    POLL_INITIAL_DELAY,
    POLL_MAX_DELAY,
    V1_EXTENSIONS,
)
from assured._multipart import MultipartForm
from assured._request_options import RequestOptions, new_idempotency_key
from assured._streams import FileContent, ProgressCallback, UploadSource, open_source
from assured.exceptions import (
    APIConnectionError,
    AssuredAPIError,
    FileRejectedError,
    MissingArgumentError,
    UnsupportedFileFormatError,
)
from assured.models.files import File, FilePage, FileUpload, UploadTicket

UPLOAD_PATH = "/api/v1/files/handle/"
PRESIGN_PATH = "/api/v1/files/presign/"


def extension_of(filename: str) -> str:
    """The last extension, lower case, with its dot; ``''`` when there is none (as the API)."""
    dot = filename.rfind(".")
    if dot <= 0 or dot == len(filename) - 1:
        return ""
    return filename[dot:].lower()


def check_v1_format(filename: str) -> None:
    """Refuse, before any request, what the Assured (v1) upload would refuse: not PDF/PNG/JPEG."""
    extension = extension_of(filename)
    if extension not in V1_EXTENSIONS:
        raise UnsupportedFileFormatError(extension)


def guess_content_type(filename: str) -> str | None:
    """The contract's content type for the name's extension, if it has one."""
    return CONTENT_TYPES_BY_EXTENSION.get(extension_of(filename))


def name_of(source: UploadSource, filename: str | None, argument: str) -> str:
    """The upload's file name: as given (as ``argument``), else the file's own."""
    name = filename or source.filename
    if not name:
        raise MissingArgumentError("A file name is needed to upload bytes or a stream", argument)
    return name


def v1_upload(
    content: FileContent,
    *,
    filename: str | None,
    mime_type: str | None,
    expiration: str | None,
    progress: ProgressCallback | None,
) -> RequestOptions:
    """``POST /api/v1/files/handle/``: the format is checked before the file is even opened."""
    if filename is not None:
        check_v1_format(filename)
    source = open_source(content)
    name = name_of(source, filename, "filename")
    check_v1_format(name)
    fields: list[tuple[str, str]] = []
    # Text parts go first, so the server knows them before the file streams past.
    if mime_type is not None:
        fields.append(("mime_type", mime_type))
    if expiration is not None:
        fields.append(("expiration", expiration))
    form = MultipartForm(
        fields,
        file_field="file",
        source=source,
        filename=name,
        content_type=mime_type or guess_content_type(name) or "application/octet-stream",
        progress=progress,
    )
    return RequestOptions("POST", UPLOAD_PATH, form=form, idempotency_key=new_idempotency_key())


def presign(file_url: str, expires_in: int) -> RequestOptions:
    """``POST /api/v1/files/presign/``; repeating it only mints another URL, so it is retried."""
    body = {"file_url": file_url, "expires_in": expires_in}
    return RequestOptions("POST", PRESIGN_PATH, json=body, retry_safe=True)


def files_path(account_id: str, file_id: str | None = None, suffix: str = "") -> str:
    """``/v3/accounts/{accountId}/files[/{id}[/suffix]]``, ids escaped."""
    path = f"/v3/accounts/{quote(account_id, safe='')}/files"
    if file_id is not None:
        path += f"/{quote(file_id, safe='')}"
    return path + suffix


def create_upload(account_id: str, **metadata: str | None) -> RequestOptions:
    """``POST /v3/accounts/{accountId}/files``, with the given metadata in camelCase."""
    names = {
        "file_name": "fileName",
        "content_type": "contentType",
        "description": "description",
        "business_process": "businessProcess",
        "business_process_action": "businessProcessAction",
        "expiration": "expiration",
    }
    body = {names[key]: value for key, value in metadata.items() if value is not None}
    return RequestOptions(
        "POST", files_path(account_id), json=body, idempotency_key=new_idempotency_key()
    )


def storage_upload(
    ticket: UploadTicket,
    source: UploadSource,
    *,
    filename: str,
    content_type: str,
    progress: ProgressCallback | None,
) -> RequestOptions:
    """The form POST to ``uploadUrl``: every field of the ticket in order, then ``file``.

    It carries no bearer token (the policy is the credential) and is never retried: a
    second POST of the same form is refused by the storage once the first has landed.
    """
    form = MultipartForm(
        list(ticket.fields.items()),
        file_field="file",
        source=source,
        filename=filename,
        content_type=content_type,
        progress=progress,
    )
    return RequestOptions("POST", ticket.upload_url, form=form, authenticated=False)


def complete(account_id: str, file_id: str) -> RequestOptions:
    """``POST …/files/{id}/complete``: idempotent by contract, so it is retried."""
    return RequestOptions("POST", files_path(account_id, file_id, "/complete"), retry_safe=True)


def list_files(
    account_id: str,
    *,
    status: str | None,
    business_process: str | None,
    limit: int | None,
    cursor: str | None,
    upload_link_id: str | None = None,
) -> RequestOptions:
    """``GET /v3/accounts/{accountId}/files`` with its filters."""
    params: dict[str, str | int] = {}
    for key, value in (
        ("status", status),
        ("businessProcess", business_process),
        ("uploadLinkId", upload_link_id),
        ("limit", limit),
        ("cursor", cursor),
    ):
        if value is not None:
            params[key] = value
    return RequestOptions("GET", files_path(account_id), params=params)


def page_items(page: FilePage) -> tuple[list[File], str | None]:
    """A page as the paginator wants it."""
    return page.items, page.next_cursor


def is_file_url(value: str) -> bool:
    """Whether ``download`` was given an ``s3://`` URI (v1) rather than a file id (v3)."""
    return value.startswith("s3://")


@dataclass
class PollSchedule:
    """Bounded polling with backoff: 0.25 s doubling to 4 s, never past the deadline."""

    timeout: float
    delay: float = POLL_INITIAL_DELAY
    started: float = field(default_factory=time.monotonic)

    def next_delay(self) -> float | None:
        """Seconds to wait before the next poll, or ``None`` when the time is up."""
        left = self.started + self.timeout - time.monotonic()
        if left <= 0:
            return None
        delay = min(self.delay, left)
        self.delay = min(self.delay * 2, POLL_MAX_DELAY)
        return delay

    @property
    def waited(self) -> float:
        """Seconds since polling began."""
        return time.monotonic() - self.started


def content_type_for(file_name: str, content_type: str | None) -> str:
    """The v3 content type: as given, else from the extension, else a clear local error."""
    if content_type:
        return content_type
    guessed = guess_content_type(file_name)
    if guessed is None:
        raise MissingArgumentError(
            f"Cannot tell the content type of {file_name!r} from its extension", "content_type"
        )
    return guessed


def settled(file: File) -> File:
    """A final file as the caller gets it: an error when it was rejected."""
    if file.status == "rejected":
        raise FileRejectedError(file)
    return file


# --- resumable uploads (tus 1.0.0) ------------------------------------------------------------

TUS = {"Tus-Resumable": "1.0.0"}


def tus_create(
    account_id: str, *, file_name: str, content_type: str, size: int, expiration: str | None
) -> RequestOptions:
    """``POST /v3/accounts/{accountId}/tus``: a new resumable upload (the File, pending)."""
    import base64

    metadata = {"filename": file_name, "contentType": content_type}
    if expiration is not None:
        metadata["expiration"] = expiration
    encoded = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode('ascii')}"
        for key, value in metadata.items()
    )
    headers = {**TUS, "Upload-Length": str(size), "Upload-Metadata": encoded}
    return RequestOptions("POST", f"/v3/accounts/{quote(account_id, safe='')}/tus", headers=headers)


def tus_offset(location: str) -> RequestOptions:
    """``HEAD`` of an upload: the offset the server holds (safe, so retried)."""
    return RequestOptions("HEAD", location, headers=dict(TUS))


def tus_patch(location: str, offset: int, chunk: bytes) -> RequestOptions:
    """One chunk at ``offset``; never resent as it is: a failure asks ``HEAD`` first."""
    headers = {
        **TUS,
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
    }
    return RequestOptions("PATCH", location, headers=headers, content=chunk)


def resumable_failure(exc: Exception) -> bool:
    """Whether a failed chunk is worth resuming: the connection broke, the server failed, or
    the upload was busy or elsewhere (locked, another offset, a checksum the wire broke)."""
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, AssuredAPIError):
        return (
            exc.status_code >= 500
            or exc.status_code in (423, 460)
            or exc.code == ("OFFSET_MISMATCH")
        )
    return False


def retry_delay(failures: int) -> float:
    """Backoff before resuming after ``failures`` failed chunks in a row."""
    return float(min(INITIAL_RETRY_DELAY * 2 ** (failures - 1), MAX_RETRY_DELAY))


def uploaded(file: File) -> FileUpload:
    """The v1 answer's shape for a file that went up resumably (a v3 File, final by now);
    :class:`FileRejectedError` if verification rejected it."""
    file = settled(file)
    return FileUpload(
        id=file.id,
        file_url=file.storage_url or "",
        filename=file.file_name,
        mime_type=file.content_type,
        size=file.size or 0,
        sha256=file.sha256 or "",
        created_at=file.created_at,
    )
