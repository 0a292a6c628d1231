"""How provider profiles and documents are shown by the Assured API (v1, snake_case)."""

from __future__ import annotations

from typing import Any

from assured_server.clock import rfc3339
from assured_server.db.models import ProviderProfile
from assured_server.stores.providers import Document


def profile_v1(row: ProviderProfile) -> dict[str, Any]:
    """A provider profile."""
    return {
        "id": row.id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "email": row.email,
        "npi": row.npi,
        "specialty": row.specialty,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }


def document_v1(document: Document) -> dict[str, Any]:
    """A provider document, with the type and size of its file."""
    row, file = document.row, document.file
    return {
        "id": row.id,
        "provider": row.provider_id,
        "document_name": row.document_name,
        "document_type": row.document_type,
        "document_url": row.document_url,
        "file_id": file.id,
        "mime_type": file.content_type,
        "size": file.size,
        "created_at": rfc3339(row.created_at),
    }
