"""The operator's everyday commands against a real server: list accounts and keys, revoke a key,
disable a user, delete an account (its rows, its stored files and its tokens)."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import (
    BUCKET,
    TEST_MAX_UPLOAD,
    Api,
    create_postgres_database,
    drop_postgres_database,
    in_database,
    make_api,
    stored_objects,
    wait_until,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from v1_support import DOCUMENTS, PROFILES, available_file, pending_file

from assured_server.auth.secrets import split_api_key
from assured_server.db.models import (
    Account,
    ApiKey,
    IdempotencyRecord,
    ProviderDocument,
    ProviderProfile,
    StoredFile,
    UploadLink,
    User,
)
from assured_testing import Credentials, SeaweedFS, ServerProcess

# Reloads of the revoked set four times a second here (30 s by default): a revoked token is
# refused within a fraction of the bound this waits for.
REFRESH_INTERVAL = "0.25"
REFUSED_WITHIN = 15.0
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def admin_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: dict[str, str],
) -> Iterator[ServerProcess]:
    """A server of the module's own (its own database and bucket: deleting an account must
    leave no object of it, which a shared bucket could not show)."""
    env = {
        "ASSURED_MAX_UPLOAD_BYTES": str(TEST_MAX_UPLOAD),
        "ASSURED_REVOCATION_REFRESH_INTERVAL": REFRESH_INTERVAL,
    }
    url = None
    if backend:
        url = create_postgres_database()
        store: SeaweedFS = request.getfixturevalue("seaweedfs")
        bucket = f"admin-{secrets.token_hex(4)}"
        store.create_bucket(bucket)
        env |= {"ASSURED_DATABASE_URL": url, **store.server_env(bucket)}
    proc = ServerProcess(tmp_path_factory.mktemp("admin"), env_overrides=env)
    try:
        yield proc.start()
    finally:
        proc.stop()
        if url is not None:
            drop_postgres_database(url)


@pytest.fixture
def connect(admin_server: ServerProcess) -> Iterator[Callable[[Credentials], Api]]:
    """Make an :class:`Api` for credentials; its client is closed after the test."""
    made: list[Api] = []

    def make(creds: Credentials) -> Api:
        made.append(make_api(admin_server, creds))
        return made[-1]

    yield make
    for api in made:
        api.client.close()


def run_admin(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """``assured-server admin …`` as an operator types it (no ``--json`` added)."""
    return subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "assured_server", "admin", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def exchange(server: ServerProcess, body: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/v1/auth/token/", json=body, timeout=10)


def files_status(server: ServerProcess, account_id: str, access: str) -> int:
    response = httpx.get(
        f"{server.base_url}/v3/accounts/{account_id}/files",
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    return response.status_code


def refused_soon(server: ServerProcess, account_id: str, access: str) -> None:
    """The access token gets 401 within the bound (a bounded poll, not a sleep)."""
    wait_until(lambda: files_status(server, account_id, access) == 401, REFUSED_WITHIN)


def test_list_accounts(admin_server: ServerProcess) -> None:
    made = admin_server.admin("create-account", "--name", "Listed Clinic")
    items = admin_server.admin("list-accounts")["items"]
    mine = [item for item in items if item["id"] == made["id"]]
    assert len(mine) == 1
    assert set(mine[0]) == {"id", "name", "createdAt"}
    assert mine[0]["name"] == "Listed Clinic"
    assert TIME.match(mine[0]["createdAt"])
    table = run_admin(admin_server, "list-accounts")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["ID", "CREATED", "NAME"]
    assert made["id"] in table.stdout


def test_list_api_keys_shows_last_use_never_the_key(admin_server: ServerProcess) -> None:
    creds = admin_server.new_account("keys")
    second = admin_server.admin("create-api-key", "--account", creds.account_id)
    items = admin_server.admin("list-api-keys", "--account", creds.account_id)["items"]
    assert len(items) == 2
    for item in items:
        assert set(item) == {"id", "scopes", "createdAt", "lastUsedAt", "revokedAt"}
        assert item["lastUsedAt"] is None and item["revokedAt"] is None
        assert TIME.match(item["createdAt"])
    listing = run_admin(admin_server, "list-api-keys", "--account", creds.account_id, "--json")
    for value in (creds.api_key, second["api_key"]):
        assert value not in listing.stdout
        parts = split_api_key(value)
        assert parts is not None
        assert parts[1] not in listing.stdout  # the secret (which may itself contain "_")

    admin_server.token(creds)
    used = {
        item["id"]: item
        for item in admin_server.admin("list-api-keys", "--account", creds.account_id)["items"]
    }
    assert used[second["id"]]["lastUsedAt"] is None
    (first,) = (item for key, item in used.items() if key != second["id"])
    assert TIME.match(first["lastUsedAt"])
    # A second exchange within the minute writes nothing: the time stays.
    admin_server.token(creds)
    again = admin_server.admin("list-api-keys", "--account", creds.account_id)["items"]
    assert {i["id"]: i["lastUsedAt"] for i in again}[first["id"]] == first["lastUsedAt"]


def test_unknown_ids_fail_clearly(admin_server: ServerProcess) -> None:
    unknown = "00000000-0000-7000-8000-000000000000"
    for args in (
        ("list-api-keys", "--account", unknown),
        ("revoke-api-key", "--key", unknown),
        ("delete-account", "--account", unknown, "--yes"),
        ("disable-user", "--username", "nobody-at-all"),
    ):
        result = run_admin(admin_server, *args)
        assert result.returncode != 0, args
        assert result.stderr.startswith("error: no "), (args, result.stderr)


def test_revoked_key_gets_no_token_and_its_tokens_stop(admin_server: ServerProcess) -> None:
    creds = admin_server.new_account("revoked")
    pair = exchange(admin_server, {"api_key": creds.api_key}).json()
    assert files_status(admin_server, creds.account_id, pair["access"]) == 200
    (key,) = admin_server.admin("list-api-keys", "--account", creds.account_id)["items"]

    revoked = admin_server.admin("revoke-api-key", "--key", key["id"])
    assert set(revoked) == {"id", "revokedAt"} and revoked["id"] == key["id"]
    assert TIME.match(revoked["revokedAt"])
    # No new token, at once.
    assert exchange(admin_server, {"api_key": creds.api_key}).status_code == 401
    refresh = httpx.post(
        f"{admin_server.base_url}/api/v1/auth/token/refresh/",
        json={"refresh": pair["refresh"]},
        timeout=10,
    )
    assert refresh.status_code == 401
    refused_soon(admin_server, creds.account_id, pair["access"])
    (listed,) = admin_server.admin("list-api-keys", "--account", creds.account_id)["items"]
    assert listed["revokedAt"] == revoked["revokedAt"]
    # Revoking again keeps the first time.
    assert admin_server.admin("revoke-api-key", "--key", key["id"]) == revoked


def test_revoking_one_key_leaves_the_others(
    admin_server: ServerProcess, connect: Callable[[Credentials], Api]
) -> None:
    creds = admin_server.new_account("two keys")
    other = admin_server.admin("create-api-key", "--account", creds.account_id)
    keep = connect(Credentials(creds.account_id, other["api_key"]))
    gone = admin_server.token(creds)
    first = next(
        item["id"]
        for item in admin_server.admin("list-api-keys", "--account", creds.account_id)["items"]
        if item["id"] != other["id"]
    )
    admin_server.admin("revoke-api-key", "--key", first)
    refused_soon(admin_server, creds.account_id, gone)
    assert keep.client.get(keep.files_path).status_code == 200


def add_user(server: ServerProcess, account_id: str) -> str:
    username = f"user-{secrets.token_hex(4)}"
    server.admin(
        "create-user",
        "--account",
        account_id,
        "--username",
        username,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    return username


def test_disable_user(admin_server: ServerProcess) -> None:
    creds = admin_server.new_account("people")
    username = add_user(admin_server, creds.account_id)
    pair = exchange(admin_server, {"username": username, "password": PASSWORD}).json()
    assert files_status(admin_server, creds.account_id, pair["access"]) == 200

    disabled = admin_server.admin("disable-user", "--username", username)
    assert disabled["username"] == username and TIME.match(disabled["disabledAt"])
    login = exchange(admin_server, {"username": username, "password": PASSWORD})
    assert login.status_code == 401
    refresh = httpx.post(
        f"{admin_server.base_url}/api/v1/auth/token/refresh/",
        json={"refresh": pair["refresh"]},
        timeout=10,
    )
    assert refresh.status_code == 401
    refused_soon(admin_server, creds.account_id, pair["access"])
    # The account's key is not the user: it still works.
    assert files_status(admin_server, creds.account_id, admin_server.token(creds)) == 200


def uploaded(api: Api) -> str:
    return str(available_file(api)["id"])


def row_counts(server: ServerProcess, account_id: str) -> dict[str, int]:
    async def count(session: AsyncSession) -> dict[str, int]:
        counts = {}
        for model in (
            StoredFile,
            ProviderProfile,
            ProviderDocument,
            IdempotencyRecord,
            User,
            ApiKey,
            UploadLink,
        ):
            counts[model.__tablename__] = int(
                await session.scalar(
                    select(func.count()).select_from(model).where(model.account_id == account_id)
                )
                or 0
            )
        counts["accounts"] = int(
            await session.scalar(
                select(func.count()).select_from(Account).where(Account.id == account_id)
            )
            or 0
        )
        return counts

    return in_database(server, count)


def test_delete_account(admin_server: ServerProcess, connect: Callable[[Credentials], Api]) -> None:
    creds = admin_server.new_account(
        "leaving", scopes="files:read files:write providers:read providers:write links:write"
    )
    api = connect(creds)
    bystander = connect(admin_server.new_account("staying"))
    add_user(admin_server, creds.account_id)
    file_ids = [uploaded(api), uploaded(api)]
    kept = uploaded(bystander)
    pending: dict[str, Any] = pending_file(api)  # a row with no bytes yet
    profile = api.client.post(
        PROFILES,
        json={"first_name": "Ada", "last_name": "Lovelace"},
        headers={"Idempotency-Key": secrets.token_hex(8)},
    )
    assert profile.status_code == 201, profile.text
    bucket = admin_server.env_overrides.get("ASSURED_BUCKET", BUCKET)
    document = api.client.post(
        DOCUMENTS,
        json={
            "provider": profile.json()["id"],
            "document_name": "State Medical License",
            "document_type": "License",
            "document_url": f"s3://{bucket}/files/{file_ids[0]}",
        },
    )
    assert document.status_code == 201, document.text
    link = api.client.post(f"/v3/accounts/{creds.account_id}/upload-links", json={})
    assert link.status_code == 201, link.text
    before = row_counts(admin_server, creds.account_id)
    assert before["upload_links"] == 1
    assert before["files"] == 3 and before["users"] == 1 and before["api_keys"] == 1
    assert before["provider_profiles"] == 1 and before["provider_documents"] == 1
    assert before["idempotency_keys"] == 1
    assert any(fid in str(path) for path in stored_objects(admin_server) for fid in file_ids)

    refused = run_admin(admin_server, "delete-account", "--account", creds.account_id)
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert row_counts(admin_server, creds.account_id) == before

    result = admin_server.admin("delete-account", "--account", creds.account_id, "--yes")
    assert result == {"id": creds.account_id, "deletedFiles": 3}
    assert set(row_counts(admin_server, creds.account_id).values()) == {0}
    left = [str(path) for path in stored_objects(admin_server)]
    for file_id in [*file_ids, pending["id"]]:
        assert not [path for path in left if file_id in path], left
    assert [path for path in left if kept in path]
    assert exchange(admin_server, {"api_key": creds.api_key}).status_code == 401
    refused_soon(admin_server, creds.account_id, api.client.headers["Authorization"][7:])
    assert bystander.get_file(kept).status_code == 200
    listed = admin_server.admin("list-accounts")["items"]
    assert creds.account_id not in {item["id"] for item in listed}
    again = run_admin(admin_server, "delete-account", "--account", creds.account_id, "--yes")
    assert again.returncode != 0 and "no account" in again.stderr


@pytest.fixture
def replicas(
    tmp_path: Path, postgres_url: str, seaweedfs: SeaweedFS
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two replicas of two workers each on one PostgreSQL and one S3 store."""
    bucket = f"revoke-{secrets.token_hex(4)}"
    seaweedfs.create_bucket(bucket)
    shared = {
        "ASSURED_DATABASE_URL": postgres_url,
        "ASSURED_JWT_SECRET": secrets.token_urlsafe(48),
        "ASSURED_WORKERS": "2",
        "ASSURED_REVOCATION_REFRESH_INTERVAL": "1",
        **seaweedfs.server_env(bucket),
    }
    first = ServerProcess(tmp_path / "a", env_overrides=shared).start()
    try:
        second = ServerProcess(tmp_path / "b", env_overrides=shared).start()
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def test_revocation_reaches_every_worker_of_every_replica(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = replicas
    creds = a.new_account("replicated")
    access = a.token(creds)
    # Each request on a new connection: the workers of a replica take turns accepting them.
    for server in (a, b):
        assert {files_status(server, creds.account_id, access) for _ in range(8)} == {200}
    (key,) = a.admin("list-api-keys", "--account", creds.account_id)["items"]
    a.admin("revoke-api-key", "--key", key["id"])
    for server in (a, b):
        assert exchange(server, {"api_key": creds.api_key}).status_code == 401
        refused_soon(server, creds.account_id, access)
    # Once each process has reloaded (one interval after the first refusal at most), none of
    # them accepts the token any more.
    wait_until(
        lambda: all(
            files_status(server, creds.account_id, access) == 401
            for server in (a, b)
            for _ in range(8)
        ),
        REFUSED_WITHIN,
    )
    for server in (a, b):
        assert {files_status(server, creds.account_id, access) for _ in range(16)} == {401}
