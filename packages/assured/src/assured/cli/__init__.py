"""The ``assured`` command line: uploads, files and provider profiles from a shell.

It needs the ``cli`` extra (typer and rich); without it, ``assured`` says how to install it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

INSTALL_HINT = (
    "The assured command line needs its optional dependencies: pip install 'assured[cli]'\n"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line (the ``assured`` console script)."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError:
        sys.stderr.write(INSTALL_HINT)
        raise SystemExit(1) from None
    from assured.cli._app import app

    app(args=list(argv) if argv is not None else None, prog_name="assured")


__all__ = ["main"]
