"""The first hour of a new user, against a real server: what the README says works as written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from live_data import pdf_bytes
from sdk_live_harness import MAX_UPLOAD_BYTES, LiveServer
from typer.testing import CliRunner, Result

from assured import AssuredClient
from assured.cli._app import app


def _cli(server: LiveServer, *args: str, columns: int = 80) -> Result:
    return CliRunner().invoke(
        app,
        ["--base-url", server.base_url, "--api-key", server.api_key, *args],
        env={"COLUMNS": str(columns)},
    )


async def test_download_to_a_new_directory_as_the_readme_writes_it(
    live_client: AssuredClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = pdf_bytes(5000)
    file = await live_client.files.upload_file(data, file_name="invoice.pdf")
    written = await live_client.files.download(file.id, "copies/")
    assert written is not None
    assert written.resolve() == tmp_path / "copies" / "invoice.pdf"
    assert written.read_bytes() == data


def test_cli_download_to_a_new_directory(live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "scan.pdf"
    source.write_bytes(pdf_bytes(3000))
    result = _cli(live_server, "files", "upload", str(source), "--json")
    assert result.exit_code == 0, result.stderr
    file_id = json.loads(result.stdout)["id"]
    target = f"{tmp_path}/downloads{os.sep}"
    result = _cli(live_server, "files", "download", file_id, "-o", target)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "downloads" / "scan.pdf").read_bytes() == source.read_bytes()


def test_cli_upload_over_the_limit_is_refused_and_leaves_no_record(
    live_server: LiveServer, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.pdf"
    huge.write_bytes(pdf_bytes(MAX_UPLOAD_BYTES + 1024))
    before = json.loads(_cli(live_server, "files", "ls", "--json", "--limit", "1000").stdout)
    for command in (["files", "upload"], ["upload"]):
        result = _cli(live_server, *command, str(huge))
        assert result.exit_code == 2
        message = " ".join(result.stderr.split())
        assert "huge.pdf is 4.2 MB" in message
        assert "over the server's upload limit of 4.2 MB (4,194,304 bytes)" in message
    after = json.loads(_cli(live_server, "files", "ls", "--json", "--limit", "1000").stdout)
    assert after == before


async def test_an_api_key_given_as_the_token_works(live_server: LiveServer) -> None:
    async with AssuredClient(base_url=live_server.base_url, token=live_server.api_key) as client:
        assert await client.account_id() == live_server.account_id
    result = CliRunner().invoke(
        app, ["--base-url", live_server.base_url, "--token", live_server.api_key, "files", "ls"]
    )
    assert result.exit_code == 0, result.stderr


def test_the_server_says_how_to_use_an_api_key_sent_as_a_bearer_token(
    live_server: LiveServer,
) -> None:
    response = httpx.get(
        f"{live_server.base_url}/v3/accounts/{live_server.account_id}/files",
        headers={"Authorization": f"Bearer {live_server.api_key}"},
        timeout=30,
    )
    assert response.status_code == 401
    assert "POST /api/v1/auth/token/" in response.json()["detail"]


def test_cli_files_ls_fits_80_columns(live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "a-long-name-for-a-document-about-credentials-2026.pdf"
    source.write_bytes(pdf_bytes(1_500_000))
    result = _cli(live_server, "files", "upload", str(source), "--json")
    assert result.exit_code == 0, result.stderr
    file_id = json.loads(result.stdout)["id"]
    result = _cli(live_server, "files", "ls", "--limit", "5")
    assert result.exit_code == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert file_id[-8:] in result.stdout
    assert "1.5 MB" in result.stdout
    result = _cli(live_server, "files", "ls", "--limit", "5", "--wide", columns=200)
    assert file_id in result.stdout
