"""The ``assured`` application: global options and the command groups."""

from __future__ import annotations

from typing import Annotated

import typer

from assured._version import __version__
from assured.cli import _files, _providers, _upload
from assured.cli._context import Settings

app = typer.Typer(
    name="assured",
    help="Upload provider documents and manage files on an Assured server.",
    no_args_is_help=True,
    add_completion=False,
    # Errors are printed as one line by the commands; a traceback helps no user.
    pretty_exceptions_enable=False,
    # Plain help, as click writes it: typer's rich help imports markdown and pygments
    # (~150 ms) and boxes that do not fit narrow terminals. The command groups say so too.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assured {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="API base URL (or ASSURED_BASE_URL).", show_default=False),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="API key (or ASSURED_API_KEY)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token", help="A ready access token (or ASSURED_TOKEN).", show_default=False
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Request timeout in seconds.", min=0.1)
    ] = None,
    version: Annotated[  # noqa: ARG001 - handled by its eager callback
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Upload provider documents and manage files on an Assured server."""
    ctx.obj = Settings(base_url=base_url, api_key=api_key, token=token, timeout=timeout)


app.command("upload")(_upload.upload)
app.command("presign")(_upload.presign)
app.add_typer(_files.app, name="files")
app.add_typer(_providers.providers, name="providers")
app.add_typer(_providers.documents, name="documents")
