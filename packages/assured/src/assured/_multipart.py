"""A streamed ``multipart/form-data`` body: text fields, then one file part read in chunks.

httpx's own multipart encoder reads file objects with blocking calls on the event loop, cannot
report progress and does not take paths; this one frames the parts itself, so the file is read
chunk by chunk (in a worker thread for the async client), progress is reported per chunk, and
the ``Content-Length`` is known up front whenever the file's size is — S3 refuses a POST upload
sent with chunked transfer encoding.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Sequence

from assured._streams import ProgressCallback, UploadSource

_ESCAPES = {'"': "%22", "\\": "\\\\"}
_ESCAPE_RE = re.compile(r'["\\\x00-\x1f]')


def _quote(value: str) -> str:
    # The HTML5 form encoding, as browsers and httpx do it: a quote, a backslash or a line break
    # in a name must not end the header early.
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m[0], f"%{ord(m[0]):02X}"), value)


class MultipartForm:
    """``fields`` in order, then ``file_field`` with the source's bytes, as one streamed body."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        *,
        file_field: str,
        source: UploadSource,
        filename: str,
        content_type: str,
        progress: ProgressCallback | None = None,
    ) -> None:
        import secrets  # here: it imports hmac, which nothing else at SDK import needs

        self.boundary = secrets.token_hex(16)
        self.filename = filename
        """The name the file part carries."""
        self._source = source
        self._progress = progress
        dash = f"--{self.boundary}\r\n".encode()
        head = bytearray()
        for name, value in fields:
            head += dash
            head += f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
            head += value.encode() + b"\r\n"
        head += dash
        head += (
            f'Content-Disposition: form-data; name="{_quote(file_field)}"; '
            f'filename="{_quote(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'
        ).encode()
        self._head = bytes(head)
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header of the body, with its boundary."""
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int | None:
        """The body's exact length, when the file's size is known."""
        if self._source.size is None:
            return None
        return len(self._head) + self._source.size + len(self._tail)

    @property
    def source(self) -> UploadSource:
        """The file part's bytes."""
        return self._source

    @property
    def file_size(self) -> int | None:
        """The size of the file part, when known."""
        return self._source.size

    @property
    def rewindable(self) -> bool:
        """Whether the body can be sent again (a retry)."""
        return self._source.rewindable

    def headers(self) -> dict[str, str]:
        """The headers that describe this body."""
        headers = {"Content-Type": self.content_type}
        if (length := self.content_length) is not None:
            headers["Content-Length"] = str(length)
        return headers

    def _report(self, done: int) -> None:
        if self._progress is not None:
            self._progress(done, self._source.size)

    def __iter__(self) -> Iterator[bytes]:
        # Progress counts file bytes only, reported once each chunk has been taken by the
        # transport; a retry starts again from 0.
        self._report(0)
        yield self._head
        done = 0
        for chunk in self._source.chunks():
            yield chunk
            done += len(chunk)
            self._report(done)
        yield self._tail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._report(0)
        yield self._head
        done = 0
        async for chunk in self._source.achunks():
            yield chunk
            done += len(chunk)
            self._report(done)
        yield self._tail
