"""``assured-server``: serve, migrate, and the admin commands (accounts, API keys, users)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from assured_server.config import ConfigError, Settings, load_settings
from assured_server.private_files import owner_only_umask, tighten

if TYPE_CHECKING:
    from assured_server.stores.accounts import Accounts

app = typer.Typer(
    help="Assured document upload server.", no_args_is_help=True, add_completion=False
)
admin = typer.Typer(
    help="Create, list, revoke and delete accounts, API keys and users.", no_args_is_help=True
)
app.add_typer(admin, name="admin")
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print exactly one JSON object.")]


@app.callback()
def _owner_only() -> None:
    # Before any command creates a file: the data dir holds secrets, hashes and documents.
    owner_only_umask()


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _run(factory: Callable[[Settings], Coroutine[Any, Any, T]], settings: Settings) -> T:
    return asyncio.run(factory(settings))


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    typer.echo(json.dumps(payload) if as_json else text)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Server processes sharing the port (ASSURED_WORKERS; default 1)."),
    ] = None,
    demo: Annotated[
        bool, typer.Option(help="Create a demo account and key on first start.")
    ] = False,
) -> None:
    """Run the server (migrating the schema first). Defaults: SQLite and files under ./var."""
    from assured_server import logs
    from assured_server.demo import DemoError, ensure_demo
    from assured_server.serving.process import raise_open_file_limit

    overrides = {
        k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v is not None
    }
    settings = _settings(**overrides)
    logs.configure(settings.log_level)
    tighten(settings)
    raise_open_file_limit()  # before the workers start: they inherit it
    keys_cli.refuse_unusable_key_file(settings)
    _migrate_in_child(settings)
    if settings.scanner == "clamav":
        problem = _run(_scanner_problem, settings)
        if problem is not None:
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(1)
    keys_cli.refuse_bad_master_key(settings)
    if settings.storage_backend == "filesystem":
        # A killed server leaves its uploads' leases behind; with the files on this machine's
        # disk no process of that run is alive (replicas share an S3 store, never a data dir).
        _run(_release_leases, settings)
    if demo:
        try:
            typer.echo(_run(ensure_demo, settings))
        except DemoError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    if settings.workers == 1:
        from assured_server.app import create_app
        from assured_server.serving import server
        from assured_server.serving.options import EdgeOptions

        server.run(
            create_app(settings),
            EdgeOptions.from_settings(settings),
            {"host": settings.host, "port": settings.port, **server.uvicorn_options(settings)},
        )
        return
    from assured_server.workers import WorkerError, run_workers

    try:
        code = run_workers(settings)
    except WorkerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    raise typer.Exit(code)


async def _scanner_problem(settings: Settings) -> str | None:
    """Why the server must not start with this scanner, or None.

    A file longer than clamd's StreamMaxLength cannot be scanned whole; when clamd tells us its
    limit is below ASSURED_MAX_UPLOAD_BYTES we refuse to start rather than reject every such
    upload. An unreachable clamd cannot tell: the server starts, not ready (``/readyz`` 503),
    and files wait for the scanner (fail closed); a limit learnt later rejects with UNSCANNABLE.
    """
    from assured_server.safety.clamd import ClamdClient
    from assured_server.safety.clamd_address import parse_clamd_address

    client = ClamdClient(parse_clamd_address(settings.clamd_address))
    try:
        accepted = await client.accepts_stream_of(settings.max_upload_bytes)
    except (OSError, TimeoutError) as exc:
        logging.getLogger(__name__).warning(
            "clamd at %s does not answer (%s): uploads wait for it and /readyz says 503",
            client.address,
            type(exc).__name__,
        )
        return None
    if accepted:
        return None
    return (
        f"clamd at {client.address} refuses streams of ASSURED_MAX_UPLOAD_BYTES "
        f"({settings.max_upload_bytes} bytes): raise its StreamMaxLength (and MaxScanSize, "
        "MaxFileSize) to at least that, or lower ASSURED_MAX_UPLOAD_BYTES"
    )


async def _release_leases(settings: Settings) -> None:
    from assured_server.db.engine import Database
    from assured_server.stores.files import Files
    from assured_server.stores.resumable import Resumables

    # A server starting with its files on its own disk: no process of an earlier run is still
    # uploading or sweeping there, and a form whose upload was cut by a crash then works again
    # at once instead of after the lease.
    db = Database(settings.effective_database_url)
    try:
        released = await Files(db).release_all_leases()
        released += await Resumables(db).release_all_writers()
    finally:
        await db.dispose()
    if released:
        logging.getLogger(__name__).info("released %d lease(s) of an earlier run", released)


def _migrate_in_child(settings: Settings) -> None:
    """Upgrade the schema in a child process, so the server never loads Alembic (memory)."""
    import subprocess

    from assured_server.db.engine import Database
    from assured_server.db.migrate import is_current

    async def check() -> bool:
        db = Database(settings.effective_database_url)
        try:
            return await is_current(db)
        finally:
            await db.dispose()

    if asyncio.run(check()):
        return
    result = subprocess.run(  # noqa: S603 - our own entry point, same interpreter
        [sys.executable, "-m", "assured_server", "migrate"], check=False
    )
    if result.returncode != 0:
        raise typer.Exit(result.returncode)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from assured_server.db.engine import Database
    from assured_server.db.migrate import migrate as run_migrate

    async def go(settings: Settings) -> None:
        db = Database(settings.effective_database_url)
        try:
            await run_migrate(db)
        finally:
            await db.dispose()

    _run(go, _settings())
    typer.echo("schema is up to date")


async def _with_accounts(settings: Settings, work: Callable[[Accounts], Awaitable[T]]) -> T:
    from assured_server.db.engine import Database
    from assured_server.db.migrate import migrate as run_migrate
    from assured_server.stores.accounts import Accounts

    db = Database(settings.effective_database_url)
    try:
        await run_migrate(db)
        return await work(Accounts(db))
    finally:
        await db.dispose()


def _admin(work: Callable[[Accounts], Awaitable[T]]) -> T:
    from assured_server.auth.accounts import AdminError

    settings = _settings()
    try:
        return asyncio.run(_with_accounts(settings, work))
    except (AdminError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@admin.command("create-account")
def create_account(
    name: Annotated[str, typer.Option(help="Display name of the account.")], json_: JsonOpt = False
) -> None:
    """Create an account: ``{"id", "name"}``."""
    from assured_server.auth import accounts

    async def work(store: Accounts) -> dict[str, Any]:
        row = await accounts.create_account(store, name)
        return {"id": row.id, "name": row.name}

    result = _admin(work)
    _emit(json_, result, f"account {result['id']} ({result['name']})")


@admin.command("create-api-key")
def create_api_key(
    account: Annotated[str, typer.Option(help="Account id.")],
    scopes: Annotated[str | None, typer.Option(help="Space-separated scopes.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Create an API key (shown once): ``{"id", "api_key"}``."""
    from assured_server.auth import accounts

    async def work(store: Accounts) -> dict[str, Any]:
        row, value = await accounts.create_api_key(store, account, scopes)
        return {"id": row.id, "api_key": value, "account": row.account_id, "scopes": row.scopes}

    result = _admin(work)
    _emit(
        json_,
        {"id": result["id"], "api_key": result["api_key"]},
        f"API key {result['id']} (scopes: {result['scopes']}):\n{result['api_key']}\n"
        "Store it now: it is not shown again.",
    )


