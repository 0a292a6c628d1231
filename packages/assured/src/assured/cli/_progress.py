"""Progress bars for uploads and downloads, drawn on standard error so stdout stays clean."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from assured.cli._output import err_console

if TYPE_CHECKING:
    from assured._streams import ProgressCallback


@contextmanager
def transfer_progress(description: str, *, enabled: bool = True) -> Iterator[ProgressCallback]:
    """A progress callback for the SDK that draws a bar (only on a terminal, when enabled)."""
    # Imported here, as the commands run: `assured --help` does without it.
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
        disable=not (enabled and err_console().is_terminal),
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update
