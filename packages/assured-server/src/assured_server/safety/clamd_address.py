"""Where clamd listens: ``unix:///path`` or ``tcp://host:port`` (``ASSURED_CLAMD_ADDRESS``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class ClamdAddress:
    """A parsed clamd address: a unix socket path, or a TCP host and port."""

    path: str | None = None
    host: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        if self.path is not None:
            return f"unix://{self.path}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


def parse_clamd_address(value: str) -> ClamdAddress:
    """Parse ``unix:///path`` or ``tcp://host:port``; a ValueError says why not (the settings
    name the variable and the value)."""
    parts = urlsplit(value.strip())
    if parts.scheme == "unix":
        # unix:///run/clamd.sock: no host, an absolute path (a relative one would depend on the
        # directory the server happens to start in).
        if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
            raise ValueError("a unix address must look like unix:///absolute/path")
        return ClamdAddress(path=parts.path)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None or port == 0 or parts.path not in ("", "/"):
            raise ValueError("a tcp address must look like tcp://host:port")
        return ClamdAddress(host=parts.hostname, port=port)
    raise ValueError("the address must start with unix:// or tcp://")
