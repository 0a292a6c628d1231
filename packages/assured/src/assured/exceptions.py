"""The errors the SDK raises.

``AssuredError`` is the base of all of them. An answer from the API with an error status is an
``AssuredAPIError`` — precisely, the subclass for its status (``NotFoundError`` for 404, …).
Failing to reach the API at all is an ``APIConnectionError`` (``APITimeoutError`` for a timeout).
Input the SDK refuses before sending anything is an ``AssuredValidationError``, which is also a
``ValueError``, as the public docs promise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assured._units import human_size

if TYPE_CHECKING:
    import httpx

    from assured.models.files import File

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AssuredAPIError",
    "AssuredError",
    "AssuredValidationError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FileProcessingTimeoutError",
    "FileRejectedError",
    "FileTooLargeError",
    "GoneError",
    "InternalServerError",
    "MissingArgumentError",
    "MissingCredentialsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnsupportedFileFormatError",
    "error_class_for_status",
]


class AssuredError(Exception):
    """Base class of every error the SDK raises."""


class MissingCredentialsError(AssuredError):
    """Neither an API key nor an access token was given, as argument or environment variable."""


class AssuredValidationError(AssuredError, ValueError):
    """Input refused locally, before any request was sent."""


class MissingArgumentError(AssuredValidationError):
    """This call cannot go on without an argument it was not given (``argument`` names it)."""

    def __init__(self, problem: str, argument: str) -> None:
        self.problem = problem
        """What is missing, in words."""
        self.argument = argument
        """The keyword argument that would supply it (``content_type``, …)."""
        super().__init__(f"{problem}: pass {argument}=.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problem, self.argument))


class FileTooLargeError(AssuredValidationError):
    """The file is over the server's upload limit: refused before a byte was sent.

    Raised only when both the file's size and the server's limit are known beforehand; a stream
    of unknown size is sent, and the server refuses it (``PayloadTooLargeError``).
    """

    code = "FILE_TOO_LARGE"
    """The contract's code for the same refusal."""

    def __init__(self, size: int, max_size: int, filename: str | None = None) -> None:
        self.size = size
        """The file's size in bytes."""
        self.max_size = max_size
        """The largest upload the server accepts, in bytes."""
        self.filename = filename
        """The file's name, when known."""
        subject = f"{filename} is" if filename else "The file is"
        super().__init__(
            f"{subject} {human_size(size)} ({size:,} bytes): over the server's upload limit of "
            f"{human_size(max_size)} ({max_size:,} bytes). Nothing was sent."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.size, self.max_size, self.filename))


class UnsupportedFileFormatError(AssuredValidationError):
    """The file is not PDF, PNG or JPEG, which is all the Assured (v1) upload accepts."""

    def __init__(self, extension: str) -> None:
        self.extension = extension
        shown = f"'{extension}'" if extension else "(no extension)"
        super().__init__(
            f"Unsupported file format: {shown}. Assured only accepts PDF, PNG, and JPEG files."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its constructor's argument, not its message (pickling, task queues).
        return (type(self), (self.extension,))


class APIConnectionError(AssuredError):
    """The API could not be reached, or the connection broke before an answer arrived."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool timeout)."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class AssuredAPIError(AssuredError):
    """The API answered with an error status; its body's ``code`` and ``detail`` are kept."""

    def __init__(
        self,
        status_code: int,
        code: str | None,
        detail: str,
        request_id: str | None = None,
        field: str | None = None,
        response: httpx.Response | None = None,
        body: Any = None,
    ) -> None:
        self.status_code = status_code
        """The HTTP status of the answer."""
        self.code = code
        """The contract's error code (``NOT_FOUND``, …; S3's code for storage errors)."""
        self.detail = detail
        """The human-readable message of the API."""
        self.request_id = request_id
        """The ``X-Request-ID`` of the request, to quote when reporting a problem."""
        self.field = field
        """The request field at fault, when the API names one."""
        self.response = response
        """The raw ``httpx.Response``."""
        self.body = body
        """The decoded body (a dict for JSON errors, else the text)."""
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: status, code, detail and request id."""
        code = f" {self.code}" if self.code else ""
        request_id = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status_code}{code}: {self.detail}{request_id}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (multiprocessing, task queues) without the live response object.
        return (
            type(self),
            (self.status_code, self.code, self.detail, self.request_id, self.field, None, None),
        )


class BadRequestError(AssuredAPIError):
    """400: the request is invalid (missing field, wrong type, unsupported file, …)."""


class AuthenticationError(AssuredAPIError):
    """401: no valid credentials (wrong API key, expired or revoked token)."""


class PermissionDeniedError(AssuredAPIError):
    """403: valid credentials, but not for this account or without the needed scope."""


class NotFoundError(AssuredAPIError):
    """404: no such route, or no such resource in the caller's account."""


class ConflictError(AssuredAPIError):
    """409: the file is not ready yet, or an idempotency key was reused."""


class GoneError(AssuredAPIError):
    """410: the file has expired."""


class PayloadTooLargeError(AssuredAPIError):
    """413: the file is over the server's maximum size."""


class RateLimitError(AssuredAPIError):
    """429: too many requests; ``Retry-After`` says when to try again."""


class InternalServerError(AssuredAPIError):
    """5xx: the server or its storage failed."""


class FileRejectedError(AssuredError):
    """A v3 upload arrived but verification rejected it (``rejectionReason`` says why)."""

    def __init__(self, file: File) -> None:
        self.file = file
        self.reason = file.rejection_reason
        super().__init__(f"File {file.id} was rejected: {file.rejection_reason or 'no reason'}.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file,))


class FileProcessingTimeoutError(AssuredError, TimeoutError):
    """A v3 file was still ``pending`` when the wait for it ran out."""

    def __init__(self, file_id: str, waited: float) -> None:
        self.file_id = file_id
        self.waited = waited
        super().__init__(f"File {file_id} was still pending after {waited:.1f} s.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.file_id, self.waited))


_BY_STATUS: dict[int, type[AssuredAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}


def error_class_for_status(status_code: int) -> type[AssuredAPIError]:
    """The error class for an HTTP status: the one mapping from statuses to classes."""
    if status_code >= 500:
        return InternalServerError
    return _BY_STATUS.get(status_code, AssuredAPIError)
