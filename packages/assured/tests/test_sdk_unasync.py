"""The generated sync modules: current, complete, and what the substitutions do."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "unasync.py"


@pytest.fixture(scope="module")
def unasync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("assured_unasync", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_sync_module_is_generated_and_current(unasync: ModuleType) -> None:
    sources = {p.relative_to(unasync.SOURCE_ROOT).as_posix() for p in unasync.sources()}
    assert sources == {
        "_base_client_async.py",
        "_client_async.py",
        "resources/files/_async.py",
        "resources/provider_profile/_async.py",
    }
    assert unasync.main(["--check"]) == 0
    for source in unasync.sources():
        text = unasync.twin(source).read_text()
        header, body = text.splitlines()[:2], "\n".join(text.splitlines()[2:])
        assert header[0].startswith("# generated from src/assured/")
        assert "do not edit" in header[1]
        # Nothing async is left in a sync module.
        for word in ("async ", "await ", "anyio", "AsyncAPIClient", "aclose"):
            assert word not in body, (source, word)


def test_substitutions(unasync: ModuleType) -> None:
    source = (
        "from assured._base_client_async import AsyncAPIClient, AsyncPaginator\n"
        "class AsyncFiles(AsyncAPIResource):\n"
        '    """Files (async)."""\n'
        "    async def get(self) -> AsyncIterator[bytes]:\n"
        "        async with self._lock:\n"
        "            await _concurrency.async_sleep(1)\n"
        "        async for chunk in response.aiter_bytes():\n"
        "            await sink.awrite(chunk)\n"
        "        await response.aclose()\n"
        "        return httpx.AsyncClient(), aiter(form), AssuredClient\n"
    )
    assert unasync.unasync_text(unasync.MARKER + source) == (
        "from assured._base_client_sync import SyncAPIClient, SyncPaginator\n"
        "class Files(SyncAPIResource):\n"
        '    """Files (sync)."""\n'
        "    def get(self) -> Iterator[bytes]:\n"
        "        with self._lock:\n"
        "            _concurrency.sleep(1)\n"
        "        for chunk in response.iter_bytes():\n"
        "            sink.write(chunk)\n"
        "        response.close()\n"
        "        return httpx.Client(), iter(form), Assured\n"
    )


def test_check_fails_on_a_hand_edited_or_orphaned_module(
    unasync: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "src" / "assured"
    shutil.copytree(unasync.SOURCE_ROOT, root)
    monkeypatch.setattr(unasync, "SOURCE_ROOT", root)
    monkeypatch.setattr(unasync, "PACKAGE_ROOT", tmp_path)
    assert unasync.main(["--check"]) == 0
    generated = root / "_client_sync.py"
    generated.write_text(generated.read_text() + "\n# a hand edit\n")
    assert unasync.main(["--check"]) == 1
    assert unasync.main([]) == 0  # regenerates it
    assert unasync.main(["--check"]) == 0
    (root / "_client_async.py").unlink()
    assert unasync.main(["--check"]) == 1
