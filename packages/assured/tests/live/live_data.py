"""Bodies that pass the server's magic-byte checks, for the live tests."""

from __future__ import annotations

import hashlib


def pdf_bytes(size: int = 4096) -> bytes:
    """A PDF-looking body of exactly ``size`` bytes."""
    head = b"%PDF-1.7\n"
    return head + bytes((i * 7 + 3) % 251 for i in range(size - len(head)))


def png_bytes(size: int = 2048) -> bytes:
    """A PNG-looking body of exactly ``size`` bytes."""
    head = b"\x89PNG\r\n\x1a\n"
    return head + bytes((i * 13) % 256 for i in range(size - len(head)))


def jpeg_bytes(size: int = 2048) -> bytes:
    """A JPEG-looking body of exactly ``size`` bytes."""
    head = b"\xff\xd8\xff\xe0"
    return head + bytes((i * 5) % 256 for i in range(size - len(head)))


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()
