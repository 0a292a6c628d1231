"""What every command shares: the client built from the global options, and error handling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import typer
from rich.markup import escape

from assured._client import Assured
from assured.cli._output import err_console
from assured.exceptions import AssuredAPIError, AssuredError, AssuredValidationError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_API_ERROR = 1
EXIT_USAGE = 2


@dataclass
class Settings:
    """The global options; unset ones fall back to the environment, as in the SDK."""

    base_url: str | None = None
    api_key: str | None = None
    token: str | None = None
    timeout: float | None = None


def client(ctx: typer.Context) -> Assured:
    """A sync client configured from the global options (closed when the command ends)."""
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
    err_console.print(f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn SDK errors into a one-line message and a non-zero exit code, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AssuredValidationError as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
        except AssuredAPIError as exc:
            raise fail(exc.message) from exc
        except AssuredError as exc:
            raise fail(str(exc)) from exc
        except OSError as exc:
            raise fail(str(exc)) from exc

    return wrapper
