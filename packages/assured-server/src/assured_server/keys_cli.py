"""``assured-server keys``: rotate the master key, encrypt what was stored before encryption."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from assured_server.config import ConfigError, Settings, load_settings
from assured_server.storage.encryption import EncryptionKeyError, MasterKey

keys = typer.Typer(
    help="Encryption at rest: rotate the master key, encrypt existing files.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _encrypted_settings() -> tuple[Settings, Path]:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise _fail(f"configuration error: {exc}", 2) from exc
    if settings.encryption_key_file is None:
        raise _fail("set ASSURED_ENCRYPTION_KEY_FILE to the current master key file", 2)
    return settings, settings.encryption_key_file


def refuse_unusable_key_file(settings: Settings) -> None:
    """Before anything else of ``serve``: a missing, open or malformed key file stops it."""
    if settings.encryption_key_file is None:
        return
    try:
        MasterKey.load(settings.encryption_key_file)
    except EncryptionKeyError as exc:
        raise _fail(f"ASSURED_ENCRYPTION_KEY_FILE: {exc}") from exc


def refuse_bad_master_key(settings: Settings) -> None:
    """Before ``serve`` starts (schema current): exit with a clear message unless the master
    key is the one that wraps the stored account keys."""
    if settings.encryption_key_file is None:
        return
    from assured_server.services import Services

    async def check() -> None:
        services = Services.build(settings)
        try:
            await services.start_encryption()
        finally:
            await services.close()

    try:
        asyncio.run(check())
    except EncryptionKeyError as exc:
        raise _fail(f"ASSURED_ENCRYPTION_KEY_FILE: {exc}") from exc


@keys.command("rotate")
def rotate(
    new_key_file: Annotated[Path, typer.Option(help="The new master key (32 bytes, base64).")],
    json_: JsonOpt = False,
) -> None:
    """Re-wrap every account key under a new master key (no object is rewritten).

    Safe to interrupt and run again; then start the server with the new key file.
    """
    from assured_server.db.engine import Database
    from assured_server.db.migrate import migrate
    from assured_server.files.keyring import rotate as rotate_keys
    from assured_server.stores.encryption_keys import EncryptionKeys

    settings, current = _encrypted_settings()
    try:
        old, new = MasterKey.load(current), MasterKey.load(new_key_file)
    except EncryptionKeyError as exc:
        raise _fail(str(exc)) from exc

    async def go() -> dict[str, Any]:
        db = Database(settings.effective_database_url)
        try:
            await migrate(db)
            store = EncryptionKeys(db)
            strangers = set(await store.master_ids()) - {old.key_id, new.key_id}
            if strangers:
                raise EncryptionKeyError(
                    "some account keys are wrapped by neither the current nor the new key"
                )
            done = await rotate_keys(store, old, new)
            return {"rewrapped": done.rewrapped, "alreadyRewrapped": done.already}
        finally:
            await db.dispose()

    try:
        result = asyncio.run(go())
    except EncryptionKeyError as exc:
        raise _fail(str(exc)) from exc
    text = (
        f"{result['rewrapped']} account key(s) re-wrapped ({result['alreadyRewrapped']} were"
        " already); start the server with the new key file, then destroy the old one"
    )
    typer.echo(json.dumps(result) if json_ else text)


@keys.command("encrypt-existing")
def encrypt_existing(json_: JsonOpt = False) -> None:
    """Encrypt the files stored before encryption was turned on (resumable: run it again)."""
    from assured_server.db.migrate import migrate
    from assured_server.files.encrypt_existing import encrypt_existing as convert
    from assured_server.services import Services
    from assured_server.storage.filesystem import FilesystemStorage

    settings, _ = _encrypted_settings()

    async def go() -> dict[str, Any]:
        services = Services.build(settings)
        try:
            await migrate(services.db)
            await services.start_encryption()
            await services.storage.start()
            assert isinstance(services.storage, FilesystemStorage)  # noqa: S101 - Settings
            done = await convert(services.storage, services.stores.files)
            return {"encrypted": done.encrypted, "already": done.already, "skipped": done.skipped}
        finally:
            await services.close()

    try:
        result = asyncio.run(go())
    except EncryptionKeyError as exc:
        raise _fail(str(exc)) from exc
    text = (
        f"{result['encrypted']} file(s) encrypted, {result['already']} already were,"
        f" {result['skipped']} skipped"
    )
    typer.echo(json.dumps(result) if json_ else text)
