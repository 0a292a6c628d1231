"""Provider profiles and the documents associated with them (the Assured v1 API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from assured.models._base import RequestModel, ResponseModel

__all__ = [
    "ProviderDocument",
    "ProviderDocumentCreate",
    "ProviderDocumentPage",
    "ProviderProfile",
    "ProviderProfileCreate",
    "ProviderProfilePage",
    "ProviderProfileUpdate",
]


class ProviderProfileCreate(RequestModel):
    """The body that creates a provider profile."""

    first_name: str
    """Given name."""
    last_name: str
    """Family name."""
    email: str | None = None
    """Contact e-mail."""
    npi: str | None = None
    """National Provider Identifier: 10 digits with a valid check digit."""
    specialty: str | None = None
    """Medical specialty."""


class ProviderProfileUpdate(RequestModel):
    """A partial update (PATCH): only the fields set here are sent."""

    first_name: str | None = None
    """Given name."""
    last_name: str | None = None
    """Family name."""
    email: str | None = None
    """Contact e-mail (set it to ``None`` explicitly to clear it)."""
    npi: str | None = None
    """National Provider Identifier (set it to ``None`` explicitly to clear it)."""
    specialty: str | None = None
    """Medical specialty (set it to ``None`` explicitly to clear it)."""


class ProviderProfile(ResponseModel):
    """A provider profile."""

    id: str
    """The profile's id."""
    first_name: str
    """Given name."""
    last_name: str
    """Family name."""
    email: str | None = None
    """Contact e-mail."""
    npi: str | None = None
    """National Provider Identifier."""
    specialty: str | None = None
    """Medical specialty."""
    created_at: datetime
    """When the profile was created."""
    updated_at: datetime
    """When it last changed."""


class ProviderDocumentCreate(RequestModel):
    """The body that associates an uploaded file with a provider profile."""

    provider: str
    """The provider profile's id."""
    document_name: str
    """A human-readable name (\"State Medical License\")."""
    document_type: str
    """A category (\"License\", \"Verification\", …)."""
    document_url: str
    """The ``s3://`` URI of an available file of the account (``FileUpload.file_url``)."""


class ProviderDocument(ResponseModel):
    """A document associated with a provider profile."""

    id: str
    """The document's id."""
    provider: str
    """The provider profile's id."""
    document_name: str
    """The document's name."""
    document_type: str
    """The document's category."""
    document_url: str
    """The ``s3://`` URI of the file (pass it to ``files.presign_url`` to download)."""
    file_id: str | None = None
    """The id of the underlying file."""
    mime_type: str | None = None
    """The file's content type."""
    size: int | None = None
    """The file's size in bytes."""
    created_at: datetime
    """When the association was created."""


class ProviderProfilePage(ResponseModel):
    """One page of provider profiles (Django REST Framework pagination)."""

    count: int
    """The total number of profiles across all pages."""
    next: str | None = None
    """The URL of the next page, if any."""
    previous: str | None = None
    """The URL of the previous page, if any."""
    results: list[ProviderProfile] = Field(default_factory=list)
    """The profiles of this page."""


class ProviderDocumentPage(ResponseModel):
    """One page of provider documents (Django REST Framework pagination)."""

    count: int
    """The total number of documents across all pages."""
    next: str | None = None
    """The URL of the next page, if any."""
    previous: str | None = None
    """The URL of the previous page, if any."""
    results: list[ProviderDocument] = Field(default_factory=list)
    """The documents of this page."""
