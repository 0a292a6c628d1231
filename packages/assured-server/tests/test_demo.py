"""``make run``'s demo: ``demo.env`` to source, the key alone in ``demo_api_key``, and a banner
whose curl flow and CLI flow run as printed (create, upload, check, download)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_support import DemoServer, run_script, section, serve_demo

from assured import Assured
from assured_testing import clean_env, free_port

CURL = "Try it with curl"
CLI = "The same with the assured CLI"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoServer, Path]]:
    data_dir = tmp_path_factory.mktemp("demo") / "var"
    server = serve_demo(data_dir, data_dir.parent / "logs")
    yield server, data_dir
    server.stop()


def sourced(env_file: Path) -> dict[str, str]:
    """The variables a shell has after ``source``-ing ``env_file`` (in a clean environment)."""
    out = run_script(f"source {env_file}; env", Path("/"))
    pairs = (line.split("=", 1) for line in out.splitlines() if line.startswith("ASSURED_"))
    return dict(pairs)


def test_demo_env_is_private_and_a_shell_can_source_it(demo: tuple[DemoServer, Path]) -> None:
    server, data_dir = demo
    env_file = data_dir / "demo.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    key_file = data_dir / "demo_api_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    variables = sourced(env_file)
    assert set(variables) == {"ASSURED_BASE_URL", "ASSURED_API_KEY", "ASSURED_ACCOUNT_ID"}
    assert variables["ASSURED_BASE_URL"] == server.base_url
    # The key file holds the key and nothing else: what ASSURED_API_KEY takes.
    assert key_file.read_text() == variables["ASSURED_API_KEY"] + "\n"
    with Assured(base_url=server.base_url, api_key=key_file.read_text().strip()) as client:
        assert client.account_id() == variables["ASSURED_ACCOUNT_ID"]


def test_the_banners_curl_flow_runs_as_printed(
    demo: tuple[DemoServer, Path], tmp_path: Path
) -> None:
    server, _ = demo
    out = run_script(section(server.banner(), CURL), tmp_path)
    assert out.splitlines()[0] == "204", out
    assert '"status":"available"' in out, out
    assert (tmp_path / "hello-copy.txt").read_text() == "Hello, Assured!\n"
    assert out.endswith("Hello, Assured!\n"), out


def test_the_banners_cli_flow_runs_as_printed(
    demo: tuple[DemoServer, Path], tmp_path: Path
) -> None:
    server, _ = demo
    out = run_script(section(server.banner(), CLI), tmp_path)
    assert "hello.txt" in out and "available" in out, out
    assert (tmp_path / "copies" / "hello.txt").read_text() == "Hello, Assured!\n"


def test_a_restart_keeps_the_account_and_follows_the_port(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first = serve_demo(data_dir, tmp_path / "logs")
    try:
        before = sourced(data_dir / "demo.env")
    finally:
        first.stop()
    # A key file of an earlier version ("ACCOUNT_ID KEY") is rewritten to hold the key alone.
    (data_dir / "demo_api_key").write_text(
        f"{before['ASSURED_ACCOUNT_ID']} {before['ASSURED_API_KEY']}\n"
    )
    port = free_port()
    second = serve_demo(data_dir, tmp_path / "logs", port)
    try:
        after = sourced(data_dir / "demo.env")
        assert after["ASSURED_BASE_URL"] == f"http://127.0.0.1:{port}"
        assert after["ASSURED_API_KEY"] == before["ASSURED_API_KEY"]
        assert after["ASSURED_ACCOUNT_ID"] == before["ASSURED_ACCOUNT_ID"]
        assert (data_dir / "demo_api_key").read_text() == before["ASSURED_API_KEY"] + "\n"
    finally:
        second.stop()


def test_a_shell_that_sourced_demo_env_can_still_run_the_server(
    demo: tuple[DemoServer, Path], tmp_path: Path
) -> None:
    """ASSURED_ACCOUNT_ID is the demo's, not a setting: the server ignores it, never refuses."""
    _, data_dir = demo
    script = f"source {data_dir / 'demo.env'}; assured-server migrate"
    import sys

    env = clean_env({"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    env["ASSURED_DATA_DIR"] = str(tmp_path / "other")
    assert "schema is up to date" in run_script(script, tmp_path, env)
