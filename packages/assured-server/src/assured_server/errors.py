"""The closed set of API error codes, the one exception routes raise, and its JSON rendering."""

from __future__ import annotations

import enum
from typing import Any


class ErrorCode(enum.StrEnum):
    """Every error code of the contract, with the HTTP status it is answered with."""

    MISSING_FIELDS = "MISSING_FIELDS"
    INVALID_REQUEST = "INVALID_REQUEST"
    INVALID_CONTENT_TYPE = "INVALID_CONTENT_TYPE"
    UNSUPPORTED_FILE_FORMAT = "UNSUPPORTED_FILE_FORMAT"
    CONTENT_MISMATCH = "CONTENT_MISMATCH"
    INVALID_FILENAME = "INVALID_FILENAME"
    INVALID_EXPIRATION = "INVALID_EXPIRATION"
    INVALID_DOCUMENT_URL = "INVALID_DOCUMENT_URL"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    FILE_NOT_READY = "FILE_NOT_READY"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    FILE_EXPIRED = "FILE_EXPIRED"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    RATE_LIMITED = "RATE_LIMITED"
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Content safety (Part 2): what the checks of uploaded bytes refuse.
    MALWARE_DETECTED = "MALWARE_DETECTED"
    ACTIVE_CONTENT = "ACTIVE_CONTENT"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    UNSCANNABLE = "UNSCANNABLE"
    SCANNER_UNAVAILABLE = "SCANNER_UNAVAILABLE"
    LINK_EXPIRED = "LINK_EXPIRED"
    LINK_USED = "LINK_USED"
    OFFSET_MISMATCH = "OFFSET_MISMATCH"
    UPLOAD_LOCKED = "UPLOAD_LOCKED"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"

    @property
    def status(self) -> int:
        """The HTTP status of this code."""
        return _STATUS[self]


_STATUS: dict[ErrorCode, int] = {
    ErrorCode.MISSING_FIELDS: 400,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INVALID_CONTENT_TYPE: 400,
    ErrorCode.UNSUPPORTED_FILE_FORMAT: 400,
    ErrorCode.CONTENT_MISMATCH: 400,
    ErrorCode.INVALID_FILENAME: 400,
    ErrorCode.INVALID_EXPIRATION: 400,
    ErrorCode.INVALID_DOCUMENT_URL: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.FILE_NOT_READY: 409,
    ErrorCode.IDEMPOTENCY_CONFLICT: 409,
    ErrorCode.FILE_EXPIRED: 410,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.HEADERS_TOO_LARGE: 431,
    ErrorCode.STORAGE_UNAVAILABLE: 503,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.MALWARE_DETECTED: 400,
    ErrorCode.ACTIVE_CONTENT: 400,
    ErrorCode.IMAGE_TOO_LARGE: 400,
    ErrorCode.UNSCANNABLE: 400,
    ErrorCode.SCANNER_UNAVAILABLE: 503,
    ErrorCode.LINK_EXPIRED: 410,
    ErrorCode.LINK_USED: 409,
    ErrorCode.OFFSET_MISMATCH: 409,
    ErrorCode.UPLOAD_LOCKED: 423,
    ErrorCode.CHECKSUM_MISMATCH: 460,
}

_DEFAULT_DETAIL: dict[ErrorCode, str] = {
    ErrorCode.UNAUTHORIZED: "Authentication credentials were not provided or are invalid.",
    ErrorCode.FORBIDDEN: "You do not have permission to perform this action.",
    ErrorCode.NOT_FOUND: "Not found.",
    ErrorCode.INTERNAL_ERROR: "Internal server error.",
    ErrorCode.STORAGE_UNAVAILABLE: "Object storage is unavailable; retry later.",
    ErrorCode.SERVICE_UNAVAILABLE: "The service is unavailable; retry later.",
    ErrorCode.RATE_LIMITED: "Too many requests; retry later.",
    ErrorCode.SCANNER_UNAVAILABLE: "The malware scanner is unavailable; retry later.",
}


class ApiError(Exception):
    """An error answered with the contract's JSON body; routes raise it, one handler renders it."""

    def __init__(
        self,
        code: ErrorCode,
        detail: str | None = None,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code
        self.detail = detail or _DEFAULT_DETAIL.get(code, code.value.replace("_", " ").capitalize())
        self.field = field
        self.headers = dict(headers or {})
        if code is ErrorCode.UNAUTHORIZED:
            self.headers.setdefault("WWW-Authenticate", "Bearer")
        if code.status in (429, 503):
            self.headers.setdefault("Retry-After", "1")
        super().__init__(f"{code.value}: {self.detail}")

    @property
    def status(self) -> int:
        """The HTTP status of this error."""
        return self.code.status

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON body of the contract."""
        body: dict[str, Any] = {"code": self.code.value, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        body["request_id"] = request_id
        return body


def missing(field: str) -> ApiError:
    """``MISSING_FIELDS`` naming ``field``."""
    return ApiError(ErrorCode.MISSING_FIELDS, f"Missing required field: {field}.", field=field)


def invalid(detail: str, field: str | None = None) -> ApiError:
    """``INVALID_REQUEST`` with a detail and optionally the field at fault."""
    return ApiError(ErrorCode.INVALID_REQUEST, detail, field=field)


def not_found(detail: str = "Not found.") -> ApiError:
    """``NOT_FOUND``: also what another account's resource looks like."""
    return ApiError(ErrorCode.NOT_FOUND, detail)
