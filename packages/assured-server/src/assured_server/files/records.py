"""A file's states and storage keys (its rows are read and changed by ``stores.files``)."""

from __future__ import annotations

from datetime import datetime

from assured_server.db.models import StoredFile

PENDING = "pending"
AVAILABLE = "available"
REJECTED = "rejected"
EXPIRED = "expired"
STATUSES = (PENDING, AVAILABLE, REJECTED, EXPIRED)


FILES_PREFIX = "files/"
"""Where files' bytes live (``files/<id>``) once verified."""


def storage_key(file_id: str) -> str:
    """The permanent key of a file's bytes."""
    return f"{FILES_PREFIX}{file_id}"


LANDING_PREFIX = "uploads/"
"""Where direct uploads land (``uploads/<id>``) until verification moves them to ``files/<id>``."""


def landing_key(file_id: str) -> str:
    """The key a direct upload posts to (a landing place until verification)."""
    return f"{LANDING_PREFIX}{file_id}"


def effective_status(row: StoredFile, now: datetime) -> str:
    """The status as a client sees it: past ``expiresAt`` a file is expired, swept or not."""
    if row.status in (AVAILABLE, PENDING) and row.expires_at is not None and row.expires_at <= now:
        return EXPIRED
    return row.status
