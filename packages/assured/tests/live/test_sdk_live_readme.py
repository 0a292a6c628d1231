"""The SDK README's Python examples, run verbatim against a real server.

Each ```python block of ``packages/assured/README.md`` is read from the file at test time and
run as the body of a coroutine whose context is what the README's prose around it assumes: a
``client``, a ``file_id`` and a ``profile_id`` of this account, ``Path``, and the files it
names in the working directory. A changed example is run as changed; a new one must be given
its expectations here (the count is checked).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from live_data import pdf_bytes
from sdk_live_harness import LiveServer

from assured import AssuredClient

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def examples() -> list[str]:
    """The README's Python blocks, in order."""
    return BLOCK.findall(README.read_text(encoding="utf-8"))


async def run(code: str, context: dict[str, Any]) -> dict[str, Any]:
    """Run ``code`` as the body of a coroutine given ``context``; its local names after."""
    source = "async def _example(" + ", ".join(context) + "):\n"
    source += textwrap.indent(code, "    ") + "\n    return locals()\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, str(README), "exec"), namespace)  # noqa: S102 - our own README
    result: dict[str, Any] = await namespace["_example"](**context)
    return result


def test_the_readme_has_the_examples_this_test_expects() -> None:
    assert len(examples()) == 4


async def test_every_readme_example_runs_as_written(
    live_env: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("scan.pdf", "license.pdf", "invoice.pdf"):
        Path(name).write_bytes(pdf_bytes(4000))
    first, options, quick, files = examples()
    async with AssuredClient() as client:
        uploaded = await client.files.upload_file(pdf_bytes(3000), file_name="a.pdf")
        profile = await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
        context = {"client": client, "file_id": uploaded.id, "profile_id": profile.id, "Path": Path}

        got = await run(first, context)
        assert got["file"].id == uploaded.id

        got = await run(options, context)
        assert got["patient"] is not client

        got = await run(quick, context)
        assert got["document"].document_name == "State Medical License"
        assert got["url"].startswith("http")

        got = await run(files, context)
        copy = tmp_path / "copies" / "invoice.pdf"
        assert copy.read_bytes() == Path("invoice.pdf").read_bytes()
        assert got["file"].business_process == "billing"
        listed = [f.id async for f in client.files.list(status="available")]
        assert got["file"].id not in listed  # the example deleted it
