"""Helpers of the end-to-end content-safety tests: uploads through both APIs, and their files."""

from __future__ import annotations

from typing import Any

import httpx
from server_helpers import Api, is_s3, stored_objects, wait_until

HANDLE = "/api/v1/files/handle/"


def upload_v3(api: Api, name: str, content_type: str, content: bytes) -> tuple[int, dict[str, Any]]:
    """Create a v3 file, post its form (then ``complete`` on S3): the POST's status and the File.

    The embedded storage answers a rejected upload ``400``; a plain S3 store takes it (``204``)
    and the server rejects it when it verifies.
    """
    ticket = api.created(name, content_type)
    # On S3, post_form also calls ``complete`` (and asserts its 200), as a client would.
    response = api.post_form(ticket, content, file_name=name)
    file = api.get_file(ticket["id"])
    assert file.status_code == 200, file.text
    return response.status_code, file.json()


def upload_v1(api: Api, name: str, content_type: str, content: bytes) -> httpx.Response:
    """``POST /api/v1/files/handle/`` with one file part."""
    return api.client.post(HANDLE, files={"file": (name, content, content_type)}, timeout=60)


def rejected_post_status(api: Api) -> int:
    """How the form POST of a rejected file answers on this deployment."""
    return 204 if is_s3(api.server) else 400


def objects_of(api: Api, file_id: str) -> list[str]:
    """The stored objects (final, landing or temporary) whose key names ``file_id``."""
    return [str(path) for path in stored_objects(api.server) if file_id in str(path)]


def wait_for_status(api: Api, file_id: str, status: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the File (bounded) until it has ``status``; return it."""
    seen: dict[str, Any] = {}

    def reached() -> bool:
        seen.update(api.get_file(file_id).json())
        return seen.get("status") == status

    wait_until(reached, timeout)
    return seen


def ready_status(api: Api) -> int:
    """``GET /readyz``'s status."""
    return httpx.get(f"{api.server.base_url}/readyz", timeout=30).status_code
