"""Inflating FlateDecode streams within a byte budget shared by one file's streams.

A PDF can hide its dictionaries in compressed object streams, so the active-content check must
inflate them; a few KiB of deflate can inflate to GiBs (a zip bomb), so every output byte counts
against the file's budget, and the work stops where the budget ends.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

# zlib produces at most this much per call, so memory stays small whatever the ratio.
_PIECE = 256 * 1024


class InflateBudget:
    """How many inflated bytes one file may still produce; ``exhausted`` once it ran out."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.remaining = limit
        self.exhausted = False


class BoundedInflater:
    """Inflates one zlib stream fed in pieces, yielding output until the budget runs out."""

    def __init__(self, budget: InflateBudget) -> None:
        self._budget = budget
        self._inflater = zlib.decompressobj()
        # Not zlib data (encrypted, another filter, corrupt): nothing more comes out.
        self.failed = False

    @property
    def done(self) -> bool:
        """True once no more output can come: the stream ended, failed, or the budget ran out."""
        return self.failed or self._inflater.eof or self._budget.exhausted

    def feed(self, data: bytes | bytearray | memoryview) -> Iterator[bytes]:
        """The output these bytes inflate to, in pieces, within the budget."""
        pending: bytes | bytearray | memoryview = data
        while pending and not self.done:
            budget = self._budget
            # One byte over what is left: producing it proves the stream needs more.
            want = min(_PIECE, budget.remaining + 1)
            try:
                out = self._inflater.decompress(pending, want)
            except zlib.error:
                self.failed = True
                return
            pending = self._inflater.unconsumed_tail
            if len(out) > budget.remaining:
                out = out[: budget.remaining]
                budget.exhausted = True
            budget.remaining -= len(out)
            if out:
                yield out
