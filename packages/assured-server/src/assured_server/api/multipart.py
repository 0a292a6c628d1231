"""Streaming, pull-style reader of multipart/form-data bodies (RFC 7578).

The body is fed to python-multipart's push parser one chunk at a time, and only when the
consumer asks for more; the events of one chunk are queued, so memory stays O(chunk size)
whatever the size of the body.
"""

import re
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from urllib.parse import unquote

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

Reason = Literal["malformed", "too_many_parts", "header_too_large", "field_too_large", "incomplete"]
"""The machine-readable reasons a `MultipartError` can carry."""

_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_VALUE_RE = re.compile(rf"[ \t]*({_TCHARS}(?:/{_TCHARS})?)[ \t]*")
# A ';' with nothing after it is tolerated: some clients end the header with one.
_PARAM_RE = re.compile(
    rf'[ \t]*;[ \t]*(?:({_TCHARS})[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|{_TCHARS})[ \t]*)?'
)
# Browsers send '\' unescaped (HTML form encoding), other clients escape it as '\\': only the
# two escapes that matter are undone, so both forms keep a lone backslash.
_ESCAPE_RE = re.compile(r'\\([\\"])')
# RFC 2046 5.1.1: also rules out CR, which python-multipart's boundary search relies on.
# RFC 9110 field values hold no control characters but HTAB; a raw LF or NUL in a filename
# is refused here rather than by every consumer.
_CTL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]")


