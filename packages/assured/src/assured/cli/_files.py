"""``assured files …``: the v3 Files API (list, inspect, upload, download, delete)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated

import typer

from assured.cli._context import client, handles_errors
from assured.cli._output import err_console, print_json, show_list, show_object
from assured.cli._progress import transfer_progress

app = typer.Typer(help="Files (v3): list, inspect, upload, download, delete.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FILE_COLUMNS = [
    ("ID", "id"),
    ("Name", "file_name"),
    ("Type", "content_type"),
    ("Size", "size"),
    ("Status", "status"),
    ("Created", "created_at"),
]


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
    as_json: JsonOption = False,
) -> None:
    """List files, newest first."""
    pages = client(ctx).files.list(
        status=status, business_process=business_process, limit=min(limit, 200)
    )
    show_list(islice(pages, limit), FILE_COLUMNS, as_json=as_json, empty="No files.")


@app.command("get")
@handles_errors
def get_file(
    ctx: typer.Context,
    file_id: Annotated[str, typer.Argument(help="The file id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one file's metadata."""
    show_object(client(ctx).files.get(file_id), as_json=as_json)


@app.command("rm")
@handles_errors
def remove_file(
    ctx: typer.Context,
    file_ids: Annotated[list[str], typer.Argument(help="File ids to delete.")],
    as_json: JsonOption = False,
) -> None:
    """Delete files (their bytes and download URLs stop working)."""
    api = client(ctx)
    for file_id in file_ids:
        api.files.delete(file_id)
        if not as_json:
            err_console.print(f"Deleted {file_id}", highlight=False)
    if as_json:
        print_json({"deleted": file_ids})


@app.command("download")
@handles_errors
def download_file(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A file id, or an s3:// URI.")],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="File or directory to write (default: here)."),
    ] = Path(),
    as_json: JsonOption = False,
) -> None:
    """Download a file, streamed to disk; nothing partial is left on failure."""
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
