"""Authentication against a real server, and the ``assured`` command line end to end."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from live_data import pdf_bytes
from sdk_live_harness import LiveServer
from typer.testing import CliRunner, Result

from assured import AssuredClient, AuthenticationError
from assured._auth import decode_jwt_claims
from assured.cli._app import app


async def test_api_key_is_exchanged_and_the_account_claim_is_ours(
    live_client: AssuredClient, live_server: LiveServer
) -> None:
    assert await live_client.account_id() == live_server.account_id
    claims = decode_jwt_claims(live_client._tokens.access or "")
    assert claims["typ"] == "access"
    assert "files:write" in claims["scope"].split()


async def test_wrong_api_key_is_an_authentication_error(live_server: LiveServer) -> None:
    async with AssuredClient(base_url=live_server.base_url, api_key="ak_wrong") as client:
        with pytest.raises(AuthenticationError) as info:
            await client.files.list_page()
    assert info.value.code == "UNAUTHORIZED"


async def test_a_ready_token_from_the_environment_works(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = httpx.post(
        f"{live_server.base_url}/api/v1/auth/token/",
        json={"api_key": live_server.api_key},
        timeout=30,
    ).json()["access"]
    monkeypatch.setenv("ASSURED_BASE_URL", live_server.base_url)
    monkeypatch.setenv("ASSURED_TOKEN", token)
    async with AssuredClient() as client:
        page = await client.files.list_page(limit=1)
    assert page.items is not None


async def test_a_revoked_access_is_renewed_with_the_key(live_client: AssuredClient) -> None:
    await live_client.files.list_page(limit=1)
    live_client._tokens.access = live_client._tokens.access + "x"  # type: ignore[operator]
    live_client._tokens.refresh = None  # the server refuses it; the key gets a new one
    await live_client.files.list_page(limit=1)


def _cli(server: LiveServer, *args: str) -> Result:
    return CliRunner().invoke(
        app, ["--base-url", server.base_url, "--api-key", server.api_key, *args]
    )


def test_cli_upload_presign_and_list(live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "license.pdf"
    source.write_bytes(pdf_bytes(20_000))
    result = _cli(live_server, "upload", str(source), "--json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    result = _cli(live_server, "presign", record["file_url"])
    assert result.exit_code == 0, result.stderr
    assert httpx.get(result.stdout.strip(), timeout=30).content == source.read_bytes()
    result = _cli(live_server, "files", "ls", "--json", "--limit", "200")
    assert record["id"] in [f["id"] for f in json.loads(result.stdout)]
    result = _cli(live_server, "files", "download", record["id"], "-o", str(tmp_path / "c.pdf"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "c.pdf").read_bytes() == source.read_bytes()
    result = _cli(live_server, "files", "rm", record["id"])
    assert result.exit_code == 0, result.stderr
    result = _cli(live_server, "files", "get", record["id"])
    assert result.exit_code == 1
    assert "404" in result.stderr


def test_cli_providers_and_documents(live_server: LiveServer, tmp_path: Path) -> None:
    result = _cli(
        live_server, "providers", "create", "--first-name", "Ada", "--last-name", "L", "--json"
    )
    assert result.exit_code == 0, result.stderr
    provider = json.loads(result.stdout)["id"]
    source = tmp_path / "license.pdf"
    source.write_bytes(pdf_bytes())
    result = _cli(
        live_server, "upload", str(source), "--provider", provider, "--type", "License", "--json"
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    result = _cli(live_server, "documents", "ls", "--provider", provider, "--json")
    assert [d["id"] for d in json.loads(result.stdout)] == [document["id"]]
    result = _cli(live_server, "providers", "ls", "--json", "--limit", "200")
    assert provider in [p["id"] for p in json.loads(result.stdout)]
    result = _cli(live_server, "providers", "rm", provider)
    assert result.exit_code == 0, result.stderr


def test_cli_reports_api_errors_with_a_non_zero_exit(live_server: LiveServer) -> None:
    result = _cli(live_server, "presign", "s3://not-our-bucket/files/x")
    assert result.exit_code == 1
    assert "INVALID_DOCUMENT_URL" in result.stderr