@dataclass(frozen=True)
class MultipartLimits:
    """Bounds that keep a hostile body from costing more than a few chunks of memory."""

    max_parts: int = 16
    """Parts allowed in one body; the next one is refused as soon as it starts."""
    max_part_header_bytes: int = 8192
    """All header lines of one part together (names, values and 3 bytes of syntax each)."""
    max_field_bytes: int = 65536
    """Default bound of `Part.read_field`."""
    max_preamble_bytes: int = 1024
    """Bytes allowed before the first boundary; HTTP clients send none."""

    def __post_init__(self) -> None:
        for name in ("max_parts", "max_part_header_bytes", "max_field_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_preamble_bytes < 0:
            raise ValueError("max_preamble_bytes must not be negative")


class MultipartError(Exception):
    """A body that is not acceptable multipart/form-data, or exceeds a limit."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        """Short machine reason: malformed, too_many_parts, header_too_large, ..."""
        self.message = message
        """Human-readable explanation."""


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """Split `type; key=value; ...` into a lower-case type and unquoted parameters.

    An RFC 5987 `key*=charset'lang'pct-encoded` parameter wins over a plain `key`.
    Raises ValueError on bad syntax, a repeated parameter or an undecodable `key*`.
    """
    match = _VALUE_RE.match(value)
    if match is None:
        raise ValueError(f"bad header value {value!r}")
    raw: dict[str, str] = {}
    pos = match.end()
    while pos < len(value):
        param = _PARAM_RE.match(value, pos)
        if param is None:
            raise ValueError(f"bad parameter at {value[pos:]!r}")
        pos = param.end()
        key, val = param.group(1), param.group(2)
        if key is None:
            continue
        key = key.lower()
        # Two parsers picking different copies of a repeated name is how smuggling starts.
        if key in raw:
            raise ValueError(f"parameter {key!r} repeated")
        raw[key] = _ESCAPE_RE.sub(r"\1", val[1:-1]) if val.startswith('"') else val
    params = {k: v for k, v in raw.items() if not k.endswith("*")}
    for key, val in raw.items():
        if key.endswith("*"):
            charset, _, rest = val.partition("'")
            _, quote, encoded = rest.partition("'")
            if not quote or charset.lower() not in ("utf-8", "iso-8859-1"):
                raise ValueError(f"bad extended parameter {key!r}")
            params[key[:-1]] = unquote(encoded, encoding=charset, errors="strict")
    return match.group(1).lower(), params


class Part:
    """One part of the body: its headers, then its data as an async iterator of chunks."""

    def __init__(
        self,
        reader: "MultipartReader",
        name: str,
        filename: str | None,
        content_type: str | None,
        headers: Mapping[str, str],
    ) -> None:
        self._reader = reader
        self._ended = False
        self.name = name
        """The form field name (`name` of Content-Disposition)."""
        self.filename = filename
        """`filename*` or `filename` of Content-Disposition; None for a plain field."""
        self.content_type = content_type
        """The part's media type, lower-case and without parameters; None if not sent."""
        self.headers = headers
        """All headers of the part, by lower-case name."""

    def __repr__(self) -> str:
        return f"Part(name={self.name!r}, filename={self.filename!r})"

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Iterate over the data chunks of this part as they arrive."""
        return self

    async def __anext__(self) -> bytes:
        """Return the next data chunk of this part."""
        if self._ended:
            raise StopAsyncIteration
        event = await self._reader._next_event()
        if isinstance(event, bytes):
            return event
        # python-multipart always ends a part before it begins the next, so this is None.
        self._ended = True
        raise StopAsyncIteration

    async def read_field(self, max_bytes: int | None = None) -> bytes:
        """Read the rest of the part whole; over `max_bytes` (default: the limits') raises."""
        limit = self._reader.limits.max_field_bytes if max_bytes is None else max_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in self:
            size += len(chunk)
            if size > limit:
                raise MultipartError("field_too_large", f"part {self.name!r} is over {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


class MultipartReader:
    """Reads the parts of a multipart/form-data body from an async stream of chunks."""

    def __init__(
        self,
        stream: AsyncIterable[bytes],
        content_type_header: str,
        limits: MultipartLimits = MultipartLimits(),  # noqa: B008 - frozen, so shared safely
    ) -> None:
        try:
            media_type, params = _parse_header_value(content_type_header)
        except ValueError as exc:
            raise MultipartError("malformed", f"bad Content-Type: {exc}") from None
        if media_type != "multipart/form-data":
            raise MultipartError("malformed", "Content-Type is not multipart/form-data")
        boundary = params.get("boundary", "")
        if not _BOUNDARY_RE.fullmatch(boundary):
            raise MultipartError("malformed", "multipart boundary missing or invalid")
        self.limits = limits
        """The limits this reader enforces."""
        self._stream = aiter(stream)
        # None ends the current part; an error ends everything.
        self._events: deque[Part | bytes | None | MultipartError] = deque()
        self._error: MultipartError | None = None
        self._done = False  # the closing boundary was parsed
        self._current: Part | None = None
        self._parts = 0
        self._headers: dict[str, str] = {}
        self._header_bytes = 0
        self._field = bytearray()
        self._value = bytearray()
        # The first delimiter may follow a preamble; prefixing CRLF lets one search find it
        # whether or not there is one (python-multipart itself rejects any preamble).
        self._delimiter = b"\r\n--" + boundary.encode("ascii")
        self._preamble: bytearray | None = bytearray(b"\r\n")
        self._parser = MultipartParser(
            boundary.encode("ascii"),
            {
                "on_part_begin": self._on_part_begin,
                "on_header_begin": self._on_header_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
                "on_end": self._on_end,
            },
            # Its limits are per line and per count; ours (total bytes) is the binding one.
            max_header_count=limits.max_part_header_bytes,
            max_header_size=limits.max_part_header_bytes,
        )

    def __aiter__(self) -> AsyncIterator[Part]:
        """Iterate over the parts in order; advancing discards what is unread of the last."""
        return self

    async def __anext__(self) -> Part:
        """Skip the rest of the current part and return the next one."""
        while True:
            event = await self._next_event()
            if isinstance(event, Part):
                self._current = event
                return event
            if event is None and self._current is not None:
                self._current._ended = True

    async def drain(self) -> None:
        """Read and discard the rest of the body, unparsed, so a refused request can be answered.

        The stream is expected to enforce the caller's own size limit. A part left unfinished
        raises `incomplete` if read afterwards, never looks complete.
        """
        async for _ in self._stream:
            pass

    async def _next_event(self) -> Part | bytes | None:
        while not self._events:
            if self._error is not None:
                raise self._error
            if self._done:
                raise StopAsyncIteration
            try:
                chunk = await anext(self._stream)
            except StopAsyncIteration:
                self._fail("incomplete", "body ended before the closing boundary")
            else:
                self._feed(chunk if type(chunk) is bytes else bytes(chunk))
        event = self._events.popleft()
        if isinstance(event, MultipartError):
            # Sticky: the parser state is no longer trustworthy, so nothing more is fed.
            self._error = event
            raise event
        return event

    def _feed(self, chunk: bytes) -> None:
        try:
            if self._preamble is not None:
                chunk = self._skip_preamble(chunk, self._preamble)
            if chunk:
                self._parser.write(chunk)
        except MultipartParseError as exc:
            # The parser's own header limits have no distinct exception type.
            too_large = str(exc).startswith("Maximum header")
            reason: Reason = "header_too_large" if too_large else "malformed"
            self._fail(reason, f"malformed multipart body: {exc}")
        except MultipartError:
            pass  # raised by a callback only to stop the parser; _fail() queued it

    def _skip_preamble(self, chunk: bytes, buffer: bytearray) -> bytes:
        start = max(0, len(buffer) - len(self._delimiter) + 1)
        buffer += chunk
        at = buffer.find(self._delimiter, start)
        # Bytes before the earliest place the delimiter could still start are preamble.
        preamble = (at if at >= 0 else len(buffer) - len(self._delimiter) + 1) - 2
        if preamble > self.limits.max_preamble_bytes:
            raise self._fail("malformed", "no multipart boundary at the start of the body")
        if at < 0:
            return b""
        self._preamble = None
        return bytes(memoryview(buffer)[at + 2 :])

    def _fail(self, reason: Reason, message: str) -> MultipartError:
        # Queued behind the events parsed before it: the consumer first gets the data that
        # was sound (a part before the extra one ends normally), then the error.
        error = MultipartError(reason, message)
        self._events.append(error)
        return error

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_part_header_bytes:
            limit = self.limits.max_part_header_bytes
            raise self._fail("header_too_large", f"part headers over {limit} bytes")

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > self.limits.max_parts:
            raise self._fail("too_many_parts", f"more than {self.limits.max_parts} parts")
        self._headers = {}
        self._header_bytes = 0

    def _on_header_begin(self) -> None:
        self._count_header_bytes(3)  # ':' and CRLF, so that empty headers are not free
        self._field.clear()
        self._value.clear()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header_bytes(end - start)
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        name = self._field.decode("ascii").lower()  # the parser admits only token characters
        try:
            value = self._value.decode("utf-8").strip(" \t")
        except UnicodeDecodeError:
            raise self._fail("malformed", f"header {name!r} is not UTF-8") from None
        if _CTL_RE.search(value):
            raise self._fail("malformed", f"control character in header {name!r}")
        if name in self._headers:
            raise self._fail("malformed", f"header {name!r} repeated in a part")
        self._headers[name] = value

    def _on_headers_finished(self) -> None:
        headers = self._headers
        try:
            kind, params = _parse_header_value(headers.get("content-disposition", ""))
            content_type = None
            if "content-type" in headers:
                content_type, _ = _parse_header_value(headers["content-type"])
                if "/" not in content_type:
                    raise ValueError(f"bad Content-Type {content_type!r}")
        except ValueError as exc:
            raise self._fail("malformed", f"bad part header: {exc}") from None
        name = params.get("name")
        if kind != "form-data" or not name:
            raise self._fail("malformed", "part without a form-data name")
        part = Part(self, name, params.get("filename"), content_type, MappingProxyType(headers))
        self._events.append(part)

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        # Usually the whole chunk is data: hand it on as is instead of copying it.
        self._events.append(data if start == 0 and end == len(data) else data[start:end])

    def _on_part_end(self) -> None:
        self._events.append(None)

    def _on_end(self) -> None:
        self._done = True
