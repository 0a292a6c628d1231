"""The Python SDK of Assured: upload provider documents and manage files.

    from assured import AssuredClient

    async with AssuredClient() as client:
        document = await client.provider_profile.upload_and_associate_document(...)

``Assured`` is the same client for synchronous code. Errors live in ``assured.exceptions``,
the wire models in ``assured.models.files`` and ``assured.models.provider_profile``.

What is imported when: importing the SDK, even ``from assured import AssuredClient``, imports
neither httpx nor pydantic, so that it starts fast. The cost is deferred, not gone: the first
client constructed imports httpx, its first request makes the connection pool (httpcore, the
TLS roots), and the first use of a resource or a model imports pydantic and the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from assured._constants import DEFAULT_BASE_URL
from assured._version import __version__
from assured.exceptions import (
    APIConnectionError,
    APITimeoutError,
    AssuredAPIError,
    AssuredError,
    AssuredValidationError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FileProcessingTimeoutError,
    FileRejectedError,
    FileTooLargeError,
    GoneError,
    InternalServerError,
    MissingArgumentError,
    MissingCredentialsError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnsupportedFileFormatError,
    error_class_for_status,
)

if TYPE_CHECKING:
    from assured._base_client_async import AsyncPaginator
    from assured._base_client_sync import SyncPaginator
    from assured._client_async import AssuredClient
    from assured._client_sync import Assured
    from assured._download import DownloadDestination
    from assured._request_options import CallOptions
    from assured._streams import BinaryReadable, FileContent, ProgressCallback
    from assured.models.files import (
        DownloadURL,
        File,
        FilePage,
        FileStatus,
        FileUpload,
        PresignedURL,
        Scan,
        ScanStatus,
        UploadTicket,
    )
    from assured.models.provider_profile import (
        ProviderDocument,
        ProviderDocumentCreate,
        ProviderDocumentPage,
        ProviderProfile,
        ProviderProfileCreate,
        ProviderProfilePage,
        ProviderProfileUpdate,
    )
    from assured.resources.files import AsyncFiles, Files
    from assured.resources.provider_profile import AsyncProviderProfiles, ProviderProfiles

# Loaded on first access: ``import assured`` stays cheap until a name is used; the clients'
# modules in turn import httpx only when a client is constructed (see ``assured._httpx``).
_LAZY: dict[str, str] = {
    "Assured": "assured._client_sync",
    "AssuredClient": "assured._client_async",
    "CallOptions": "assured._request_options",
    "DownloadDestination": "assured._download",
    "AsyncPaginator": "assured._base_client_async",
    "SyncPaginator": "assured._base_client_sync",
    "BinaryReadable": "assured._streams",
    "FileContent": "assured._streams",
    "ProgressCallback": "assured._streams",
    "AsyncFiles": "assured.resources.files",
    "Files": "assured.resources.files",
    "AsyncProviderProfiles": "assured.resources.provider_profile",
    "ProviderProfiles": "assured.resources.provider_profile",
    **{
        name: "assured.models.files"
        for name in (
            "DownloadURL",
            "File",
            "FilePage",
            "FileStatus",
            "FileUpload",
            "PresignedURL",
            "Scan",
            "ScanStatus",
            "UploadTicket",
        )
    },
    **{
        name: "assured.models.provider_profile"
        for name in (
            "ProviderDocument",
            "ProviderDocumentCreate",
            "ProviderDocumentPage",
            "ProviderProfile",
            "ProviderProfileCreate",
            "ProviderProfilePage",
            "ProviderProfileUpdate",
        )
    },
}

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APITimeoutError",
    "Assured",
    "AssuredAPIError",
    "AssuredClient",
    "AssuredError",
    "AssuredValidationError",
    "AsyncFiles",
    "AsyncPaginator",
    "AsyncProviderProfiles",
    "AuthenticationError",
    "BadRequestError",
    "BinaryReadable",
    "CallOptions",
    "ConflictError",
    "DownloadDestination",
    "DownloadURL",
    "File",
    "FileContent",
    "FilePage",
    "FileProcessingTimeoutError",
    "FileRejectedError",
    "FileStatus",
    "FileTooLargeError",
    "FileUpload",
    "Files",
    "GoneError",
    "InternalServerError",
    "MissingArgumentError",
    "MissingCredentialsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PresignedURL",
    "ProgressCallback",
    "ProviderDocument",
    "ProviderDocumentCreate",
    "ProviderDocumentPage",
    "ProviderProfile",
    "ProviderProfileCreate",
    "ProviderProfilePage",
    "ProviderProfileUpdate",
    "ProviderProfiles",
    "RateLimitError",
    "Scan",
    "ScanStatus",
    "SyncPaginator",
    "UnsupportedFileFormatError",
    "UploadTicket",
    "__version__",
    "error_class_for_status",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assured' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
