"""Download URLs: never past the file's own expiry, always served as an attachment."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from assured_server.db.models import StoredFile
from assured_server.errors import ApiError, ErrorCode
from assured_server.files.content_types import CONTENT_TYPES
from assured_server.files.records import AVAILABLE, EXPIRED, effective_status, storage_key
from assured_server.storage.base import StorageBackend

MAX_DOWNLOAD_URL_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class DownloadUrl:
    """A signed URL and the moment it stops working."""

    url: str
    expires_at: datetime


def content_disposition(file_name: str) -> str:
    """``attachment; filename*=UTF-8''<percent-encoded name>`` (RFC 6266 / 5987)."""
    return f"attachment; filename*=UTF-8''{quote(file_name, safe='')}"


def response_params(row: StoredFile) -> dict[str, str]:
    """The ``response-*`` overrides that make every store serve the same headers."""
    row_type = CONTENT_TYPES.get(row.content_type)
    served = row_type.served_as if row_type else "application/octet-stream"
    return {
        "response-cache-control": "private",
        "response-content-disposition": content_disposition(row.file_name),
        "response-content-type": served,
    }


def download_url(
    storage: StorageBackend, row: StoredFile, *, expires_in: int, now: datetime
) -> DownloadUrl:
    """Sign a GET for an available file, shortened to end at the file's ``expiresAt``."""
    status = effective_status(row, now)
    if status == EXPIRED:
        raise ApiError(ErrorCode.FILE_EXPIRED, "The file has expired.")
    if status != AVAILABLE:
        raise ApiError(ErrorCode.FILE_NOT_READY, f"The file is not available (status: {status}).")
    signed_at = now.replace(microsecond=0)  # SigV4 dates have whole seconds
    seconds = expires_in
    if row.expires_at is not None:
        seconds = min(seconds, math.floor((row.expires_at - signed_at).total_seconds()))
    if seconds < 1:
        raise ApiError(ErrorCode.FILE_EXPIRED, "The file has expired.")
    url = storage.presign_get(
        storage_key(row.id), expires_in=seconds, response_params=response_params(row), now=signed_at
    )
    return DownloadUrl(url, signed_at + timedelta(seconds=seconds))
