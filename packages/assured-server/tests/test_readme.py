"""The README's "Use it" section runs as written, and the docs stand alone.

The commands run on a fresh data dir: ``make run PORT=…`` from the repository root (with
``ASSURED_DATA_DIR`` pointing at a new folder), then the curl and CLI blocks verbatim in a scratch
folder where ``var`` is that data dir and ``.venv`` the repository's. Only the example port and
the ``<file id>`` placeholder are replaced.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from demo_support import run_script, start

from assured_server.errors import ErrorCode
from assured_testing import clean_env, free_port

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
API_DOC = ROOT / "docs" / "api.md"


def use_it_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("## Use it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def test_the_use_it_commands_run_as_written(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.fail("make is needed: the README's first command is make run")
    serve_block, curl_block, cli_block = use_it_blocks()
    data_dir = tmp_path / "var"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "var").symlink_to(data_dir)
    (scratch / ".venv").symlink_to(ROOT / ".venv")

    # The line with another port: the one to copy when 8000 is taken.
    run_line = next(line for line in serve_block.splitlines() if "PORT=9000" in line)
    command = run_line.split("#", 1)[0].split()
    assert command == ["make", "run", "PORT=9000"], run_line
    port = free_port()
    env = clean_env({"ASSURED_DATA_DIR": str(data_dir)})
    server = start([*command[:-1], f"PORT={port}"], env, tmp_path / "logs", port, cwd=ROOT)
    try:
        out = run_script(curl_block, scratch)
        assert out.splitlines()[0] == "204", out
        assert '"status":"available"' in out, out
        assert out.endswith("Hello, Assured!\n"), out
        file_id = (scratch / "upload.json").read_text().split('"id":"', 1)[1].split('"', 1)[0]

        script = "source var/demo.env\n" + cli_block.replace("<file id>", file_id)
        out = run_script(script, scratch)
        assert "hello.txt" in out and "available" in out, out
        assert (scratch / "copies" / "hello.txt").read_text() == "Hello, Assured!\n"
        # What the README says the demo wrote.
        assert (data_dir / "demo_api_key").read_text().startswith("asd_")
        assert f"ASSURED_BASE_URL=http://127.0.0.1:{port}" in (data_dir / "demo.env").read_text()
    finally:
        server.stop()


def test_readme_and_docs_point_only_inside_the_repository() -> None:
    for doc in [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "packages/assured/README.md"]:
        text = doc.read_text()
        for outside in ("API.md", "../shared", "/work/", "seeds/"):
            assert outside not in text, (doc, outside)
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (doc.parent / target).exists(), (doc, target)
    readme = README.read_text()
    for linked in ("docs/api.md", "packages/assured/README.md", "docs/deploy.md"):
        assert f"]({linked})" in readme, linked


def _normalized(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")


def test_the_api_reference_covers_every_route_and_error_code(tmp_path: Path) -> None:
    from assured_server.app import create_app
    from assured_server.config import Settings, with_generated_secrets

    spec = create_app(with_generated_secrets(Settings(data_dir=tmp_path))).openapi()
    text = API_DOC.read_text()
    mentioned = set()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for code in re.findall(r"`([^`]+)`", prose):
        for word in code.split():
            if "/" in word:
                word = word.replace("…/", "/v3/accounts/{accountId}/").split("?", 1)[0]
                mentioned.add(_normalized(word))
    missing = [path for path in spec["paths"] if _normalized(path) not in mentioned]
    assert not missing, missing
    for code in ErrorCode:
        assert re.search(rf"\| `{code.value}` \| {code.status} \|", text), code
    for topic in (
        "## Authentication",
        "## Idempotency",
        "## Limits",
        "## Errors",
        "## Storage endpoints",
        "upload-limits",
    ):
        assert topic in text, topic
