"""Bodies that pass the server's magic-byte checks, for the live tests."""

from __future__ import annotations

import hashlib
import struct
import zlib


def pdf_bytes(size: int = 4096) -> bytes:
    """A PDF-looking body of exactly ``size`` bytes."""
    head = b"%PDF-1.7\n"
    return head + bytes((i * 7 + 3) % 251 for i in range(size - len(head)))


def png_bytes(size: int = 2048) -> bytes:
    """A PNG-looking body of exactly ``size`` bytes (a readable 16 x 16 header: the server
    reads image dimensions)."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return head + bytes((i * 13) % 256 for i in range(size - len(head)))


def jpeg_bytes(size: int = 2048) -> bytes:
    """A JPEG-looking body of exactly ``size`` bytes (a readable 16 x 16 frame header)."""
    head = b"\xff\xd8\xff\xc0" + struct.pack(">HBHHB", 11, 8, 16, 16, 1) + b"\x01\x11\x00"
    return head + bytes((i * 5) % 256 for i in range(size - len(head)))


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()
