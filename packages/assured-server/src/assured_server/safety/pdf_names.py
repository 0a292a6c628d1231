"""PDF names (``/JavaScript``, ``/J#61vaScript``) found in bytes fed in chunks split anywhere.

Why our own: PDF libraries (pypdf, pikepdf) parse a whole file, from its end (the
cross-reference table), and want it seekable; checking uploads as they stream past needs only
the names, in order, from a tokenizer that keeps a few bytes between chunks. The work per chunk
is one C-level regex pass (``findall``) and a set: a Python loop over bytes would cost seconds
per GiB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


def name_pattern(wanted: Iterable[bytes] | None = None) -> re.Pattern[bytes]:
    """A regex for all names, or only for the ``wanted`` ones and any written with escapes.

    A checker that wants a few names gets a regex of those literals: it passes over the many
    names it does not want (``/Type``, ``/Length``…) in C, without making objects of them (3x
    faster on object-dense text). A name with a ``#`` may be any name once decoded, so every
    such name is matched, and decoded by ``names_in``.
    """
    if wanted is None:
        return _NAME
    literals = b"|".join(re.escape(name) for name in sorted(wanted, key=len, reverse=True))
    escaped = rb"[^" + _ENDS + rb"]*#[^" + _ENDS + rb"]*"
    # The lookahead makes the match a whole name: /JSON is not /JS.
    return re.compile(rb"/(" + literals + rb"|" + escaped + rb")(?![^" + _ENDS + rb"])")


def names_in(
    data: bytes | bytearray | memoryview, pattern: re.Pattern[bytes] = _NAME
) -> set[bytes]:
    """The distinct decoded names (those ``pattern`` matches) in one complete piece of text."""
    found = set(pattern.findall(data))
    # Most text has no escapes and no overlong names: then the names are what the regex found.
    if any(b"#" in raw or len(raw) > _MAX_RAW for raw in found):
        found = {decode_name(raw) for raw in found if len(raw) <= _MAX_RAW}
    return found


class NameTokenizer:
    """Finds names in bytes fed in chunks; a name split between chunks is found once, whole."""

    def __init__(self, pattern: re.Pattern[bytes] = _NAME) -> None:
        self._carry = b""
        self._pattern = pattern

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
                return names_in(memoryview(data)[:cut], self._pattern)
        self._carry = b""
        return names_in(data, self._pattern)

    def finish(self) -> set[bytes]:
        """The names still held at the end of the text (the text ended the last name)."""
        carry, self._carry = self._carry, b""
        return names_in(carry, self._pattern) if carry else set()
