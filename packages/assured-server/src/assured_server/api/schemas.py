"""The JSON each route answers, as pydantic models: what ``/openapi.json`` documents.

Routes build their bodies as plain dicts (the views of ``files`` and ``providers``) and hand
them to the response class directly: validating every answer through these models would cost
a share of a request's CPU on the hottest routes. The models are therefore declared with
:func:`answers` (OpenAPI only), and the test suite checks real responses of every route
against the published schemas, so that the two cannot drift apart. ``extra="forbid"`` makes
each schema closed (``additionalProperties: false``): an undocumented field fails that test.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Timestamp = str  # RFC 3339 UTC ending in Z (fractional seconds allowed)
FileStatus = Literal["pending", "available", "rejected", "expired"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Closed):
    """Every JSON error: a code of the closed set, a sentence, the field at fault, the id."""

    code: str
    detail: str
    field: str | None = Field(default=None, description="Only when one field is at fault.")
    request_id: str


# -- auth ----------------------------------------------------------------------------------


class TokenPair(_Closed):
    """``POST /api/v1/auth/token/``."""

    access: str
    refresh: str
    token_type: Literal["Bearer"]
    expires_in: int


class AccessToken(_Closed):
    """``POST /api/v1/auth/token/refresh/``."""

    access: str
    expires_in: int


# -- Files API (v3) ------------------------------------------------------------------------


ScanStatus = Literal["skipped", "pending", "clean", "infected"]


class Scan(_Closed):
    """What the malware scan concluded (``engine`` and ``scannedAt`` only once a scan ran)."""

    status: ScanStatus
    engine: str | None
    signature: str | None = Field(description="The signature found, when infected.")
    scannedAt: Timestamp | None


class FileV3(_Closed):
    """The File object of the Files API."""

    id: str
    accountId: str
    fileName: str
    contentType: str
    size: int | None
    sha256: str | None
    status: FileStatus
    rejectionReason: str | None
    description: str | None
    businessProcess: str | None
    businessProcessAction: str | None
    storageUrl: str
    createdAt: Timestamp
    uploadedAt: Timestamp | None
    expiresAt: Timestamp | None
    contentFlags: list[str] = Field(
        description="What the content checks noticed (pdf_javascript, …); empty when nothing."
    )
    scan: Scan
    uploadLinkId: str | None = Field(description="The upload link it came through, or null.")


class CreatedUpload(_Closed):
    """``POST /v3/accounts/{accountId}/files``: the form to post the bytes with."""

    id: str
    uploadUrl: str
    fields: dict[str, str]
    uploadExpiresAt: Timestamp
    maxSize: int
    file: FileV3


class FileList(_Closed):
    """``GET /v3/accounts/{accountId}/files``, newest first."""

    items: list[FileV3]
    nextCursor: str | None


class DownloadUrl(_Closed):
    """``GET …/files/{id}/download-url``."""

    url: str
    expiresAt: Timestamp


class UploadLimits(_Closed):
    """``GET /v3/accounts/{accountId}/upload-limits``."""

    maxSize: int


# -- upload links ----------------------------------------------------------------------------

LinkStatus = Literal["active", "used", "expired", "revoked"]


class UploadLink(_Closed):
    """An upload link as its account sees it (never its URL, which only the create shows)."""

    id: str
    label: str | None
    contentTypes: list[str]
    maxFiles: int
    filesUploaded: int
    status: LinkStatus
    expiresAt: Timestamp
    createdAt: Timestamp


class CreatedUploadLink(_Closed):
    """``POST /v3/accounts/{accountId}/upload-links``: the link with its URL, shown once."""

    id: str
    url: str
    label: str | None
    contentTypes: list[str]
    maxFiles: int
    filesUploaded: int
    status: LinkStatus
    expiresAt: Timestamp
    createdAt: Timestamp


class UploadLinkList(_Closed):
    """``GET /v3/accounts/{accountId}/upload-links``, newest first."""

    items: list[UploadLink]
    nextCursor: str | None


class LinkFile(_Closed):
    """``GET /u/{token}/files/{id}``: what the person who uploaded may see of a file."""

    id: str
    fileName: str
    contentType: str
    size: int | None
    status: FileStatus
    rejectionReason: str | None


# -- Assured API (v1) ----------------------------------------------------------------------


class ScanV1(_Closed):
    """The malware scan of a v1 upload (snake_case)."""

    status: ScanStatus
    engine: str | None
    signature: str | None
    scanned_at: Timestamp | None


class FileV1(_Closed):
    """``POST /api/v1/files/handle/``."""

    id: str
    file_url: str
    filename: str
    mime_type: str
    size: int
    sha256: str
    created_at: Timestamp
    expires_at: Timestamp | None
    content_flags: list[str] = Field(description="What the content checks noticed.")
    scan: ScanV1


class PresignedUrl(_Closed):
    """``POST /api/v1/files/presign/``."""

    url: str
    expires_at: Timestamp


class ProviderProfile(_Closed):
    """A provider profile."""

    id: str
    first_name: str
    last_name: str
    email: str | None
    npi: str | None
    specialty: str | None
    created_at: Timestamp
    updated_at: Timestamp


class ProviderDocument(_Closed):
    """A provider document, with the type and size of its file."""

    id: str
    provider: str
    document_name: str
    document_type: str
    document_url: str
    file_id: str
    mime_type: str
    size: int | None
    created_at: Timestamp


Item = TypeVar("Item", bound=BaseModel)


class Page(_Closed, Generic[Item]):
    """A v1 list page (Django REST Framework style)."""

    count: int
    next: str | None
    previous: str | None
    results: list[Item]


# -- operations ----------------------------------------------------------------------------


class Health(_Closed):
    """``GET /healthz``."""

    status: Literal["ok"]


class Readiness(_Closed):
    """``GET /readyz`` (200 ready, 503 not)."""

    status: Literal["ready", "unavailable"]
    checks: dict[str, Literal["ok", "unavailable"]]


# -- declaring them ------------------------------------------------------------------------

ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "An error of the contract's closed set"},
    "5XX": {"model": ErrorBody, "description": "Unavailable (with Retry-After), or a bug"},
}


def answers(model: type[BaseModel], status: int = 200, description: str = "") -> dict[str, Any]:
    """Decorator arguments documenting ``model`` as the ``status`` answer (and the errors)."""
    return {
        "response_model": None,
        "responses": {
            status: {"model": model, "description": description or model.__doc__ or ""},
            **ERRORS,
        },
    }


def answers_nothing() -> dict[str, Any]:
    """Decorator arguments for a route whose success has no body (204): the errors only."""
    return {"response_model": None, "responses": dict(ERRORS)}
