"""File models: the v1 upload result and the v3 Files API objects."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from assured.models._base import CamelResponseModel, ResponseModel

__all__ = [
    "DownloadURL",
    "File",
    "FilePage",
    "FileStatus",
    "FileUpload",
    "PresignedURL",
    "Scan",
    "ScanStatus",
    "UploadTicket",
]

FileStatus = Literal["pending", "available", "rejected", "expired"]
"""The life of a v3 file: ``pending`` → ``available`` | ``rejected``; later ``expired``."""


ScanStatus = Literal["skipped", "pending", "clean", "infected"]
"""A malware scan: ``skipped`` (no scanner), ``pending`` (owed), ``clean`` or ``infected``."""


class Scan(CamelResponseModel):
    """What the server's malware scan concluded about a file (v1 and v3 alike)."""

    status: ScanStatus
    """``clean`` or ``infected`` once a scan ran; ``pending`` while one is owed (the file stays
    ``pending`` until the scanner answers); ``skipped`` when the server scans nothing."""
    engine: str | None = None
    """The scanner that ran (``clamav``); ``None`` unless a scan ran."""
    signature: str | None = None
    """What was found in an infected file."""
    scanned_at: datetime | None = None
    """When the scan ran; ``None`` unless it did."""


class FileUpload(ResponseModel):
    """The answer of the v1 upload (``POST /api/v1/files/handle/``)."""

    id: str
    """The file's id (the same id the v3 Files API knows it by)."""
    file_url: str
    """The internal ``s3://bucket/files/<id>`` URI to associate with a provider."""
    filename: str
    """The file name, normalised to NFC."""
    mime_type: str
    """The stored content type."""
    size: int
    """The size in bytes."""
    sha256: str
    """The SHA-256 of the bytes, in hex."""
    created_at: datetime
    """When the upload was received."""
    expires_at: datetime | None = None
    """When the file expires; ``None``: never (v1 files only expire when asked to)."""
    content_flags: list[str] = Field(default_factory=list)
    """What the server's content checks noticed (``pdf_javascript``, ``pdf_encrypted``, …)."""
    scan: Scan | None = None
    """The malware scan (``None`` from a server without content checks)."""


class PresignedURL(ResponseModel):
    """A short-lived download link for an ``s3://`` URI (``POST /api/v1/files/presign/``)."""

    url: str
    """The pre-signed HTTPS URL; anyone holding it can download until it expires."""
    expires_at: datetime
    """When the URL stops working."""


class File(CamelResponseModel):
    """A file of the v3 Files API (camelCase on the wire, snake_case here)."""

    id: str
    """The file's id."""
    account_id: str
    """The owning account."""
    file_name: str
    """The file name, normalised to NFC."""
    content_type: str
    """The declared content type, in lower case."""
    size: int | None = None
    """The size in bytes; ``None`` until uploaded."""
    sha256: str | None = None
    """The SHA-256 in hex; ``None`` until verified."""
    status: FileStatus
    """``pending``, ``available``, ``rejected`` or ``expired``."""
    rejection_reason: str | None = None
    """Why verification rejected the file (an error code such as ``CONTENT_MISMATCH``)."""
    description: str | None = None
    """The free-text description given at creation."""
    business_process: str | None = None
    """The business process given at creation."""
    business_process_action: str | None = None
    """The business process action given at creation."""
    storage_url: str | None = None
    """Where the file lives once available: ``s3://bucket/files/<id>``."""
    created_at: datetime
    """When the file was created."""
    uploaded_at: datetime | None = None
    """When its bytes arrived."""
    expires_at: datetime | None = None
    """When it expires."""
    content_flags: list[str] = Field(default_factory=list)
    """What the server's content checks noticed (``pdf_javascript``, ``pdf_encrypted``, …)."""
    scan: Scan | None = None
    """The malware scan (``None`` from a server without content checks)."""
    upload_link_id: str | None = None
    """The upload link the file came through, or ``None``."""


class UploadTicket(CamelResponseModel):
    """The answer of ``create_upload``: where and how to POST the file's bytes."""

    id: str
    """The id of the file being created."""
    upload_url: str
    """The storage URL to POST the form to."""
    fields: dict[str, str]
    """Form fields to post, in order, before the ``file`` part (the S3 POST policy)."""
    upload_expires_at: datetime
    """When the upload policy stops being accepted."""
    max_size: int
    """The largest accepted file, in bytes."""
    file: File
    """The file, still ``pending``."""


class DownloadURL(CamelResponseModel):
    """A pre-signed download URL of a v3 file."""

    url: str
    """The pre-signed URL (GET only)."""
    expires_at: datetime
    """When the URL stops working."""


class FilePage(CamelResponseModel):
    """One page of ``GET /v3/accounts/{accountId}/files``, newest first."""

    items: list[File] = Field(default_factory=list)
    """The files of this page."""
    next_cursor: str | None = None
    """Pass as ``cursor`` to get the next page; ``None`` on the last page."""
