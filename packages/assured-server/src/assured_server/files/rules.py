"""Validation of what a client declares about a file, shared by both APIs."""

from __future__ import annotations

from assured_server.errors import ApiError, ErrorCode
from assured_server.expiration import InvalidExpiration, parse_expiration
from assured_server.files.content_types import (
    ContentType,
    InvalidContentType,
    check_extension_matches,
    parse_content_type,
)
from assured_server.files.filenames import InvalidFilename, normalize_filename


def checked_filename(name: str, field: str) -> str:
    """The NFC name, or 400 ``INVALID_FILENAME``."""
    try:
        return normalize_filename(name)
    except InvalidFilename as exc:
        raise ApiError(ErrorCode.INVALID_FILENAME, str(exc), field=field) from exc


def checked_content_type(value: str, file_name: str, field: str) -> ContentType:
    """The table row for ``value`` that matches the name's extension, else 400."""
    try:
        row = parse_content_type(value)
        check_extension_matches(file_name, row)
    except InvalidContentType as exc:
        raise ApiError(ErrorCode.INVALID_CONTENT_TYPE, str(exc), field=field) from exc
    return row


def checked_expiration(value: str, maximum_seconds: int, field: str) -> int:
    """Seconds of life for ``value``, or 400 ``INVALID_EXPIRATION``."""
    try:
        return parse_expiration(value, maximum_seconds=maximum_seconds)
    except InvalidExpiration as exc:
        raise ApiError(ErrorCode.INVALID_EXPIRATION, str(exc), field=field) from exc
