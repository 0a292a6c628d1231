"""Helpers of the SDK's unit tests: fake tokens and API bodies as the contract writes them."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

BASE_URL = "http://assured.test"
ACCOUNT_ID = "0190a7c4-0000-7000-8000-00000000acc1"
TOKEN_PATH = "/api/v1/auth/token/"
REFRESH_PATH = "/api/v1/auth/token/refresh/"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_jwt(acct: str = ACCOUNT_ID, *, exp_in: int = 900, **claims: Any) -> str:
    """An unsigned-looking JWT: the SDK only reads its claims."""
    header = _b64({"alg": "HS256", "typ": "JWT"})
    now = int(time.time())
    payload = _b64({"acct": acct, "iat": now, "exp": now + exp_in, "typ": "access", **claims})
    return f"{header}.{payload}.c2lnbmF0dXJl"


def token_body(
    access: str | None = None, *, expires_in: int = 900, refresh: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access": access or make_jwt(),
        "token_type": "Bearer",
        "expires_in": expires_in,
    }
    if refresh:
        body["refresh"] = make_jwt(typ="refresh", exp_in=86400)
    return body


def error_body(code: str, detail: str, field: str | None = None) -> dict[str, Any]:
    return {"code": code, "detail": detail, "field": field, "request_id": "req-123"}


def file_json(file_id: str = "f-1", status: str = "available", **extra: Any) -> dict[str, Any]:
    """A v3 File as the API writes it."""
    body: dict[str, Any] = {
        "id": file_id,
        "accountId": ACCOUNT_ID,
        "fileName": "invoice.pdf",
        "contentType": "application/pdf",
        "size": 1234,
        "sha256": "ab" * 32,
        "status": status,
        "rejectionReason": None,
        "description": None,
        "businessProcess": None,
        "businessProcessAction": None,
        "storageUrl": f"s3://assured-files/files/{file_id}",
        "createdAt": "2026-01-15T10:30:00Z",
        "uploadedAt": "2026-01-15T10:30:01Z",
        "expiresAt": "2026-03-16T10:30:00Z",
    }
    body.update(extra)
    return body


def upload_json(file_id: str = "f-1", filename: str = "license.pdf") -> dict[str, Any]:
    """A v1 upload answer."""
    return {
        "id": file_id,
        "file_url": f"s3://assured-files/files/{file_id}",
        "filename": filename,
        "mime_type": "application/pdf",
        "size": 8,
        "sha256": "cd" * 32,
        "created_at": "2026-01-15T10:30:00Z",
        "expires_at": None,
    }


def profile_json(profile_id: str = "p-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": profile_id,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "npi": "1234567893",
        "specialty": "Cardiology",
        "created_at": "2026-01-15T10:30:00Z",
        "updated_at": "2026-01-15T10:30:00Z",
    }
    body.update(extra)
    return body


def document_json(document_id: str = "d-1", provider: str = "p-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": document_id,
        "provider": provider,
        "document_name": "State Medical License",
        "document_type": "License",
        "document_url": "s3://assured-files/files/f-1",
        "file_id": "f-1",
        "mime_type": "application/pdf",
        "size": 8,
        "created_at": "2026-01-15T10:30:00Z",
    }
    body.update(extra)
    return body
