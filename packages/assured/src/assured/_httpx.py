"""``httpx``, imported without its command line: ``from assured._httpx import httpx``.

``httpx/__init__.py`` imports its own command line (``httpx._main``), which imports click, rich
and pygments whenever they are installed — as they are with ``assured[cli]`` — adding some
150 ms to every start of the SDK for a tool it never runs (encode/httpx#3547, not released).
Importing httpx here with ``httpx._main`` marked as missing takes its fallback instead; the
real ``httpx.main`` stays one call away, imported when it is first called.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules:
    # A None entry makes `from ._main import main` raise ImportError, which httpx handles.
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        del sys.modules["httpx._main"]

    def _main() -> None:
        from httpx._main import main

        main()

    # What the `httpx` console script calls; the click command itself is imported then.
    httpx.main = _main  # type: ignore[assignment]

import httpx as httpx  # noqa: E402 - after the import above, which it reuses

__all__ = ["httpx"]
