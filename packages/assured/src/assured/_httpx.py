"""``httpx`` for the SDK, imported on first use, without its command line.

Use: ``from assured._httpx import httpx``.

Two costs of a plain ``import httpx`` that a start of the SDK does not need:

- httpx takes most of ``from assured import AssuredClient`` (with ``http.client``, ``email``,
  ``urllib.request``, ``ssl`` and ``idna`` behind it). The ``httpx`` name given here is a
  stand-in that imports the real module on the first attribute read (``httpx.Timeout``,
  ``httpx.AsyncClient``…), which constructing a client does: importing the SDK is cheap, the
  first ``AssuredClient()`` or ``Assured()`` pays for httpx (``with_options`` copies, requests
  and the other modules reuse it). Type checkers see the real module.
- ``httpx/__init__.py`` imports its own command line (``httpx._main``), which imports click, rich
  and pygments whenever they are installed — as they are with ``assured[cli]`` — some 150 ms for
  a tool the SDK never runs (encode/httpx#3547, not released). httpx is imported here with
  ``httpx._main`` marked as missing, so it takes its fallback instead; the real ``httpx.main``
  stays one call away, imported when it is first called.

Code at module level in the SDK must not read an attribute of ``httpx`` (that would import it
at once); annotations are strings there (``from __future__ import annotations``), so they can
name ``httpx.Response`` freely. ``tests/test_sdk_package.py`` checks the import stays lazy.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any


def load() -> ModuleType:
    """The real ``httpx`` module, imported (without its command line) on the first call."""
    module = sys.modules.get("httpx")
    if module is not None:
        return module
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
    return httpx


class _LazyHttpx:
    """Stands for the ``httpx`` module; the first attribute read imports it."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(load(), name)

    def __repr__(self) -> str:
        return "<httpx, imported on first use by the assured SDK>"


if TYPE_CHECKING:
    import httpx as httpx
else:
    httpx = _LazyHttpx()

__all__ = ["httpx", "load"]
