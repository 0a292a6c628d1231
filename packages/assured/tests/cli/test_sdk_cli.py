"""The ``assured`` command line, driven through typer's CliRunner against a mocked API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
import respx
from sdk_helpers import (
    ACCOUNT_ID,
    BASE_URL,
    document_json,
    error_body,
    file_json,
    profile_json,
    upload_json,
)
from typer.testing import CliRunner, Result

from assured.cli import INSTALL_HINT, main
from assured.cli._app import app

FILES = f"/v3/accounts/{ACCOUNT_ID}/files"
DOWNLOAD = "http://storage.test/storage/assured-files/files/f-1?X-Amz-Signature=abc"
runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, ["--base-url", BASE_URL, "--api-key", "ak_cli", *args])


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "license.pdf"
    path.write_bytes(b"%PDF-1.7 license")
    return path


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("upload", "presign", "files", "providers", "documents"):
        assert command in result.stdout


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("assured ")


def test_upload_prints_the_file_record_as_json(api: respx.MockRouter, pdf: Path) -> None:
    api.post("/api/v1/files/handle/").mock(return_value=httpx.Response(201, json=upload_json()))
    result = invoke("upload", str(pdf), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["file_url"] == "s3://assured-files/files/f-1"


def test_upload_prints_a_table_for_people(api: respx.MockRouter, pdf: Path) -> None:
    api.post("/api/v1/files/handle/").mock(return_value=httpx.Response(201, json=upload_json()))
    result = invoke("upload", str(pdf))
    assert result.exit_code == 0
    assert "s3://assured-files/files/f-1" in result.stdout


def test_upload_with_provider_associates_the_document(api: respx.MockRouter, pdf: Path) -> None:
    api.post("/api/v1/files/handle/").mock(return_value=httpx.Response(201, json=upload_json()))
    associate = api.post("/api/v1/users/provider-documents/").mock(
        return_value=httpx.Response(201, json=document_json())
    )
    result = invoke("upload", str(pdf), "--provider", "p-1", "--type", "License", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "d-1"
    body = json.loads(associate.calls.last.request.content)
    assert body["document_name"] == "license.pdf"
    assert body["document_type"] == "License"


def test_upload_with_provider_needs_a_type(api: respx.MockRouter, pdf: Path) -> None:
    result = invoke("upload", str(pdf), "--provider", "p-1")
    assert result.exit_code == 2
    assert "--type" in result.stderr
    assert not api.calls


def test_upload_of_an_unsupported_file_fails_with_the_documented_message(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    report = tmp_path / "report.docx"
    report.write_bytes(b"PK")
    result = invoke("upload", str(report))
    assert result.exit_code == 2
    assert "Unsupported file format: '.docx'. Assured only accepts PDF, PNG, and JPEG files." in (
        " ".join(result.stderr.split())
    )
    assert not api.calls


def test_api_errors_exit_non_zero_with_the_api_message(api: respx.MockRouter) -> None:
    api.get(f"{FILES}/nope").mock(
        return_value=httpx.Response(404, json=error_body("NOT_FOUND", "No such file."))
    )
    result = invoke("files", "get", "nope")
    assert result.exit_code == 1
    assert "404 NOT_FOUND: No such file." in " ".join(result.stderr.split())
    assert result.stdout == ""


def test_missing_credentials_are_explained_with_the_cli_flags() -> None:
    result = runner.invoke(app, ["--base-url", BASE_URL, "files", "ls"])
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())
    assert "pass --api-key (or --token), or set ASSURED_API_KEY (or ASSURED_TOKEN)" in message
    assert "api_key=" not in message


def test_a_missing_content_type_names_the_flag(api: respx.MockRouter, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00")
    result = invoke("files", "upload", str(path))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert (
        "Cannot tell the content type of 'data.bin' from its extension: pass --content-type."
        in (message)
    )
    assert "content_type=" not in message


def _long_listing() -> dict[str, object]:
    items = [
        file_json(
            "0190a7c4-1111-7000-8000-00000000a1b2",
            fileName="a-rather-long-file-name-for-an-invoice-of-january-2026.pdf",
            size=1_234_567,
        ),
        file_json("0190a7c4-1111-7000-8000-00000000c3d4", status="pending", size=None),
    ]
    return {"items": items, "nextCursor": None}


def test_files_ls_fits_80_columns_with_short_ids_and_human_sizes(api: respx.MockRouter) -> None:
    api.get(FILES).mock(return_value=httpx.Response(200, json=_long_listing()))
    result = runner.invoke(
        app, ["--base-url", BASE_URL, "--api-key", "k", "files", "ls"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    text = result.stdout
    assert "0000a1b2" in text and "0000c3d4" in text
    assert "0190a7c4-1111" not in text
    assert "1.2 MB" in text
    assert "2026-01-15 10:30" in text


def test_files_ls_wide_shows_full_ids_and_json_is_unchanged(api: respx.MockRouter) -> None:
    api.get(FILES).mock(return_value=httpx.Response(200, json=_long_listing()))
    result = runner.invoke(
        app,
        ["--base-url", BASE_URL, "--api-key", "k", "files", "ls", "--wide"],
        env={"COLUMNS": "200"},
    )
    assert "0190a7c4-1111-7000-8000-00000000a1b2" in result.stdout
    assert "application/pdf" in result.stdout
    result = invoke("files", "ls", "--json")
    listed = json.loads(result.stdout)
    assert listed == _long_listing()["items"]


@pytest.mark.parametrize("command", [["get"], ["rm"], ["download"]])
def test_a_short_id_is_refused_with_a_hint(api: respx.MockRouter, command: list[str]) -> None:
    result = invoke("files", *command, "0000a1b2")
    assert result.exit_code == 2
    assert "files ls --wide" in " ".join(result.stderr.split())
    assert not api.routes["token"].called


def test_an_upload_over_the_limit_is_refused_before_sending(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    api.routes["limits"].mock(return_value=httpx.Response(200, json={"maxSize": 100}))
    create = api.post(FILES)
    path = tmp_path / "huge.pdf"
    path.write_bytes(b"%PDF-" + b"x" * 200)
    result = invoke("files", "upload", str(path))
    assert result.exit_code == 2
    assert "over the server's upload limit" in " ".join(result.stderr.split())
    assert not create.called


def test_files_ls_json_and_limit(api: respx.MockRouter) -> None:
    route = api.get(FILES).mock(
        return_value=httpx.Response(
            200, json={"items": [file_json("a"), file_json("b")], "nextCursor": "more"}
        )
    )
    result = invoke("files", "ls", "--json", "--limit", "2", "--status", "available")
    assert result.exit_code == 0, result.stderr
    assert [f["id"] for f in json.loads(result.stdout)] == ["a", "b"]
    assert route.call_count == 1
    assert route.calls.last.request.url.params["status"] == "available"


def test_files_ls_table(api: respx.MockRouter) -> None:
    api.get(FILES).mock(
        return_value=httpx.Response(200, json={"items": [file_json("a")], "nextCursor": None})
    )
    result = invoke("files", "ls")
    assert result.exit_code == 0
    assert "invoice.pdf" in result.stdout


def test_files_get_and_rm(api: respx.MockRouter) -> None:
    api.get(f"{FILES}/f-1").mock(return_value=httpx.Response(200, json=file_json()))
    delete = api.delete(f"{FILES}/f-1").mock(return_value=httpx.Response(204))
    result = invoke("files", "get", "f-1", "--json")
    assert json.loads(result.stdout)["fileName"] == "invoice.pdf"
    result = invoke("files", "rm", "f-1")
    assert result.exit_code == 0
    assert "Deleted f-1" in result.stderr
    assert delete.called


def test_files_download_into_a_directory(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get(f"{FILES}/f-1/download-url").mock(
        return_value=httpx.Response(
            200, json={"url": DOWNLOAD, "expiresAt": "2026-01-15T10:35:00Z"}
        )
    )
    api.get(DOWNLOAD).mock(
        return_value=httpx.Response(
            200,
            content=b"%PDF-1.7",
            headers={"Content-Disposition": "attachment; filename*=UTF-8''invoice.pdf"},
        )
    )
    result = invoke("files", "download", "f-1", "-o", str(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    path = Path(json.loads(result.stdout)["path"])
    assert path == tmp_path / "invoice.pdf"
    assert path.read_bytes() == b"%PDF-1.7"
    # A directory that does not exist yet, written as a directory: made, and written into.
    result = invoke("files", "download", "f-1", "-o", f"{tmp_path}/downloads/", "--json")
    assert result.exit_code == 0, result.stderr
    assert Path(json.loads(result.stdout)["path"]) == tmp_path / "downloads" / "invoice.pdf"


def test_files_upload_v3(api: respx.MockRouter, pdf: Path) -> None:
    ticket = {
        "id": "f-1",
        "uploadUrl": "http://storage.test/storage/assured-files",
        "fields": {"key": "uploads/f-1"},
        "uploadExpiresAt": "2026-01-15T10:45:00Z",
        "maxSize": 100,
        "file": file_json(status="pending"),
    }
    api.post(FILES).mock(return_value=httpx.Response(201, json=ticket))
    api.post("http://storage.test/storage/assured-files").mock(return_value=httpx.Response(204))
    api.post(f"{FILES}/f-1/complete").mock(return_value=httpx.Response(200, json=file_json()))
    result = invoke("files", "upload", str(pdf), "--description", "License", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "available"


def test_presign_prints_only_the_url(api: respx.MockRouter) -> None:
    api.post("/api/v1/files/presign/").mock(
        return_value=httpx.Response(
            200, json={"url": DOWNLOAD, "expires_at": "2026-01-15T10:35:00Z"}
        )
    )
    result = invoke("presign", "s3://assured-files/files/f-1")
    assert result.exit_code == 0
    assert result.stdout == DOWNLOAD + "\n"
    result = invoke("presign", "s3://assured-files/files/f-1", "--json", "--expires-in", "60")
    assert json.loads(result.stdout)["url"] == DOWNLOAD


def test_providers_create_ls_rm(api: respx.MockRouter) -> None:
    create = api.post("/api/v1/users/provider-profiles/").mock(
        return_value=httpx.Response(201, json=profile_json())
    )
    api.get("/api/v1/users/provider-profiles/").mock(
        return_value=httpx.Response(
            200, json={"count": 1, "next": None, "previous": None, "results": [profile_json()]}
        )
    )
    api.delete("/api/v1/users/provider-profiles/p-1/").mock(return_value=httpx.Response(204))
    result = invoke(
        "providers", "create", "--first-name", "Ada", "--last-name", "Lovelace", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(create.calls.last.request.content) == {
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    result = invoke("providers", "ls", "--json")
    assert [p["id"] for p in json.loads(result.stdout)] == ["p-1"]
    result = invoke("providers", "rm", "p-1", "--json")
    assert json.loads(result.stdout) == {"deleted": ["p-1"]}


def test_documents_ls_filters_by_provider(api: respx.MockRouter) -> None:
    route = api.get("/api/v1/users/provider-documents/").mock(
        return_value=httpx.Response(
            200, json={"count": 1, "next": None, "previous": None, "results": [document_json()]}
        )
    )
    result = invoke("documents", "ls", "--provider", "p-1")
    assert result.exit_code == 0
    assert "State Medical License" in result.stdout
    assert route.calls.last.request.url.params["provider"] == "p-1"


def test_empty_lists_say_so(api: respx.MockRouter) -> None:
    api.get("/api/v1/users/provider-documents/").mock(
        return_value=httpx.Response(
            200, json={"count": 0, "next": None, "previous": None, "results": []}
        )
    )
    result = invoke("documents", "ls")
    assert result.exit_code == 0
    assert "No documents." in result.stderr


def test_without_the_cli_extra_main_explains_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "typer", None)
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 1
    assert capsys.readouterr().err == INSTALL_HINT
    assert "pip install 'assured[cli]'" in INSTALL_HINT


def test_main_runs_the_app(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("assured 0.")
