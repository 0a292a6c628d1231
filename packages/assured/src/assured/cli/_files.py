"""``assured files …``: the v3 Files API (list, inspect, upload, download, delete)."""

from __future__ import annotations

import re
from datetime import UTC
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assured._units import human_size
from assured.cli._context import EXIT_USAGE, client, fail, handles_errors
from assured.cli._output import Column, err_console, print_json, show_list, show_object
from assured.cli._progress import transfer_progress

if TYPE_CHECKING:
    from assured.models.files import File

app = typer.Typer(
    help="Files (v3): list, inspect, upload, download, delete.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FileId = Annotated[str, typer.Argument(help="The file id (`files ls --wide` shows it whole).")]
# Ids are UUIDv7: their first digits are a timestamp, shared by files made in the same minute.
# The last 8 are random, so those tell files apart at a glance.
SHORT_ID = 8
_SHORT_ID = re.compile(rf"[0-9a-f]{{{SHORT_ID}}}")


def _short_id(file: File) -> str:
    return file.id[-SHORT_ID:]


def _size(file: File) -> str | None:
    return human_size(file.size) if file.size is not None else None


def _created(file: File) -> str:
    return file.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


# Fits 80 columns; --wide adds the type and shows full ids and times.
FILE_COLUMNS = [
    Column("ID", _short_id, folds=False),
    Column("Name", "file_name"),
    Column("Size", _size, folds=False),
    Column("Status", "status", folds=False),
    Column("Created (UTC)", _created, folds=False),
]
WIDE_FILE_COLUMNS = [
    Column("ID", "id"),
    Column("Name", "file_name"),
    Column("Type", "content_type"),
    Column("Size", _size, folds=False),
    Column("Status", "status", folds=False),
    Column("Created", "created_at"),
]


def _full_id(file_id: str) -> str:
    """Refuse the short ids ``files ls`` shows: they are for reading, not for commands."""
    if _SHORT_ID.fullmatch(file_id):
        raise fail(
            f"{file_id!r} is a short id, as `assured files ls` shows them: commands need the "
            "whole id (`assured files ls --wide`).",
            EXIT_USAGE,
        )
    return file_id


@app.command("ls")
@handles_errors
def list_files(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, available, rejected or expired.")
    ] = None,
    business_process: Annotated[
        str | None, typer.Option("--business-process", help="Only this business process.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 50,
    wide: Annotated[
        bool, typer.Option("--wide", help="Full ids and times, and the content type.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List files, newest first (short ids: the last 8 digits; --wide shows them whole)."""
    pages = client(ctx).files.list(
        status=status, business_process=business_process, limit=min(limit, 200)
    )
    columns = WIDE_FILE_COLUMNS if wide else FILE_COLUMNS
    show_list(islice(pages, limit), columns, as_json=as_json, empty="No files.")


@app.command("get")
@handles_errors
def get_file(
    ctx: typer.Context,
    file_id: FileId,
    as_json: JsonOption = False,
) -> None:
    """Show one file's metadata."""
    show_object(client(ctx).files.get(_full_id(file_id)), as_json=as_json)


@app.command("rm")
@handles_errors
def remove_file(
    ctx: typer.Context,
    file_ids: Annotated[list[str], typer.Argument(help="File ids to delete.")],
    as_json: JsonOption = False,
) -> None:
    """Delete files (their bytes and download URLs stop working)."""
    file_ids = [_full_id(file_id) for file_id in file_ids]
    api = client(ctx)
    for file_id in file_ids:
        api.files.delete(file_id)
        if not as_json:
            err_console().print(f"Deleted {file_id}", highlight=False)
    if as_json:
        print_json({"deleted": file_ids})


@app.command("download")
@handles_errors
def download_file(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A file id, or an s3:// URI.")],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="File or directory to write (default: here). A directory, existing or ending "
            "in /, receives the file under its own name (made if missing).",
        ),
    ] = ".",
    as_json: JsonOption = False,
) -> None:
    """Download a file, streamed to disk; nothing partial is left on failure."""
    file = _full_id(file)
    with transfer_progress("Downloading", enabled=not as_json) as progress:
        path = client(ctx).files.download(file, output, progress=progress)
    if as_json:
        print_json({"path": str(path)})
    else:
        typer.echo(str(path))


@app.command("upload")
@handles_errors
def upload_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    content_type: Annotated[
        str | None, typer.Option("--content-type", help="Default: from the extension.")
    ] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    business_process: Annotated[str | None, typer.Option("--business-process")] = None,
    business_process_action: Annotated[
        str | None, typer.Option("--business-process-action")
    ] = None,
    expiration: Annotated[
        str | None, typer.Option("--expiration", help="e.g. 30d, 5h, 60m (default 60d).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a file through a pre-signed form and wait until it is available."""
    with transfer_progress(f"Uploading {file.name}", enabled=not as_json) as progress:
        uploaded = client(ctx).files.upload_file(
            file,
            content_type=content_type,
            description=description,
            business_process=business_process,
            business_process_action=business_process_action,
            expiration=expiration,
            progress=progress,
        )
    show_object(uploaded, as_json=as_json)
