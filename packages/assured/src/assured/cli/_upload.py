"""``assured upload`` (v1, optionally associated with a provider) and ``assured presign``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assured.cli._context import EXIT_USAGE, client, fail, handles_errors
from assured.cli._output import print_json, show_object, to_jsonable
from assured.cli._progress import transfer_progress

if TYPE_CHECKING:
    from pydantic import BaseModel

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@handles_errors
def upload(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="PDF, PNG or JPEG.")
    ],
    provider: Annotated[
        str | None,
        typer.Option("--provider", help="Associate the file with this provider profile id."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Document name (default: the file name).")
    ] = None,
    document_type: Annotated[
        str | None, typer.Option("--type", help="Document type, required with --provider.")
    ] = None,
    mime_type: Annotated[str | None, typer.Option("--mime-type", help="Content type.")] = None,
    expiration: Annotated[
        str | None, typer.Option("--expiration", help="Expire after e.g. 30d, 5h, 60m.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Upload a file (streamed), and associate it with a provider profile if asked."""
    if provider is not None and document_type is None:
        raise fail("--type is required with --provider.", EXIT_USAGE)
    api = client(ctx)
    result: BaseModel
    with transfer_progress(f"Uploading {file.name}", enabled=not as_json) as progress:
        if provider is None or document_type is None:
            result = api.files.upload(
                file, mime_type=mime_type, expiration=expiration, progress=progress
            )
        else:
            result = api.provider_profile.upload_and_associate_document(
                provider_id=provider,
                file_content=file,
                filename=file.name,
                document_name=name or file.name,
                document_type=document_type,
                mime_type=mime_type,
                progress=progress,
            )
    show_object(result, as_json=as_json)


@handles_errors
def presign(
    ctx: typer.Context,
    uri: Annotated[str, typer.Argument(help="The file's s3:// URI.")],
    expires_in: Annotated[
        int, typer.Option("--expires-in", min=1, max=3600, help="Seconds the URL stays valid.")
    ] = 300,
    as_json: JsonOption = False,
) -> None:
    """Print a temporary download URL for an s3:// URI."""
    presigned = client(ctx).files.presign(uri, expires_in)
    if as_json:
        print_json(to_jsonable(presigned))
    else:
        typer.echo(presigned.url)
