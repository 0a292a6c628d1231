"""Encryption at rest through real server processes (SQLite and the embedded storage).

Uploads (v3 form, v1 handle) and downloads (whole, Range across chunk edges) behave as without
encryption while the disk holds no plaintext; start-up refuses unusable master keys; plain
files of an earlier run stay readable and ``keys encrypt-existing`` converts them; ``keys
rotate`` re-wraps without rewriting; ``admin delete-account`` shreds the account's key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import Api, make_api, sha256

from assured_server.config import load_settings
from assured_server.services import Services
from assured_server.storage.encryption import ObjectUnreadable
from assured_testing import ServerProcess

MIB = 1 << 20
SENTINEL = b"PLAINTEXT-SENTINEL-4b1d"
MAX_UPLOAD = 8 * MIB
HANDLE = "/api/v1/files/handle/"


def _key_file(directory: Path, name: str = "master.key", mode: int = 0o600) -> Path:
    path = directory / name
    path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    path.chmod(mode)
    return path


def _document(size: int) -> bytes:
    """A PDF of ``size`` bytes with the sentinel all through it (every chunk carries it)."""
    head = b"%PDF-1.7\n"
    body = (SENTINEL + bytes(range(7, 250))) * (size // (len(SENTINEL) + 243) + 1)
    return (head + body)[:size]


def _server(data_dir: Path, key: Path | None) -> ServerProcess:
    env = {"ASSURED_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    if key is not None:
        env["ASSURED_ENCRYPTION_KEY_FILE"] = str(key)
    return ServerProcess(data_dir, env_overrides=env)


def _command(server: ServerProcess, *args: str) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - our own entry point
        [str(Path(sys.executable).with_name("assured-server")), *args, "--json"],
        env=server.env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _no_sentinel_under(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            assert SENTINEL not in path.read_bytes(), f"plaintext found in {path}"


def _v3_upload(api: Api, content: bytes) -> str:
    ticket = api.created("scan.pdf", "application/pdf")
    response = httpx.post(
        ticket["uploadUrl"],
        data=ticket["fields"],
        files={"file": ("scan.pdf", content, "application/pdf")},
        timeout=60,
    )
    assert response.status_code == 204, response.text
    return str(ticket["id"])


def _v1_upload(api: Api, content: bytes) -> str:
    response = api.client.post(HANDLE, files={"file": ("scan.pdf", content, "application/pdf")})
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == sha256(content)
    return str(response.json()["id"])


def _download(api: Api, file_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
    url = api.download_url(file_id).json()["url"]
    return httpx.get(url, headers=headers or {}, timeout=60)


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server with encryption on, and an account on it."""
    data_dir = tmp_path_factory.mktemp("encrypted")
    key = _key_file(tmp_path_factory.mktemp("keys"))
    server = _server(data_dir, key).start()
    api = make_api(server, server.new_account("enc"))
    yield api
    api.client.close()
    server.stop()


