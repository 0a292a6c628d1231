"""``GET /v3/accounts/{accountId}/upload-limits``: the size limit, known before any upload."""

from __future__ import annotations

import httpx
from server_helpers import Api, assert_api_error

from assured_testing import Credentials


def test_the_limit_is_the_one_every_create_announces_and_reading_it_creates_nothing(
    api: Api,
) -> None:
    before = api.file_count()
    response = api.client.get(f"/v3/accounts/{api.account_id}/upload-limits")
    assert response.status_code == 200, response.text
    assert response.json() == {"maxSize": api.created()["maxSize"]}
    assert api.file_count() == before + 1  # the create made one file; the read none


def test_it_needs_a_token_of_this_account_with_files_write(api: Api, other_api: Api) -> None:
    path = f"/v3/accounts/{api.account_id}/upload-limits"
    assert_api_error(httpx.get(f"{api.server.base_url}{path}", timeout=30), 401, "UNAUTHORIZED")
    assert_api_error(other_api.client.get(path), 403, "FORBIDDEN")
    key = api.server.admin("create-api-key", "--account", api.account_id, "--scopes", "files:read")
    token = api.server.token(Credentials(api.account_id, key["api_key"]))
    reader = httpx.get(
        f"{api.server.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert_api_error(reader, 403, "FORBIDDEN")
