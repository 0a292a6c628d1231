"""``HeadGuard``: is a request's head still within its limits, judged while its bytes arrive?

The protocol feeds the guard every chunk it receives between the end of one message and the
end of the next head, before the HTTP parser sees it, and refuses the chunk (and the
connection) when the guard says a limit was passed. So the parser never holds more than the
budgets of ``limits`` plus nothing: a 64 MiB header costs its first ~8 KiB, not 64 MiB.

The verdict depends on the bytes only, never on how they were cut into chunks. While the head
so far is at most ``FAST_PATH_BYTES`` long no budget can be passed, so such chunks are only
counted and kept by reference (a normal request's head arrives in one small chunk and costs an
addition). Past that, the kept chunks and every further one are scanned line by line, each
search bounded by the budget left, so a chunk is never scanned further than the budget.

The head is what HTTP/1.1 (and llhttp, strictly) says it is: empty lines before the request
line are skipped, lines end with LF (llhttp insists on CRLF and refuses the rest itself), and
the first empty line after the request line ends the head. The protocol learns that the head
ended from the parser; if the guard saw the end but the parser did not, the next feed answers
``MALFORMED``.
"""

from __future__ import annotations

import enum

from assured_server.serving.limits import (
    HEADER_LINE_BUDGET,
    HEADERS_BUDGET,
    REQUEST_LINE_BUDGET,
)

FAST_PATH_BYTES = min(REQUEST_LINE_BUDGET, HEADER_LINE_BUDGET, HEADERS_BUDGET)
_LF = 10
_CR = 13


class Verdict(enum.Enum):
    """Why a head is refused."""

    URL_TOO_LONG = "url_too_long"
    """The request line passed its budget (400)."""
    HEADERS_TOO_LARGE = "headers_too_large"
    """A header line, or all of them, passed their budget (431)."""
    MALFORMED = "malformed"
    """Bytes after what the guard read as the head's end, while the parser reads on (400)."""


class HeadGuard:
    """Judges one head at a time; ``reset`` before the next one. See the module docstring."""

    __slots__ = ("_cr", "_ended", "_held", "_in_request_line", "_line", "_phase", "seen")

    def __init__(self) -> None:
        self._held: list[bytes] | None = None
        """Chunks only counted so far (the fast path); None once scanning started."""
        self.reset()

    def reset(self) -> None:
        """Forget the head judged so far: the next byte starts a new one."""
        self.seen = 0
        """Bytes of this head counted so far."""
        held = self._held
        if held is not None:  # only counted (the usual case): the scan state is untouched
            held.clear()
            return
        self._held = []
        self._in_request_line = True
        self._phase = 0
        self._line = 0
        self._cr = False
        self._ended = False

    @property
    def ended(self) -> bool:
        """Whether a scan found the end of the head (chunks on the fast path are not scanned)."""
        return self._ended

    def feed(self, chunk: bytes) -> Verdict | None:
        """Judge the next chunk: None while the head is within its limits."""
        held = self._held
        if held is not None:
            total = self.seen + len(chunk)
            if total <= FAST_PATH_BYTES:
                held.append(chunk)
                self.seen = total
                return None
            self._held = None
            self.seen = 0
            for piece in held:
                verdict = self._scan(piece)
                if verdict is not None:
                    return verdict
        return self._scan(chunk)

    def _scan(self, buf: bytes) -> Verdict | None:
        pos, size = 0, len(buf)
        while pos < size:
            if self._ended:
                return Verdict.MALFORMED
            if self._in_request_line:
                room = REQUEST_LINE_BUDGET - self._phase
            else:
                room = min(HEADER_LINE_BUDGET - self._line, HEADERS_BUDGET - self._phase)
            stop = min(size, pos + room)
            newline = buf.find(b"\n", pos, stop)
            if newline < 0:
                taken = stop - pos
                self.seen += taken
                self._phase += taken
                self._line += taken
                if taken:
                    self._cr = buf[stop - 1] == _CR
                if stop < size:  # the next byte would pass a budget
                    return self._over()
                return None
            taken = newline + 1 - pos
            self.seen += taken
            self._phase += taken
            length = self._line + taken
            before = buf[newline - 1] == _CR if newline > pos else self._cr
            blank = length == 1 or (length == 2 and before)
            self._line = 0
            self._cr = False
            pos = newline + 1
            if self._in_request_line:
                if not blank:  # the request line itself; empty lines before it are skipped
                    self._in_request_line = False
                    self._phase = 0
            elif blank:
                self._ended = True
                return None
        return None

    def _over(self) -> Verdict:
        return Verdict.URL_TOO_LONG if self._in_request_line else Verdict.HEADERS_TOO_LARGE