def test_uploads_are_encrypted_on_disk_and_served_as_uploaded(encrypted: Api) -> None:
    big = _document(2 * MIB + 5)
    small = _document(3000)
    ids = {_v3_upload(encrypted, big): big, _v1_upload(encrypted, small): small}
    for file_id, content in ids.items():
        file = encrypted.get_file(file_id).json()
        assert file["status"] == "available"
        assert file["size"] == len(content) and file["sha256"] == sha256(content)
        whole = _download(encrypted, file_id)
        assert whole.status_code == 200 and whole.content == content
        assert whole.headers["etag"] == f'"{sha256(content)[:32]}"'
        assert int(whole.headers["content-length"]) == len(content)
    big_id = next(iter(ids))
    for first, last in [(MIB - 1, MIB), (MIB, 2 * MIB - 1), (2 * MIB - 3, 2 * MIB + 4), (0, 0)]:
        part = _download(encrypted, big_id, {"Range": f"bytes={first}-{last}"})
        assert part.status_code == 206
        assert part.content == big[first : last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{len(big)}"
    tail = _download(encrypted, big_id, {"Range": "bytes=-7"})
    assert tail.status_code == 206 and tail.content == big[-7:]
    _no_sentinel_under(encrypted.server.data_dir)


def test_a_changed_stored_chunk_fails_the_download(encrypted: Api) -> None:
    content = _document(MIB + 100)
    file_id = _v1_upload(encrypted, content)
    stored = encrypted.server.data_dir / "objects" / "assured-files" / "files" / file_id
    raw = bytearray(stored.read_bytes())
    raw[-50] ^= 0x01  # in the second (last) chunk
    stored.write_bytes(raw)
    # A range in the changed chunk: an error before any byte.
    part = _download(encrypted, file_id, {"Range": f"bytes={MIB}-{MIB + 10}"})
    assert part.status_code == 500 and b"<Code>InternalError</Code>" in part.content
    # The whole file: the first chunk may go out, then the response is cut short.
    url = encrypted.download_url(file_id).json()["url"]
    got = bytearray()
    with pytest.raises(httpx.HTTPError), httpx.stream("GET", url, timeout=60) as response:
        for piece in response.iter_bytes():
            got += piece
    assert len(got) < len(content) and content.startswith(bytes(got))
    # Unchanged bytes still read.
    assert _download(encrypted, file_id, {"Range": "bytes=0-99"}).content == content[:100]


def test_deleting_an_account_shreds_its_key_for_every_copy(encrypted: Api, tmp_path: Path) -> None:
    server = encrypted.server
    victim = make_api(server, server.new_account("victim"))
    content = _document(5000)
    file_id = _v1_upload(victim, content)
    stored = server.data_dir / "objects" / "assured-files" / "files" / file_id
    backup = tmp_path / "backup"
    shutil.copyfile(stored, backup)  # a backup taken before the deletion
    victim.client.close()
    assert _command(server, "admin", "delete-account", "--account", victim.account_id, "--yes")
    assert not stored.exists()
    shutil.copyfile(backup, stored)  # the backup restored: the server's keys cannot read it
    try:
        with pytest.raises(ObjectUnreadable, match="destroyed"):
            asyncio.run(_read_with_the_servers_keys(server, f"files/{file_id}"))
    finally:
        stored.unlink()
    # The other account's files are untouched.
    other = _v1_upload(encrypted, _document(100))
    assert _download(encrypted, other).content == _document(100)


async def _read_with_the_servers_keys(server: ServerProcess, key: str) -> bytes:
    """Read an object the way the server does: its settings, its keyring, its storage."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in server.env.items():
            if name.startswith("ASSURED_"):
                env.setenv(name, value)
        services = Services.build(load_settings())
    try:
        await services.start_encryption()
        return b"".join([chunk async for chunk in services.storage.read(key)])
    finally:
        await services.close()


def test_unusable_master_keys_refuse_the_start(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    cases = [
        (keys / "missing.key", "does not exist"),
        (_key_file(keys, "open.key", 0o644), "readable by others"),
    ]
    # (Malformed keys are refused by the same check: tests/storage/test_encryption_format.py.)
    for key, message in cases:
        with pytest.raises(RuntimeError, match=message):
            _server(tmp_path / "data", key).start()


def test_plain_files_then_encrypt_existing_then_rotation(tmp_path: Path) -> None:
    data_dir, keys = tmp_path / "data", tmp_path / "keys"
    keys.mkdir()
    old_key, new_key = _key_file(keys, "old.key"), _key_file(keys, "new.key")
    legacy = _document(3 * MIB + 11)
    plain = _server(data_dir, None).start()
    try:
        creds = plain.new_account("legacy")
        api = make_api(plain, creds)
        legacy_id = _v3_upload(api, legacy)
        api.client.close()
    finally:
        plain.stop()
    # Encryption turned on: the plain file still reads, new files are encrypted.
    server = _server(data_dir, old_key).start()
    try:
        api = make_api(server, creds)
        assert _download(api, legacy_id).content == legacy
        fresh = _document(4000)
        fresh_id = _v1_upload(api, fresh)
        assert _command(server, "keys", "encrypt-existing") == {
            "encrypted": 1,
            "already": 1,
            "skipped": 0,
        }
        assert _command(server, "keys", "encrypt-existing")["already"] == 2  # resumable
        _no_sentinel_under(data_dir)
        part = _download(api, legacy_id, {"Range": f"bytes={MIB - 2}-{2 * MIB + 1}"})
        assert part.content == legacy[MIB - 2 : 2 * MIB + 2]
        api.client.close()
    finally:
        server.stop()
    rotated = _command(server, "keys", "rotate", "--new-key-file", str(new_key))
    assert rotated["rewrapped"] == 2  # the check key and the account's
    again = _command(server, "keys", "rotate", "--new-key-file", str(new_key))
    assert again == {"rewrapped": 0, "alreadyRewrapped": 2}  # a rerun finishes, or does nothing
    with pytest.raises(RuntimeError, match="not the master key"):
        _server(data_dir, old_key).start()
    server = _server(data_dir, new_key).start()
    try:
        api = make_api(server, creds)
        assert _download(api, legacy_id).content == legacy
        assert _download(api, fresh_id).content == fresh
        api.client.close()
    finally:
        server.stop()


def test_a_resumable_upload_is_encrypted_in_its_pieces_and_as_the_file(encrypted: Api) -> None:
    content = _document(3 * MIB + 11)
    tus = {"Tus-Resumable": "1.0.0"}
    name = base64.b64encode(b"scan.pdf").decode()
    kind = base64.b64encode(b"application/pdf").decode()
    created = encrypted.client.post(
        f"/v3/accounts/{encrypted.account_id}/tus",
        headers={
            **tus,
            "Upload-Length": str(len(content)),
            "Upload-Metadata": f"filename {name},contentType {kind}",
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    file_id = location.rstrip("/").rsplit("/", 1)[1]
    offset = 0
    for part in (content[:MIB], content[MIB:]):
        answer = encrypted.client.patch(
            location,
            headers={
                **tus,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
            },
            content=part,
        )
        assert answer.status_code == 204, answer.text
        offset += len(part)
        # Between requests too: the acknowledged piece on disk is ciphertext.
        _no_sentinel_under(encrypted.server.data_dir)
    file = encrypted.get_file(file_id).json()
    assert file["status"] == "available" and file["sha256"] == sha256(content), file
    assert _download(encrypted, file_id).content == content
    ranged = _download(encrypted, file_id, {"Range": f"bytes={MIB - 3}-{MIB + 2}"})
    assert ranged.status_code == 206 and ranged.content == content[MIB - 3 : MIB + 3]
