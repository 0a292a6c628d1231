"""A private clamd for tests and benchmarks: its own config, a given signature database.

Signature downloads are impossible where the tests run, so the caller names a directory of
signatures (the tests ship one with the EICAR string and a custom marker). clamd listens on a
unix socket in ``base`` and on 127.0.0.1 only, and is stopped by its PID; a restart keeps the
socket path and port, so clients find it again.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from assured_server.safety.clamd_address import ClamdAddress
from assured_testing.ports import free_port

CLAMD_START_TIMEOUT = 30.0
CLAMD_STOP_TIMEOUT = 10.0


def clamd_binary() -> str | None:
    """The clamd executable (Debian's clamav-daemon installs it in /usr/sbin), else None."""
    return shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")


@dataclass
class Clamd:
    """One clamd process listening on a unix socket in ``base`` and on 127.0.0.1:``port``."""

    base: Path
    database_dir: Path
    binary: str
    stream_max_length: str = "4M"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        """The unix socket clamd listens on."""
        return self.base / "clamd.sock"

    @property
    def unix_address(self) -> ClamdAddress:
        """The unix socket as a parsed address."""
        return ClamdAddress(path=str(self.socket_path))

    @property
    def tcp_address(self) -> ClamdAddress:
        """The TCP listener as a parsed address."""
        return ClamdAddress(host="127.0.0.1", port=self.port)

    def start(self) -> Clamd:
        """Write the config, start clamd, wait (bounded) until its unix socket answers PING."""
        self.base.mkdir(parents=True, exist_ok=True)
        config = self.base / "clamd.conf"
        config.write_text(
            "\n".join(
                [
                    "Foreground yes",
                    f"LocalSocket {self.socket_path}",
                    f"TCPSocket {self.port}",
                    "TCPAddr 127.0.0.1",
                    f"DatabaseDirectory {self.database_dir}",
                    f"StreamMaxLength {self.stream_max_length}",
                    f"LogFile {self.base / 'clamd.log'}",
                    f"TemporaryDirectory {self.base}",
                    "MaxThreads 4",
                    "",
                ]
            )
        )
        self.socket_path.unlink(missing_ok=True)
        self.proc = subprocess.Popen(  # noqa: S603 - the system's clamd, our own config
            [self.binary, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + CLAMD_START_TIMEOUT
        while not self._answers():
            if self.proc.poll() is not None:
                log = (self.base / "clamd.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"clamd exited with {self.proc.returncode}: {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"clamd did not answer within {CLAMD_START_TIMEOUT} s")
            time.sleep(0.05)
        return self

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2.0)
                sock.connect(str(self.socket_path))
                sock.sendall(b"zPING\0")
                return sock.recv(16) == b"PONG\0"
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the process by its PID (SIGTERM, then SIGKILL after the stop timeout)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=CLAMD_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=CLAMD_STOP_TIMEOUT)
        self.proc = None
