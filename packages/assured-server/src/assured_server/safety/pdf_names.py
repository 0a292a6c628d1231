"""PDF names (``/JavaScript``, ``/J#61vaScript``) found in bytes fed in chunks split anywhere.

Why our own: PDF libraries (pypdf, pikepdf) parse a whole file, from its end (the
cross-reference table), and want it seekable; checking uploads as they stream past needs only
the names, in order, from a tokenizer that keeps a few bytes between chunks. The work per chunk
is one C-level regex pass (``findall``) and a set: a Python loop over bytes would cost seconds
per GiB.
"""

from __future__ import annotations

import re

# ISO 32000-1, 7.2.2: white space and delimiters end a name; anything else is a regular byte.
_ENDS = rb"\x00\t\n\x0c\r ()<>\[\]{}/%"
_NAME = re.compile(rb"/([^" + _ENDS + rb"]*)")
_REGULAR_TO_END = re.compile(rb"[^" + _ENDS + rb"]*")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Annex C: a name is at most 127 bytes; written with #xx escapes, at most three times that.
MAX_NAME_BYTES = 127
_MAX_RAW = 3 * MAX_NAME_BYTES


def decode_name(raw: bytes) -> bytes:
    """A name's bytes with its ``#xx`` escapes resolved (a ``#`` not followed by hex stays)."""
    if b"#" not in raw:
        return raw
    return _ESCAPE.sub(lambda match: bytes.fromhex(match.group(1).decode("ascii")), raw)


def names_in(data: bytes | bytearray | memoryview) -> set[bytes]:
    """The distinct decoded names in one complete piece of PDF text."""
    return {decode_name(raw) for raw in set(_NAME.findall(data)) if len(raw) <= _MAX_RAW}


class NameTokenizer:
    """Finds names in bytes fed in chunks; a name split between chunks is found once, whole."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, chunk: bytes | bytearray | memoryview) -> set[bytes]:
        """The names completed by this chunk (an unfinished one waits for the next chunk)."""
        data = self._carry + chunk if self._carry else bytes(chunk)
        cut = data.rfind(b"/")
        # The last name is unfinished when only regular bytes follow its slash; a name longer
        # than any real one is let go (its remainder, with no slash, is no name).
        if cut >= 0 and len(data) - cut <= _MAX_RAW + 1:
            match = _REGULAR_TO_END.match(data, cut + 1)
            if match is not None and match.end() == len(data):
                self._carry = data[cut:]
                return names_in(memoryview(data)[:cut])
        self._carry = b""
        return names_in(data)

    def finish(self) -> set[bytes]:
        """The names still held at the end of the text (the text ended the last name)."""
        carry, self._carry = self._carry, b""
        return names_in(carry)
