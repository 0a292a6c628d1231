"""``ConnectionLedger``: the open connections of one server process, and whom to close for whom.

At the cap a new connection takes the place of the one that has waited longest without a
request in the app: an idle keep-alive connection, or one still sending its head (a slow or
stalled client). Only when every open connection has a request running is the new one refused
(the protocol answers it 503). So clients that stall cannot lock out new ones.

Connections waiting for a request are kept in a dict in the order they started waiting (dicts
keep insertion order): finding the longest-waiting one and moving one to the end are O(1).
"""

from __future__ import annotations

from typing import Protocol

FD_RESERVE = 64
"""Descriptors kept for everything but client connections: the database (PostgreSQL: up to 30
per process), the object store's connection pool, log and database files, the event loop."""
FDS_PER_CONNECTION = 2
"""A connection's socket, and one file or store connection its request may open."""


class Evictable(Protocol):
    """A connection the ledger may close to make room."""

    def evict(self) -> None:
        """Close the connection: a newer one needs its place."""


def connection_cap(configured: int, open_file_limit: int) -> int:
    """The connections one process may hold: ``configured``, unless descriptors run out first."""
    by_files = (open_file_limit - FD_RESERVE) // FDS_PER_CONNECTION
    return max(1, min(configured, by_files))


class ConnectionLedger:
    """See the module docstring; one per server process (per event loop)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: set[Evictable] = set()
        self._waiting: dict[Evictable, None] = {}

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, conn: Evictable) -> bool:
        """Count a new connection (waiting for its first request); False when it must be refused.

        At the cap, the longest-waiting connection is evicted first, and stops counting at once
        (its close completes later).
        """
        if len(self._open) >= self.cap:
            victim = next(iter(self._waiting), None)
            if victim is None:
                return False
            self.forget(victim)
            victim.evict()
        self._open.add(conn)
        self._waiting[conn] = None
        return True

    def waiting(self, conn: Evictable) -> None:
        """Open ``conn`` has no request in the app any more: evictable, after older ones."""
        self._waiting.pop(conn, None)
        self._waiting[conn] = None

    def running(self, conn: Evictable) -> None:
        """``conn`` has a request in the app: it is not evicted."""
        self._waiting.pop(conn, None)

    def forget(self, conn: Evictable) -> None:
        """``conn`` is closed."""
        self._open.discard(conn)
        self._waiting.pop(conn, None)
