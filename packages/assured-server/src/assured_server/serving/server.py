"""Run one uvicorn server with the edge: ``serve`` calls ``run`` once, each worker once too."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from assured_server.config import Settings
from assured_server.serving.edge import Edge
from assured_server.serving.ledger import connection_cap
from assured_server.serving.options import EdgeOptions
from assured_server.serving.process import AcceptErrorLog, log, raise_open_file_limit
from assured_server.serving.protocol import protocol_class


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options besides the app, the address and the protocol (picklable)."""
    return {
        # The standard library's loop: uvloop answered connections unfairly once a process
        # had 32 or more busy ones (p99 ten times the median, the odd request waiting over a
        # second; measured with wrk against a bare ASGI app), for no more throughput here.
        "loop": "asyncio",
        # No WebSocket routes: an upgraded connection would leave the edge's limits behind.
        "ws": "none",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": int(settings.shutdown_timeout),
    }


class EdgeServer(uvicorn.Server):
    """uvicorn's server, with accept errors throttled on its event loop."""

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Install the loop's exception handler, then serve as uvicorn does."""
        AcceptErrorLog.install(asyncio.get_running_loop())
        await super().serve(sockets)


def run(
    app: Any,
    options: EdgeOptions,
    uvicorn_kwargs: dict[str, Any],
    *,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve ``app`` (an ASGI app, or an import string with ``factory=True``) until stopped."""
    open_files = raise_open_file_limit()
    cap = connection_cap(options.max_connections, open_files)
    if cap < options.max_connections:
        log.warning(
            "at most %d connections per process (ASSURED_MAX_CONNECTIONS is %d): the open-file "
            "limit is %d",
            cap,
            options.max_connections,
            open_files,
        )
    edge = Edge(options, cap)
    config = uvicorn.Config(app, http=protocol_class(edge), **uvicorn_kwargs)
    EdgeServer(config).run(sockets=sockets)
