"""``serve --demo`` as ``make run`` starts it, and the banner's shell flows (for the demo tests)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from assured_testing import STOP_TIMEOUT, clean_env, free_port, wait_until_healthy


@dataclass
class DemoServer:
    """A running ``assured-server serve --demo`` (or any command that ends up serving)."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    base_url: str

    def banner(self) -> str:
        return self.out.read_text()

    def stop(self) -> None:
        """SIGTERM to the process group (``make`` and the server it started), bounded waits."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(STOP_TIMEOUT)


def start(
    command: list[str], env: dict[str, str], logs: Path, port: int, cwd: Path | None = None
) -> DemoServer:
    """Start ``command`` in its own process group; wait (bounded) until /healthz answers."""
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"out-{port}.txt", logs / f"err-{port}.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(  # noqa: S603
            command, env=env, stdout=stdout, stderr=stderr, cwd=cwd, start_new_session=True
        )
    server = DemoServer(proc, out, err, f"http://127.0.0.1:{port}")
    try:
        wait_until_healthy(proc, server.base_url, lambda: err.read_text()[-3000:])
    except RuntimeError:
        server.stop()
        raise
    return server


def serve_demo(data_dir: Path, logs: Path, port: int | None = None) -> DemoServer:
    """``assured-server serve --demo`` on a free port with ``data_dir``."""
    import sys

    port = port or free_port()
    server_bin = str(Path(sys.executable).with_name("assured-server"))
    env = clean_env({"ASSURED_DATA_DIR": str(data_dir), "ASSURED_PORT": str(port)})
    return start([server_bin, "serve", "--demo"], env, logs, port)


def section(text: str, heading: str) -> str:
    """The indented command lines under ``heading`` in a banner, as one script."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith(heading):
            inside = True
            continue
        if inside:
            if not line.startswith("  "):
                break
            lines.append(line[2:])
    assert lines, f"no commands under {heading!r} in:\n{text}"
    return "\n".join(lines) + "\n"


def run_script(script: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``script`` with bash -euo pipefail in ``cwd`` (bounded); its standard output."""
    result = subprocess.run(  # noqa: S603
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
        cwd=cwd,
        env=env if env is not None else clean_env({}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (script, result.stdout, result.stderr)
    return result.stdout
