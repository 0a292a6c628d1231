"""What every command shares: the client built from the global options, and error handling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from assured._constants import ENV_API_KEY, ENV_TOKEN
from assured.cli._output import err_console
from assured.exceptions import (
    AssuredAPIError,
    AssuredError,
    AssuredValidationError,
    MissingArgumentError,
    MissingCredentialsError,
)

if TYPE_CHECKING:
    from assured._client_sync import Assured

P = ParamSpec("P")
R = TypeVar("R")

EXIT_API_ERROR = 1
EXIT_USAGE = 2
NO_CREDENTIALS = (
    f"No credentials: pass --api-key (or --token), or set {ENV_API_KEY} (or {ENV_TOKEN})."
)
FLAGS = {"content_type": "--content-type", "mime_type": "--mime-type"}
"""The command-line flag of each SDK argument an error can ask for."""


@dataclass
class Settings:
    """The global options; unset ones fall back to the environment, as in the SDK."""

    base_url: str | None = None
    api_key: str | None = None
    token: str | None = None
    timeout: float | None = None


def client(ctx: typer.Context) -> Assured:
    """A sync client configured from the global options (closed when the command ends)."""
    # Imported here: `assured --help` and usage errors need no HTTP client (httpx: ~100 ms).
    from assured._client_sync import Assured

    settings = ctx.find_object(Settings) or Settings()
    instance = Assured(
        base_url=settings.base_url,
        api_key=settings.api_key,
        token=settings.token,
        timeout=settings.timeout,
    )
    ctx.call_on_close(instance.close)
    return instance


def fail(message: str, code: int = EXIT_API_ERROR) -> typer.Exit:
    """Print ``message`` on standard error and return the exit to raise."""
    from rich.markup import escape

    err_console().print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn SDK errors into a one-line message and a non-zero exit code, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except MissingCredentialsError as exc:
            raise fail(NO_CREDENTIALS) from exc
        except MissingArgumentError as exc:
            # The SDK names its keyword argument; a shell user needs the flag.
            flag = FLAGS.get(exc.argument)
            raise fail(f"{exc.problem}: pass {flag}." if flag else str(exc), EXIT_USAGE) from exc
        except AssuredValidationError as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
        except AssuredAPIError as exc:
            raise fail(exc.message) from exc
        except AssuredError as exc:
            raise fail(str(exc)) from exc
        except OSError as exc:
            raise fail(str(exc)) from exc

    return wrapper
