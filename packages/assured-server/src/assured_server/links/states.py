"""A link's state and how it is shown to its account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assured_server.clock import rfc3339
from assured_server.db.models import UploadLink
from assured_server.files.content_types import CONTENT_TYPES

ACTIVE = "active"
USED = "used"
EXPIRED = "expired"
REVOKED = "revoked"
STATUSES = (ACTIVE, USED, EXPIRED, REVOKED)

DEFAULT_EXPIRATION = "7d"
MAX_EXPIRATION_SECONDS = 30 * 86_400
MAX_FILES = 100
MAX_LABEL = 200
# A link created without ``contentTypes`` takes every type of the table.
ALL_CONTENT_TYPES = tuple(CONTENT_TYPES)


def status_of(link: UploadLink, now: datetime) -> str:
    """``revoked`` wins (an act of the account), then ``used`` (all its files came: the most
    useful thing to tell), then ``expired``, else ``active``."""
    if link.revoked_at is not None:
        return REVOKED
    if link.files_uploaded >= link.max_files:
        return USED
    if link.expires_at <= now:
        return EXPIRED
    return ACTIVE


def content_types_of(link: UploadLink) -> list[str]:
    """The canonical types the link accepts, in the order they were given."""
    return link.content_types.split()


def link_view(link: UploadLink, now: datetime, *, url: str | None = None) -> dict[str, Any]:
    """The link as the API shows it; ``url`` only in the answer that creates it."""
    view: dict[str, Any] = {"id": link.id}
    if url is not None:
        view["url"] = url
    view.update(
        {
            "label": link.label,
            "contentTypes": content_types_of(link),
            "maxFiles": link.max_files,
            "filesUploaded": link.files_uploaded,
            "status": status_of(link, now),
            "expiresAt": rfc3339(link.expires_at),
            "createdAt": rfc3339(link.created_at),
        }
    )
    return view
