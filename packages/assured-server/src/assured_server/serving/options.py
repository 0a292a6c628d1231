"""``EdgeOptions``: the edge's timeouts and connection cap, as configured (``ASSURED_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from assured_server.config import Settings


@dataclass(frozen=True)
class EdgeOptions:
    """Plain values (a worker process receives them pickled)."""

    header_timeout: float
    """Seconds for a request's head to arrive whole, from its first byte (the first request's
    from the connection's start)."""
    body_timeout: float
    """Seconds without a byte of an unfinished request body, or of progress writing a
    response the client does not read."""
    keep_alive_timeout: float
    """Seconds a connection may wait for a request: after a response, or from its start."""
    max_connections: int
    """Open connections per process (lowered to what the open-file limit allows)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeOptions:
        """The options of ``settings``."""
        return cls(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            keep_alive_timeout=settings.keep_alive_timeout,
            max_connections=settings.max_connections,
        )

    @property
    def tick(self) -> float:
        """The longest a connection's timer sleeps: no deadline can come sooner after a change."""
        return min(self.header_timeout, self.body_timeout, self.keep_alive_timeout)
