"""``EdgeProtocol``: uvicorn's httptools protocol, with the limits a hostile client must meet.

Why a subclass of uvicorn's protocol: with httptools, uvicorn (0.54.0, as locked) bounds
neither a header (httptools concatenates a header value, and uvicorn the URL, for as long as
bytes come; ``h11_max_incomplete_event_size`` is h11's only) nor time, apart from keep-alive
after a response: a connection that never sends a byte, a head or a body that stalls, a client
that stops reading a response, all stay open for good. It has no option for any of this, and
the parser is fed in its ``data_received``. So this class wraps a few of its methods, always
calling uvicorn's own, and adds:

- ``data_received``: while a head is expected, each chunk goes through ``HeadGuard`` first;
  past a limit the request is answered 431 ``HEADERS_TOO_LARGE`` (or 400 ``INVALID_REQUEST``
  for the request line) and the connection closed, before the parser holds the bytes.
- one timer per connection that re-arms itself: the hot path only records times (a chunk
  read, a pause in writing), and the timer compares them with the deadlines when it fires.
  It never sleeps longer than the shortest timeout, so no deadline is missed after a change.
  uvicorn's own keep-alive timer (armed after each response) is cancelled at once: idleness
  is one of these deadlines.
- the phase callbacks (``on_headers_complete``, ``on_message_complete``,
  ``on_response_complete``) note which deadline applies and tell the ``ConnectionLedger``
  whether the connection has a request in the app (then it is never evicted).
- ``send_400_response``: the contract's JSON error instead of uvicorn's text/plain one.
- ``on_headers_complete``: at most ``MAX_PIPELINED`` requests queue behind the one the app
  answers (HTTP/1.1 pipelining). uvicorn queues them all: one 256 KiB read of tiny requests
  is thousands of queued requests of a few KiB each (20 connections took 350 MiB). The next
  one aborts the parse, and the connection is closed.
- the chunk callbacks and ``on_body``: a chunked body's trailer fields are headers too, which
  httptools accumulates just the same; reads that carry nothing but trailer bytes (after the
  last chunk's header, no body data, no other chunk) are counted against ``HEADERS_BUDGET``.

The methods called for every request call uvicorn's by name, not through ``super()``: that
is a fifth of the whole overhead of this class (0.5 of 2 µs a request, measured in-process).

A refused head is answered, the write side shut (FIN), and what the client still sends is
read and dropped for up to ``LINGER_SECONDS`` or ``LINGER_BYTES`` before the close: closing
with unread bytes makes the kernel send RST, which can destroy the answer before the client
reads it (nginx's lingering close, bounded much tighter).

A head that starts inside the same chunk as the end of a pipelined request before it is
counted from the next chunk on: at most one read (256 KiB) more than the budget, then judged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from assured_server.errors import ApiError
from assured_server.serving.edge import Edge
from assured_server.serving.head_guard import HeadGuard, Verdict
from assured_server.serving.limits import HEADERS_BUDGET
from assured_server.serving.responses import TOO_MANY_CONNECTIONS, raw_error, refusal

_now = time.monotonic  # the clock of asyncio's call_at
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20
MAX_PIPELINED = 32


class _PipelineTooDeep(Exception):
    """Raised in a parser callback: httptools then stops parsing the read (a parser error)."""


class EdgeProtocol(HttpToolsProtocol):
    """See the module docstring; ``protocol_class`` binds it to one server's ``Edge``."""

    edge: ClassVar[Edge]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard = HeadGuard()
        self._head_mode = True
        """Between the end of a message (or the connection's start) and the end of a head."""
        self._head_started = False
        """A byte of the expected head has arrived."""
        self._head_origin: float | None = None
        """When the head's time started: the connection's start, or the head's first byte."""
        self._idle_since = 0.0
        self._last_read = 0.0
        self._write_paused_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._linger_until: float | None = None
        self._discarded = 0
        self._chunk_open = False
        """A chunk's header was parsed, and neither its data nor its end since."""
        self._chunk_headers = 0
        self._trailer_bytes = 0
        self._too_deep = False

    # --- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Admit the connection (evicting a stalled one at the cap) and start its timer."""
        super().connection_made(transport)
        now = _now()
        self._idle_since = self._last_read = now
        self._head_origin = now
        if not self.edge.ledger.admit(self):
            self.edge.closed("refused")
            # No lingering: at the cap, the descriptor is what must be given back.
            self.transport.write(raw_error(TOO_MANY_CONNECTIONS))
            self._close()
            return
        self._arm(now)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and its timer."""
        super().connection_lost(exc)
        self.edge.ledger.forget(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def evict(self) -> None:
        """Close this waiting connection: the cap is reached and a new one needs its place."""
        self.edge.closed("evicted")
        self._close()

    def data_received(self, data: bytes) -> None:
        """Judge a chunk of a head before the parser sees it; note the time of every read."""
        now = _now()
        self._last_read = now
        if self._linger_until is not None:  # a refused request's remaining bytes: dropped
            self._discarded += len(data)
            if self._discarded > LINGER_BYTES:
                self._close()
            return
        if self._head_mode:
            if not self._head_started:
                self._head_started = True
                if self._head_origin is None:
                    self._head_origin = now
            verdict = self._guard.feed(data)
            if verdict is not None:
                self.edge.closed(verdict.value)
                self._refuse(refusal(verdict))
                return
        elif self._chunk_open:
            chunks = self._chunk_headers
            HttpToolsProtocol.data_received(self, data)
            if self._chunk_open and self._chunk_headers == chunks:  # all of it trailer fields
                self._trailer_bytes += len(data)
                if self._trailer_bytes > HEADERS_BUDGET:  # the request is the app's: no answer
                    self.edge.closed(Verdict.HEADERS_TOO_LARGE.value)
                    self._close()
            return
        HttpToolsProtocol.data_received(self, data)

    def send_400_response(self, msg: str) -> None:  # noqa: ARG002 - uvicorn's signature
        """A request the parser refuses: the contract's JSON error, then close."""
        self.edge.closed("pipelined" if self._too_deep else "malformed")
        self._refuse(refusal(Verdict.MALFORMED))

    def pause_writing(self) -> None:
        """The client reads slower than we write: its time to read starts now."""
        super().pause_writing()
        self._write_paused_at = _now()

    def resume_writing(self) -> None:
        """The client reads again."""
        super().resume_writing()
        self._write_paused_at = None

    # --- parser and response phases ---------------------------------------------------------

    def on_headers_complete(self) -> None:
        """The head is whole: the request goes to the app, and the connection is not evicted."""
        if len(self.pipeline) >= MAX_PIPELINED:
            self._too_deep = True
            raise _PipelineTooDeep
        HttpToolsProtocol.on_headers_complete(self)
        self._head_mode = False
        self.edge.ledger.running(self)

    def on_body(self, body: bytes) -> None:
        """Body data: whatever chunk it belongs to is not the trailer."""
        self._chunk_open = False
        HttpToolsProtocol.on_body(self, body)

    def on_chunk_header(self) -> None:
        """A chunk's size line: its data, or (after the last one) trailer fields, follow."""
        self._chunk_open = True
        self._chunk_headers += 1
        self._trailer_bytes = 0

    def on_chunk_complete(self) -> None:
        """A chunk ended (the last one: after its trailer fields)."""
        self._chunk_open = False

    def on_message_complete(self) -> None:
        """The body is whole: whatever comes next is the head of another request."""
        HttpToolsProtocol.on_message_complete(self)
        self._head_mode = True
        self._head_started = False
        self._head_origin = None
        self._guard.reset()

    def on_response_complete(self) -> None:
        """The app answered: unless a pipelined request runs now, the connection waits."""
        HttpToolsProtocol.on_response_complete(self)
        # uvicorn has just armed its keep-alive timer; idleness is one of our deadlines.
        self._unset_keepalive_if_required()
        # One closing after its response may be listed too: evicting it closes it again.
        if self.cycle.response_complete:
            self._idle_since = _now()
            self.edge.ledger.waiting(self)

    # --- deadlines --------------------------------------------------------------------------

    def _deadline(self) -> tuple[float, str] | None:
        """The time this connection is closed at if nothing changes, and why."""
        options = self.edge.options
        if self._write_paused_at is not None:
            return self._write_paused_at + options.body_timeout, "write_timeout"
        cycle = self.cycle
        answering = cycle is not None and not cycle.response_complete
        if self._head_mode:
            if self._head_started and self._head_origin is not None:  # set with _head_started
                return self._head_origin + options.header_timeout, "header_timeout"
            if answering:  # the client waits for our answer
                return None
            idle = self._idle_since + options.keep_alive_timeout
            if self._head_origin is not None:  # a first request is due from the start
                head = self._head_origin + options.header_timeout
                if head < idle:
                    return head, "header_timeout"
            return idle, "idle"
        if cycle.waiting_for_100_continue:  # the client waits for the app to ask for the body
            return None
        return self._last_read + options.body_timeout, "body_timeout"

    def _arm(self, now: float) -> None:
        deadline = self._deadline()
        when = now + self.edge.options.tick
        if deadline is not None and deadline[0] < when:
            when = deadline[0]
        self._timer = self.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = _now()
        if self.transport.is_closing():  # closed by uvicorn, its write buffer still draining
            self._timer = self.loop.call_at(now + self.edge.options.body_timeout, self._abort)
            return
        if self._linger_until is not None:
            if now < self._linger_until:
                self._timer = self.loop.call_at(self._linger_until, self._on_timer)
            else:
                self._close()
            return
        if self.flow.read_paused:
            # Paused by our own flow control (the app has not read what came): the client
            # cannot send, so its body time starts again when reading resumes.
            self._last_read = now
        deadline = self._deadline()
        if deadline is not None and now >= deadline[0]:
            self.edge.closed(deadline[1])
            if self._write_paused_at is not None:
                self.transport.abort()  # close() would wait for the client to read
            else:
                self._close()
            return
        self._arm(now)

    def _close(self) -> None:
        """Close once the write buffer drained, or abort if it has not after the body timeout.

        asyncio's close() waits for the buffer without a bound: a client that never reads
        would keep the connection open for good.
        """
        self.transport.close()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(_now() + self.edge.options.body_timeout, self._abort)

    def _abort(self) -> None:
        self._timer = None
        self.transport.abort()

    def _refuse(self, error: ApiError) -> None:
        """Answer ``error`` and close (lingering); a response under way is just cut off."""
        if self.cycle is not None and not self.cycle.response_complete:
            self._close()
            return
        self.transport.write(raw_error(error))
        self.transport.write_eof()
        self._linger_until = _now() + LINGER_SECONDS
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(self._linger_until, self._on_timer)


def protocol_class(edge: Edge) -> type[EdgeProtocol]:
    """``EdgeProtocol`` bound to ``edge`` (uvicorn builds one instance per connection)."""
    return type("EdgeProtocol", (EdgeProtocol,), {"edge": edge})
