"""The ceiling of a proxied upload: a bare ASGI app on our serving stack that only stores bytes.

Served exactly as ``assured-server serve`` is (uvicorn, the asyncio loop, httptools, no access
log), it writes each request body to a new file, fsyncs it and answers 201. Nothing is parsed,
hashed or recorded, so no upload path of ours can be faster on this machine and this client.

``python -m bench.ceiling_app --port N --dir D`` serves it; :class:`CeilingProcess` runs that.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assured_testing import clean_env, free_port

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
START_TIMEOUT = 30.0


def make_app(directory: Path) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI app: ``POST`` any path stores the body in ``directory`` (``GET`` is 200)."""
    counter = 0

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal counter
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        status = 200
        if scope["method"] == "POST":
            counter += 1
            path = directory / f"body-{os.getpid()}-{counter}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                more = True
                while more:
                    message = await receive()
                    os.write(fd, message.get("body", b""))
                    more = message.get("more_body", False)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.unlink(path)  # after the fsync: the bytes did reach the disk
            status = 201
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    return app


@dataclass
class CeilingProcess:
    """The ceiling app in its own process on 127.0.0.1."""

    directory: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/upload``."""
        return f"http://127.0.0.1:{self.port}/upload"

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> CeilingProcess:
        """Start and wait (bounded) until it answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "bench.ceiling_app"]
        args += ["--port", str(self.port), "--dir", str(self.directory)]
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(  # noqa: S603 - our own module, same interpreter
            args, env=clean_env({}), cwd=root, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ceiling app exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url, timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("ceiling app did not start")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a bounded wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def main(argv: list[str] | None = None) -> None:
    """Serve the ceiling app with the server's own uvicorn settings."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="bench.ceiling_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    config = uvicorn.Config(
        make_app(args.dir),
        host="127.0.0.1",
        port=args.port,
        loop="asyncio",
        http="httptools",
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
