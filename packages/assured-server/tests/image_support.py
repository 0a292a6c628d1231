"""Image headers built by hand, for any declared size (no pixel data needed)."""

from __future__ import annotations

import struct
import zlib


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def jpeg(width: int, height: int, *, sof: int = 0xC0, app_bytes: int = 16, fill: int = 0) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    # A large APP1 (Exif-sized) segment, split into segments of at most 65535 bytes.
    apps = b""
    left = app_bytes
    while left > 0:
        size = min(left, 65533)
        apps += b"\xff\xe1" + struct.pack(">H", size + 2) + b"\x00" * size
        left -= size
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(64))
    frame = b"\xff" * fill + bytes([0xFF, sof]) + struct.pack(">HBHHB", 11, 8, height, width, 1)
    frame += b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + apps + b"\xff\xd0" + dqt + frame + b"\xff\xda" + b"\x00" * 20


def _riff(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8(width: int, height: int) -> bytes:
    return _riff(
        b"VP8 ", b"\x30\x01\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\0" * 8
    )


def webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return _riff(b"VP8L", b"\x2f" + struct.pack("<I", bits) + b"\0" * 8)


def webp_vp8x(width: int, height: int) -> bytes:
    payload = b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return _riff(b"VP8X", payload)


def bmp(width: int, height: int, *, core: bool = False) -> bytes:
    if core:
        dib = struct.pack("<IHHHH", 12, width, height, 1, 24)
    else:
        dib = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(dib), 0, 0, 14 + len(dib)) + dib


def tiff(width: int, height: int, *, order: str = "<", gap: int = 0, short: bool = False) -> bytes:
    """A TIFF whose directory comes after ``gap`` bytes of (pretend) strip data."""
    magic = b"II*\x00" if order == "<" else b"MM\x00*"
    offset = 8 + gap
    entries = [(254, 4, 1, 0)]
    if short:
        entries += [(256, 3, 1, width), (257, 3, 1, height)]
    else:
        entries += [(256, 4, 1, width), (257, 4, 1, height)]
    entries += [(258, 3, 1, 8)]
    ifd = struct.pack(order + "H", len(entries))
    for tag, kind, count, value in entries:
        if kind == 3:
            ifd += struct.pack(order + "HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack(order + "HHII", tag, kind, count, value)
    ifd += struct.pack(order + "I", 0)
    return magic + struct.pack(order + "I", offset) + b"\0" * gap + ifd


def bigtiff(width: int, height: int, *, order: str = "<") -> bytes:
    magic = b"II" if order == "<" else b"MM"
    head = magic + struct.pack(order + "HHHQ", 43, 8, 0, 16)
    entries = [(256, 16, 1, width), (257, 4, 1, height)]
    ifd = struct.pack(order + "Q", len(entries))
    for tag, kind, count, value in entries:
        if kind == 16:
            ifd += struct.pack(order + "HHQQ", tag, kind, count, value)
        else:
            ifd += struct.pack(order + "HHQI", tag, kind, count, value) + b"\0\0\0\0"
    return head + ifd + struct.pack(order + "Q", 0)
