"""Time and ids: one place, so that formats agree everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

import uuid_utils


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A UUIDv7 string: unique and sortable by creation time."""
    return str(uuid_utils.uuid7())


def rfc3339(value: datetime | None) -> str | None:
    """``2026-01-15T10:30:00Z`` (with milliseconds when there are any), or ``None``."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_uuid(value: str) -> bool:
    """Whether ``value`` is a canonical lower-case hyphenated UUID string."""
    if len(value) != 36:
        return False
    try:
        return str(uuid_utils.UUID(value)) == value
    except ValueError:
        return False
