"""Process-wide parts of the edge: the open-file limit, and log lines that cannot flood stderr."""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("assured_server.edge")
# The message CPython's selector event loop reports when accept() fails for lack of
# descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). It retries by itself a second later,
# but reports once per connection waiting in the backlog: thousands of tracebacks a second.
ACCEPT_FAILED = "socket.accept() out of system resource"
_NR_OPEN = "/proc/sys/fs/nr_open"


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; return the soft limit now.

    Every client connection is a descriptor, and the usual soft default (1024) is far below
    what a server may hold; the hard limit is what the administrator allows.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else _kernel_maximum()
    if soft == resource.RLIM_INFINITY or soft >= target:
        return target if soft == resource.RLIM_INFINITY else soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)
        return soft
    log.info("open-file limit raised from %d to %d", soft, target)
    return target


def _kernel_maximum() -> int:
    try:
        with open(_NR_OPEN, encoding="ascii") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 1 << 20


class ThrottledLog:
    """Logs one line per ``interval`` seconds at most; the next line says how many were left out."""

    def __init__(
        self,
        level: int,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self._level = level
        self._interval = interval
        self._clock = clock
        self._logger = logger
        self._last = -interval
        self.suppressed = 0
        """Lines left out since the last one logged."""

    def __call__(self, message: str, *args: object) -> None:
        """Log ``message % args`` unless a line was logged less than ``interval`` ago."""
        now = self._clock()
        if now - self._last < self._interval:
            self.suppressed += 1
            return
        if self.suppressed:
            message += " (and %d more since the last such line)"
            args = (*args, self.suppressed)
        self._last = now
        self.suppressed = 0
        self._logger.log(self._level, message, *args)


class AcceptErrorLog:
    """An event loop exception handler: accept failures throttled, anything else passed on."""

    def __init__(
        self, previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None
    ):
        self._previous = previous
        self._log = ThrottledLog(logging.ERROR)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Handle one exception the loop reports."""
        if context.get("message") == ACCEPT_FAILED:
            self._log("cannot accept connections: %s", context.get("exception"))
        elif self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)

    @classmethod
    def install(cls, loop: asyncio.AbstractEventLoop) -> AcceptErrorLog:
        """Become ``loop``'s exception handler, in front of the one it had."""
        handler = cls(loop.get_exception_handler())
        loop.set_exception_handler(handler)
        return handler
