"""Active content in a PDF, noticed while its bytes stream past (no second read, no seeking).

The names that make a PDF act (``/JavaScript``, ``/Launch``…) sit in dictionaries: in the
file's text, or inside compressed object streams. The scanner tokenizes the text between
streams, inflates FlateDecode streams (within a budget) and tokenizes what comes out, and skips
image data, whose random bytes would otherwise spell a name now and then.

What it does not decode it does not see: streams under other filters (LZW, ASCII85…) and the
streams of an encrypted file. It reports such gaps as ``incomplete`` rather than guessing.
A name inside a string or a comment also counts: reading it as active errs on the safe side.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from assured_server.safety.flate import BoundedInflater, InflateBudget
from assured_server.safety.pdf_names import NameTokenizer, name_pattern, names_in

PDF_JAVASCRIPT = "pdf_javascript"
PDF_LAUNCH = "pdf_launch"
PDF_EMBEDDED_FILE = "pdf_embedded_file"
PDF_RICH_MEDIA = "pdf_rich_media"
PDF_XFA = "pdf_xfa"
PDF_AUTO_ACTION = "pdf_auto_action"
PDF_ENCRYPTED = "pdf_encrypted"

# Flags that count as active content; pdf_encrypted alone is only noted.
ACTIVE_FLAGS = frozenset(
    {PDF_JAVASCRIPT, PDF_LAUNCH, PDF_EMBEDDED_FILE, PDF_RICH_MEDIA, PDF_XFA, PDF_AUTO_ACTION}
)

_FLAG_OF_NAME = {
    b"JavaScript": PDF_JAVASCRIPT,
    b"JS": PDF_JAVASCRIPT,
    b"Launch": PDF_LAUNCH,
    b"EmbeddedFile": PDF_EMBEDDED_FILE,
    # The catalog's name tree of embedded files: there even when a file's stream omits its
    # (optional) /Type /EmbeddedFile.
    b"EmbeddedFiles": PDF_EMBEDDED_FILE,
    b"RichMedia": PDF_RICH_MEDIA,
    b"XFA": PDF_XFA,
    b"Encrypt": PDF_ENCRYPTED,
}
_AUTOMATIC = frozenset({b"AA", b"OpenAction"})
# An automatic action is flagged when the file also holds what it could run: an /OpenAction
# that only opens page 2 is everywhere and harmless.
_RUNNABLE = frozenset({PDF_JAVASCRIPT, PDF_LAUNCH})
# Names of a stream's dictionary that decide how its data is read.
_STREAM_KEYS = frozenset(
    {b"Filter", b"FlateDecode", b"Fl", b"Image", b"ObjStm", b"DecodeParms", b"Predictor"}
)
# Only these names (and names written with escapes) are made into objects at all.
_WANTED = name_pattern({*_FLAG_OF_NAME, *_AUTOMATIC, *_STREAM_KEYS})

# "stream" then CRLF or LF starts stream data (7.3.8.1). The byte before must not be a letter
# ("endstream" is not "stream"), checked by hand because it may be in the previous chunk.
_STREAM = re.compile(rb"stream\r?\n")
_KEEP = len(b"stream\r\n") - 1
_WHITE = b" \t\r\n\x00\x0c"
# White space between a dictionary's ">>" and "stream" is a line break or two, not pages.
_LOOK_BACK = 64
_ENDSTREAM = b"endstream"

DEFAULT_INFLATE_BUDGET = 64 * 1024 * 1024
_NOT_INFLATED = "a compressed stream that does not inflate"


class _Data(enum.Enum):
    SKIP = "skip"
    RAW = "raw"
    FLATE = "flate"


@dataclass(frozen=True, slots=True)
class PdfFindings:
    """What the scan noticed: contract flags, and why it could not see everything, if so."""

    flags: frozenset[str]
    incomplete: str | None = None

    @property
    def active(self) -> frozenset[str]:
        """The flags that count as active content (all but pdf_encrypted)."""
        return self.flags & ACTIVE_FLAGS


class PdfActiveContentScanner:
    """Fed a PDF chunk by chunk; ``finish`` says what active content it holds."""

    def __init__(self, inflate_budget: int = DEFAULT_INFLATE_BUDGET) -> None:
        self._budget = InflateBudget(inflate_budget)
        self._flags: set[str] = set()
        self._automatic = False
        self._incomplete: str | None = None
        self._pending = b""
        self._before = b"\n"  # the byte before _pending
        self._text = NameTokenizer(_WANTED)
        self._dictionary: set[bytes] = set()
        self._recent = b""  # the last bytes of text read, in which "obj" may begin
        self._solid = b""  # the last two bytes of text read that are not white space
        # Inside a stream: how its data is read, and the tokenizer and inflater reading it.
        self._stream: _Data | None = None
        self._stream_names: NameTokenizer | None = None
        self._inflater: BoundedInflater | None = None

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Look at the next bytes of the file."""
        data = self._pending + chunk if self._pending else bytes(chunk)
        self._pending = b""
        at = 0
        while at < len(data):
            at = self._text_part(data, at) if self._stream is None else self._stream_part(data, at)

    def finish(self) -> PdfFindings:
        """The flags of the whole file (a file cut inside a stream keeps what was seen)."""
        rest, self._pending = self._pending, b""
        if self._stream is None:
            self._names(self._text.feed(rest) | self._text.finish())
        else:
            self._stream_data(rest)
            self._end_stream()
        flags = set(self._flags)
        if self._automatic and flags & _RUNNABLE:
            flags.add(PDF_AUTO_ACTION)
        incomplete = self._incomplete
        if incomplete == _NOT_INFLATED and PDF_ENCRYPTED in flags:
            incomplete = "the file is encrypted: its compressed streams cannot be read"
        if self._budget.exhausted:
            incomplete = f"compressed streams inflate to more than {self._budget.limit} bytes"
        return PdfFindings(frozenset(flags), incomplete)

    def _names(self, names: set[bytes]) -> None:
        for name in names:
            flag = _FLAG_OF_NAME.get(name)
            if flag is not None:
                self._flags.add(flag)
            elif name in _AUTOMATIC:
                self._automatic = True

    def _text_part(self, data: bytes, at: int) -> int:
        """Tokenize text up to the next ``stream`` keyword; return where reading goes on."""
        view = memoryview(data)
        match = _STREAM.search(data, at)
        while match is not None and not self._starts_stream(data, at, match.start()):
            match = _STREAM.search(data, match.end())
        # Without a keyword, keep the last bytes: they may begin one.
        end = match.start() if match is not None else max(len(data) - _KEEP, at)
        names = self._text.feed(view[at:end])
        if match is not None:
            names |= self._text.finish()
        self._names(names)
        # The stream's dictionary is what follows the last "obj" (or "endobj"); one rfind
        # per piece of text, rather than work per object, keeps object-dense files cheap.
        # "obj" may be cut between pieces: the last two bytes of the previous piece count too.
        after = data.rfind(b"obj", at, end) + 3
        if after < 3:
            joined = self._recent + data[at : min(at + 2, end)]
            cut_object = joined.find(b"obj")
            after = at + cut_object + 3 - len(self._recent) if cut_object >= 0 else -1
        if after >= 0:
            self._dictionary = names_in(view[after:end], _WANTED) & _STREAM_KEYS
        else:
            self._dictionary |= names & _STREAM_KEYS
        if end > at:
            self._recent = (self._recent + data[max(end - 2, at) : end])[-2:]
            self._solid = self._last_solid(data, at, end)
        if match is None:
            if end > at:
                self._before = data[end - 1 : end]
            self._pending = data[end:]
            return len(data)
        self._start_stream()
        self._dictionary = set()
        self._recent = self._solid = b""
        return match.end()

    def _last_solid(self, data: bytes, at: int, end: int) -> bytes:
        """The last two bytes of text before ``end`` that are not white space (b"" if none near)."""
        low = max(at, end - _LOOK_BACK)
        text = data[low:end] if low > at else self._solid + data[at:end]
        return text.rstrip(_WHITE)[-2:]

    def _starts_stream(self, data: bytes, at: int, start: int) -> bool:
        """Whether "stream" at ``start`` is the keyword: after a dictionary, not in a word.

        Requiring ``>>`` before it keeps "stream" and a line break inside a literal string (a
        title, some text) from being taken for the start of stream data, which would make the
        scanner read the rest of the object the wrong way.
        """
        before = data[start - 1 : start] if start else self._before
        return not before.isalpha() and self._last_solid(data, at, start) == b">>"

    def _start_stream(self) -> None:
        keys = self._dictionary
        if b"Image" in keys and b"ObjStm" not in keys:
            self._stream = _Data.SKIP
        elif b"FlateDecode" in keys or b"Fl" in keys:
            self._stream = _Data.FLATE
            self._inflater = BoundedInflater(self._budget)
            if b"ObjStm" in keys and b"Predictor" in keys:
                # A predictor reorders the inflated bytes row by row: names may not survive.
                self._incomplete = self._incomplete or "an object stream with a predictor"
        elif b"Filter" in keys:
            self._stream = _Data.SKIP
            if b"ObjStm" in keys:
                self._incomplete = "an object stream under a filter that is not inflated"
        else:
            self._stream = _Data.RAW
        if self._stream is not _Data.SKIP:
            self._stream_names = NameTokenizer(_WANTED)

    def _stream_part(self, data: bytes, at: int) -> int:
        """Read stream data up to ``endstream``; return where reading goes on."""
        view = memoryview(data)
        end = data.find(_ENDSTREAM, at)
        if end < 0:
            cut = max(len(data) - len(_ENDSTREAM) + 1, at)
            self._stream_data(view[at:cut])
            self._pending = data[cut:]
            return len(data)
        self._stream_data(view[at:end])
        self._end_stream()
        self._before = b"m"
        self._solid = b"am"
        return end + len(_ENDSTREAM)

    def _stream_data(self, data: bytes | memoryview) -> None:
        if not data or self._stream_names is None:
            return
        if self._inflater is None:
            self._names(self._stream_names.feed(data))
            return
        for piece in self._inflater.feed(data):
            self._names(self._stream_names.feed(piece))

    def _end_stream(self) -> None:
        if self._inflater is not None and self._inflater.failed:
            self._incomplete = self._incomplete or _NOT_INFLATED
        if self._stream_names is not None:
            self._names(self._stream_names.finish())
        self._stream = None
        self._stream_names = None
        self._inflater = None
