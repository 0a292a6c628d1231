"""How a file row is shown by each API (v3 camelCase, v1 snake_case)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assured_server.clock import rfc3339
from assured_server.db.models import StoredFile
from assured_server.files.records import PENDING, effective_status, storage_key


def storage_url(bucket: str, file_id: str) -> str:
    """``s3://bucket/files/<id>``: the file's permanent place."""
    return f"s3://{bucket}/{storage_key(file_id)}"


def file_v3(row: StoredFile, *, bucket: str, now: datetime) -> dict[str, Any]:
    """The File object of the Files API."""
    return {
        "id": row.id,
        "accountId": row.account_id,
        "fileName": row.file_name,
        "contentType": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "status": effective_status(row, now),
        "rejectionReason": row.rejection_reason,
        "description": row.description,
        "businessProcess": row.business_process,
        "businessProcessAction": row.business_process_action,
        "storageUrl": storage_url(bucket, row.id),
        "createdAt": rfc3339(row.created_at),
        "uploadedAt": rfc3339(row.uploaded_at),
        "expiresAt": rfc3339(row.expires_at),
        "uploadLinkId": row.upload_link_id,
        "contentFlags": content_flags(row),
        "scan": {
            "status": scan_status(row),
            "engine": row.scan_engine,
            "signature": row.scan_signature,
            "scannedAt": rfc3339(row.scanned_at),
        },
    }


def scan_status(row: StoredFile) -> str:
    """``scan.status``: as recorded; before the bytes were inspected, ``pending`` while the file
    is (a scan may still be owed), else ``skipped`` (files of before the checks existed)."""
    if row.scan_status is not None:
        return row.scan_status
    return "pending" if row.status == PENDING else "skipped"


def content_flags(row: StoredFile) -> list[str]:
    """``contentFlags``: what the checks noticed (empty when nothing)."""
    return row.content_flags.split() if row.content_flags else []


def safety_v1(row: StoredFile) -> dict[str, Any]:
    """The content checks' findings in the v1 upload's answer (snake_case)."""
    return {
        "content_flags": content_flags(row),
        "scan": {
            "status": scan_status(row),
            "engine": row.scan_engine,
            "signature": row.scan_signature,
            "scanned_at": rfc3339(row.scanned_at),
        },
    }
