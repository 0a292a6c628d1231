"""Streaming verification: magic bytes per content type, UTF-8 for text, SHA-256, size.

The verifier is fed the bytes as they arrive, so the verdict on the first bytes comes before
anything is kept and the digest is ready the moment the last chunk lands.
"""

from __future__ import annotations

import codecs
import hashlib

# How many leading bytes the magic check may need (PDF allows its header anywhere in the first KiB).
SNIFF_BYTES = 1024
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/bmp": (b"BM",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}


class ContentMismatch(ValueError):
    """The bytes are not what the declared content type says."""


class StreamVerifier:
    """Checks one upload's bytes against its declared type while hashing them."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._head = bytearray()
        self._head_checked = False
        self._utf8 = (
            codecs.getincrementaldecoder("utf-8")("strict")
            if content_type == "text/plain"
            else None
        )

    @property
    def head_checked(self) -> bool:
        """Whether the magic bytes have been seen and accepted."""
        return self._head_checked

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Account for the next chunk; raise :class:`ContentMismatch` as soon as it is certain."""
        if not chunk:
            return
        self.size += len(chunk)
        self._sha256.update(chunk)
        if self._utf8 is not None:
            self._check_text(chunk)
        if not self._head_checked:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            self._check_head(final=False)

    def finish(self) -> str:
        """Settle the verdict on the whole stream and return the SHA-256 hex digest."""
        if not self._head_checked:
            self._check_head(final=True)
        if self._utf8 is not None:
            try:
                self._utf8.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise ContentMismatch("The file is not valid UTF-8 text.") from exc
        return self._sha256.hexdigest()

    def _check_text(self, chunk: bytes | bytearray | memoryview) -> None:
        assert self._utf8 is not None  # noqa: S101 - only called for text
        if b"\x00" in chunk:
            raise ContentMismatch("The text file contains a NUL byte.")
        try:
            self._utf8.decode(bytes(chunk), final=False)
        except UnicodeDecodeError as exc:
            raise ContentMismatch("The file is not valid UTF-8 text.") from exc

    def _check_head(self, *, final: bool) -> None:
        head = bytes(self._head)
        kind = self.content_type
        if kind == "text/plain":
            self._head_checked = True  # checked chunk by chunk instead
            return
        if kind == "application/pdf":
            if b"%PDF-" in head:
                self._head_checked = True
            elif final or len(head) >= SNIFF_BYTES:
                raise ContentMismatch("The file does not look like a PDF (no %PDF- header).")
            return
        if kind == "image/webp":
            if len(head) >= 12:
                if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
                    raise ContentMismatch("The file does not look like a WebP image.")
                self._head_checked = True
            elif final or not (b"RIFF"[: len(head)] == head[:4]):
                raise ContentMismatch("The file does not look like a WebP image.")
            return
        patterns = _MAGIC[kind]
        for magic in patterns:
            if head[: len(magic)] == magic:
                self._head_checked = True
                return
        if final or all(len(head) >= len(m) or not magic_prefix(head, m) for m in patterns):
            raise ContentMismatch(f"The bytes do not match the declared type '{kind}'.")


def magic_prefix(head: bytes, magic: bytes) -> bool:
    """Whether ``head`` (shorter than ``magic``) could still grow into ``magic``."""
    return magic.startswith(head)
