"""``assured providers …`` and ``assured documents …``: provider profiles and their documents."""

from __future__ import annotations

from itertools import islice
from typing import Annotated

import typer

from assured.cli._context import client, handles_errors
from assured.cli._output import Column, err_console, print_json, show_list, show_object

providers = typer.Typer(
    help="Provider profiles: list, create, delete.", no_args_is_help=True, rich_markup_mode=None
)
documents = typer.Typer(
    help="Documents associated with providers.", no_args_is_help=True, rich_markup_mode=None
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
LimitOption = Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")]
PROFILE_COLUMNS = [
    Column("ID", "id"),
    Column("First name", "first_name"),
    Column("Last name", "last_name"),
    Column("NPI", "npi"),
    Column("Specialty", "specialty"),
]
DOCUMENT_COLUMNS = [
    Column("ID", "id"),
    Column("Provider", "provider"),
    Column("Name", "document_name"),
    Column("Type", "document_type"),
    Column("URL", "document_url"),
]


@providers.command("ls")
@handles_errors
def list_providers(
    ctx: typer.Context, limit: LimitOption = 50, as_json: JsonOption = False
) -> None:
    """List provider profiles, newest first."""
    profiles = client(ctx).provider_profile.list(page_size=min(limit, 200))
    show_list(islice(profiles, limit), PROFILE_COLUMNS, as_json=as_json, empty="No providers.")


@providers.command("get")
@handles_errors
def get_provider(
    ctx: typer.Context,
    profile_id: Annotated[str, typer.Argument(help="The profile id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one provider profile."""
    show_object(client(ctx).provider_profile.get(profile_id), as_json=as_json)


@providers.command("create")
@handles_errors
def create_provider(
    ctx: typer.Context,
    first_name: Annotated[str, typer.Option("--first-name", help="Given name.")],
    last_name: Annotated[str, typer.Option("--last-name", help="Family name.")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    npi: Annotated[str | None, typer.Option("--npi", help="10-digit NPI.")] = None,
    specialty: Annotated[str | None, typer.Option("--specialty")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a provider profile."""
    profile = client(ctx).provider_profile.create(
        first_name=first_name, last_name=last_name, email=email, npi=npi, specialty=specialty
    )
    show_object(profile, as_json=as_json)


@providers.command("rm")
@handles_errors
def remove_provider(
    ctx: typer.Context,
    profile_ids: Annotated[list[str], typer.Argument(help="Profile ids to delete.")],
    as_json: JsonOption = False,
) -> None:
    """Delete provider profiles and their document associations (files stay)."""
    api = client(ctx)
    for profile_id in profile_ids:
        api.provider_profile.delete(profile_id)
        if not as_json:
            err_console().print(f"Deleted {profile_id}", highlight=False)
    if as_json:
        print_json({"deleted": profile_ids})


@documents.command("ls")
@handles_errors
def list_documents(
    ctx: typer.Context,
    provider: Annotated[
        str | None, typer.Option("--provider", help="Only this provider's documents.")
    ] = None,
    limit: LimitOption = 50,
    as_json: JsonOption = False,
) -> None:
    """List provider documents, newest first."""
    docs = client(ctx).provider_profile.list_documents(provider, page_size=min(limit, 200))
    show_list(islice(docs, limit), DOCUMENT_COLUMNS, as_json=as_json, empty="No documents.")
