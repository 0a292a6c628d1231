"""Helpers shared by the v1 tests: files in each state, and a look into the server's database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from server_helpers import Api, in_database, mismatch_post_status, pdf_bytes
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assured_server.db.models import ProviderDocument, StoredFile
from assured_testing import ServerProcess

BUCKET = "assured-files"
PROFILES = "/api/v1/users/provider-profiles/"
DOCUMENTS = "/api/v1/users/provider-documents/"


def file_url(file_id: str) -> str:
    """The ``s3://`` URI of a file of the test server."""
    return f"s3://{BUCKET}/files/{file_id}"


def available_file(api: Api, content: bytes | None = None, **extra: Any) -> dict[str, Any]:
    """Upload a PDF through the v3 flow; returns the available File."""
    ticket = api.created("doc.pdf", "application/pdf", **extra)
    assert api.post_form(ticket, content or pdf_bytes()).status_code == 204
    file: dict[str, Any] = api.get_file(ticket["id"]).json()
    assert file["status"] == "available", file
    return file


def pending_file(api: Api) -> dict[str, Any]:
    """A declared upload whose bytes never came."""
    file: dict[str, Any] = api.created()["file"]
    assert file["status"] == "pending"
    return file


def rejected_file(api: Api) -> dict[str, Any]:
    """A PNG declaration that received PDF bytes."""
    ticket = api.created("fake.png", "image/png")
    assert api.post_form(ticket, pdf_bytes()).status_code == mismatch_post_status(api.server)
    file: dict[str, Any] = api.get_file(ticket["id"]).json()
    assert file["status"] == "rejected", file
    return file


def expire_now(server: ServerProcess, file_id: str) -> None:
    """Move a file's ``expiresAt`` into the past, as if its life had run out (no waiting)."""

    async def work(session: AsyncSession) -> int:
        result = await session.execute(
            update(StoredFile)
            .where(StoredFile.id == file_id)
            .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    assert in_database(server, work) == 1


def document_rows(server: ServerProcess, **where: str) -> int:
    """How many ``provider_documents`` rows match (``provider_id=…`` or ``file_id=…``)."""
    ((column, value),) = where.items()
    assert column in ("provider_id", "file_id")

    async def work(session: AsyncSession) -> int:
        query = select(func.count()).select_from(ProviderDocument)
        return int(
            await session.scalar(query.where(getattr(ProviderDocument, column) == value)) or 0
        )

    return in_database(server, work)


def count(api: Api, path: str, **params: str) -> int:
    """The ``count`` of a v1 list."""
    response = api.client.get(path, params={"page_size": "1", **params})
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


def new_profile(api: Api, **fields: Any) -> dict[str, Any]:
    """Create a provider profile that must succeed."""
    response = api.client.post(
        PROFILES, json={"first_name": "Ada", "last_name": "Lovelace", **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def new_document(api: Api, provider: str, file_id: str, **fields: Any) -> dict[str, Any]:
    """Associate a file with a profile; must succeed."""
    body = {
        "provider": provider,
        "document_name": "State Medical License",
        "document_type": "License",
        "document_url": file_url(file_id),
        **fields,
    }
    response = api.client.post(DOCUMENTS, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
