"""Responses that carry a credential or a signed URL say ``Cache-Control: no-store``."""

from __future__ import annotations

import uuid

import httpx
from server_helpers import Api
from v1_support import available_file, file_url


def _no_store(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers.get("cache-control") == "no-store", response.headers


def test_token_obtain_and_refresh_are_no_store(api: Api) -> None:
    base = api.server.base_url
    obtained = httpx.post(
        f"{base}/api/v1/auth/token/", json={"api_key": api.creds.api_key}, timeout=30
    )
    _no_store(obtained, 200)
    refreshed = httpx.post(
        f"{base}/api/v1/auth/token/refresh/",
        json={"refresh": obtained.json()["refresh"]},
        timeout=30,
    )
    _no_store(refreshed, 200)


def test_a_created_upload_and_its_replay_are_no_store(api: Api) -> None:
    # The answer holds a signed POST policy: whoever has it can upload.
    _no_store(api.create_upload(fileName="a.pdf", contentType="application/pdf"), 201)
    headers = {"Idempotency-Key": f"no-store-{uuid.uuid4()}"}
    body = {"fileName": "b.pdf", "contentType": "application/pdf"}
    first = api.client.post(api.files_path, json=body, headers=headers)
    _no_store(first, 201)
    replayed = api.client.post(api.files_path, json=body, headers=headers)
    _no_store(replayed, 201)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == first.json()


def test_download_urls_of_v3_and_v1_are_no_store(api: Api) -> None:
    file = available_file(api)
    _no_store(api.download_url(file["id"]), 200)
    presigned = api.client.post("/api/v1/files/presign/", json={"file_url": file_url(file["id"])})
    _no_store(presigned, 200)