@admin.command("create-user")
def create_user(
    account: Annotated[str, typer.Option(help="Account id.")],
    username: Annotated[str, typer.Option(help="Login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Create a user: ``{"id", "username", "account"}``."""
    from assured_server.auth import accounts

    if not password_stdin:
        typer.echo("error: pass the password on standard input with --password-stdin", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\r\n")

    async def work(store: Accounts) -> dict[str, Any]:
        row = await accounts.create_user(store, account, username, password)
        return {"id": row.id, "username": row.username, "account": row.account_id}

    result = _admin(work)
    _emit(json_, result, f"user {result['id']} ({result['username']})")


def _time(value: datetime | None) -> str | None:
    """A time as the API writes it (RFC 3339, UTC, ``Z``), or ``None``."""
    from assured_server.clock import rfc3339

    return rfc3339(value)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )


@admin.command("list-accounts")
def list_accounts(json_: JsonOpt = False) -> None:
    """List the accounts: ``{"items": [{"id", "name", "createdAt"}…]}``."""

    async def work(store: Accounts) -> list[dict[str, Any]]:
        return [
            {"id": row.id, "name": row.name, "createdAt": _time(row.created_at)}
            for row in await store.accounts()
        ]

    items = _admin(work)
    _emit(
        json_,
        {"items": items},
        _table([[i["id"], i["createdAt"], i["name"]] for i in items], ["ID", "CREATED", "NAME"]),
    )


@admin.command("list-api-keys")
def list_api_keys(
    account: Annotated[str, typer.Option(help="Account id.")], json_: JsonOpt = False
) -> None:
    """List an account's API keys, never the keys themselves:
    ``{"items": [{"id", "scopes", "createdAt", "lastUsedAt", "revokedAt"}…]}``."""
    from assured_server.auth.accounts import AdminError

    async def work(store: Accounts) -> list[dict[str, Any]]:
        if await store.account(account) is None:
            raise AdminError(f"no account {account}")
        return [
            {
                "id": row.id,
                "scopes": row.scopes,
                "createdAt": _time(row.created_at),
                "lastUsedAt": _time(row.last_used_at),
                "revokedAt": _time(row.revoked_at),
            }
            for row in await store.api_keys_of(account)
        ]

    items = _admin(work)
    _emit(
        json_,
        {"items": items},
        _table(
            [
                [
                    i["id"],
                    i["createdAt"],
                    i["lastUsedAt"] or "-",
                    i["revokedAt"] or "-",
                    i["scopes"],
                ]
                for i in items
            ],
            ["ID", "CREATED", "LAST USED", "REVOKED", "SCOPES"],
        ),
    )


@admin.command("revoke-api-key")
def revoke_api_key(
    key: Annotated[str, typer.Option(help="API key id (as list-api-keys shows it).")],
    json_: JsonOpt = False,
) -> None:
    """Revoke an API key: no new token from it at once, its tokens refused within 60 s:
    ``{"id", "revokedAt"}``."""
    from assured_server.auth.accounts import AdminError
    from assured_server.clock import utcnow

    async def work(store: Accounts) -> dict[str, Any]:
        row = await store.revoke_api_key(key, utcnow())
        if row is None:
            raise AdminError(f"no API key {key}")
        return {"id": row.id, "revokedAt": _time(row.revoked_at)}

    result = _admin(work)
    _emit(json_, result, f"API key {result['id']} revoked at {result['revokedAt']}")


@admin.command("disable-user")
def disable_user(
    username: Annotated[str, typer.Option(help="Login name.")], json_: JsonOpt = False
) -> None:
    """Disable a user: no more logins, their tokens refused within 60 s:
    ``{"id", "username", "disabledAt"}``."""
    from assured_server.auth.accounts import AdminError
    from assured_server.clock import utcnow

    async def work(store: Accounts) -> dict[str, Any]:
        row = await store.disable_user(username, utcnow())
        if row is None:
            raise AdminError(f"no user {username!r}")
        return {"id": row.id, "username": row.username, "disabledAt": _time(row.disabled_at)}

    result = _admin(work)
    _emit(json_, result, f"user {result['id']} ({result['username']}) disabled")


@admin.command("delete-account")
def delete_account(
    account: Annotated[str, typer.Option(help="Account id.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the account and its files are gone for good.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Delete an account, its rows and its stored files; its tokens refused within 60 s:
    ``{"id", "deletedFiles"}``."""
    from assured_server.auth.accounts import AdminError

    if not yes:
        typer.echo(
            f"error: this deletes account {account} with all its files, users and keys for good;"
            " pass --yes to confirm",
            err=True,
        )
        raise typer.Exit(2)
    settings = _settings()

    async def work(store: Accounts) -> dict[str, Any]:
        if await store.account(account) is None:
            raise AdminError(f"no account {account}")
        deleted = await _delete_account(settings, store, account)
        return {"id": account, "deletedFiles": deleted}

    result = _admin(work)
    _emit(
        json_,
        result,
        f"account {result['id']} deleted ({result['deletedFiles']} stored file(s) removed)",
    )


async def _delete_account(settings: Settings, store: Accounts, account_id: str) -> int:
    """Destroy the account's encryption key, remove its objects, then its rows; how many files.

    The objects go first: if this is interrupted, the rows still list what to remove and the
    command can run again (removing an object that is already gone is no error).
    """
    from assured_server.auth.accounts import AdminError
    from assured_server.clock import utcnow
    from assured_server.files.records import landing_key, storage_key
    from assured_server.storage.base import ObjectNotFound
    from assured_server.storage.factory import make_storage

    # Crypto-shredding first: from here on no copy of the account's objects can be decrypted,
    # even if what follows is interrupted (or a backup holds them).
    await store.shred(account_id)
    storage = make_storage(settings)
    await storage.start()
    try:
        file_ids = await store.file_ids_of(account_id)
        for file_id in file_ids:
            for key in (storage_key(file_id), landing_key(file_id)):
                try:
                    await storage.delete(key)
                except (ObjectNotFound, FileNotFoundError):
                    pass
        if not await store.delete_account(account_id, utcnow()):
            raise AdminError(f"no account {account_id}")
    finally:
        await storage.close()
    return len(file_ids)


from assured_server import keys_cli  # noqa: E402 - its commands use the helpers above

app.add_typer(keys_cli.keys, name="keys")


def main() -> None:
    """Console entry point."""
    app()
