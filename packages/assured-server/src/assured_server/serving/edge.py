"""``Edge``: what the connections of one server process share."""

from __future__ import annotations

import logging

from assured_server.metrics import EDGE_CLOSES
from assured_server.serving.ledger import ConnectionLedger
from assured_server.serving.options import EdgeOptions
from assured_server.serving.process import ThrottledLog


class Edge:
    """What the connections of one server process share: options, ledger, throttled logs."""

    def __init__(self, options: EdgeOptions, cap: int) -> None:
        self.options = options
        self.ledger = ConnectionLedger(cap)
        self._logs: dict[str, ThrottledLog] = {}

    def closed(self, reason: str) -> None:
        """Count (and log, at most once a second per reason) a connection closed by the edge."""
        EDGE_CLOSES.labels(reason).inc()
        if reason == "idle":  # every keep-alive connection ends so
            return
        throttled = self._logs.get(reason)
        if throttled is None:
            throttled = self._logs[reason] = ThrottledLog(logging.WARNING)
        throttled("closed a client connection: %s", reason)
