"""Image dimensions read from PNG, JPEG, WebP, BMP and TIFF headers, without decoding.

Why our own: Pillow decodes lazily but is a large native dependency, opens a whole file, and
refuses "decompression bombs" only above its own limit, with a warning first; the upload paths
need the dimensions from bytes fed in chunks, in constant memory, before anything is decoded.
Each format's reader is a generator that asks for bytes at an offset, always further on
(``yield (offset, length)``), so a header at the end of a large TIFF costs no buffering: the
driver skips the bytes in between as they pass.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator
from dataclasses import dataclass


class ImageHeaderError(ValueError):
    """The bytes are not a readable header of the declared image type (or it was cut short)."""


@dataclass(frozen=True, slots=True)
class Dimensions:
    """Width and height in pixels, as the header declares them."""

    width: int
    height: int

    @property
    def pixels(self) -> int:
        """Width times height."""
        return self.width * self.height


Reader = Generator[tuple[int, int], bytes, Dimensions]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers: baseline, extended, progressive, lossless, arithmetic (not DHT C4,
# JPG C8 or DAC CC, which share the range).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_MAX_SEGMENTS = 4096
_TIFF_MAX_ENTRIES = 4096
_TIFF_WIDTH, _TIFF_HEIGHT = 256, 257


def _dimensions(width: int, height: int) -> Dimensions:
    if width <= 0 or height <= 0:
        raise ImageHeaderError(f"the header declares {width} x {height} pixels")
    return Dimensions(width, height)


def _png() -> Reader:
    head = yield (0, 24)
    if head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ImageHeaderError("not a PNG header (signature, then IHDR)")
    width, height = struct.unpack(">II", head[16:24])
    return _dimensions(width, height)


def _jpeg() -> Reader:
    if (yield (0, 2)) != b"\xff\xd8":
        raise ImageHeaderError("not a JPEG (no start-of-image marker)")
    at = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        prefix, marker = yield (at, 2)
        at += 2
        if prefix != 0xFF:
            raise ImageHeaderError(f"no JPEG marker at offset {at - 2}")
        while marker == 0xFF:  # fill bytes before a marker
            (marker,) = yield (at, 1)
            at += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD8, 0xD9, 0xDA):
            raise ImageHeaderError("the JPEG has no frame header before its image data")
        (length,) = struct.unpack(">H", (yield (at, 2)))
        if length < 2:
            raise ImageHeaderError("a JPEG segment with a length under 2")
        if marker in _JPEG_SOF:
            frame = yield (at + 2, 5)
            height, width = struct.unpack(">HH", frame[1:5])
            # Height 0 defers to a DNL marker after the first scan: not readable from a header.
            return _dimensions(width, height)
        at += length
    raise ImageHeaderError(f"no JPEG frame header in the first {_JPEG_MAX_SEGMENTS} segments")


def _webp() -> Reader:
    head = yield (0, 30)
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise ImageHeaderError("not a WebP (RIFF … WEBP)")
    kind = head[12:16]
    if kind == b"VP8 ":
        # Lossy: a key frame's 3-byte tag, start code 9d 01 2a, then 14-bit sizes.
        if head[23:26] != b"\x9d\x01\x2a":
            raise ImageHeaderError("a WebP VP8 frame without its start code")
        width, height = struct.unpack("<HH", head[26:30])
        return _dimensions(width & 0x3FFF, height & 0x3FFF)
    if kind == b"VP8L":
        if head[20] != 0x2F:
            raise ImageHeaderError("a WebP VP8L stream without its signature")
        (bits,) = struct.unpack("<I", head[21:25])
        return _dimensions((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind == b"VP8X":
        # Extended: the canvas size, 24 bits each, minus one.
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return _dimensions(width, height)
    raise ImageHeaderError(f"an unknown WebP chunk {kind!r}")


def _bmp() -> Reader:
    head = yield (0, 26)
    if head[:2] != b"BM":
        raise ImageHeaderError("not a BMP (BM)")
    (size,) = struct.unpack("<I", head[14:18])
    if size == 12:  # BITMAPCOREHEADER (OS/2 1.x): unsigned 16-bit sizes
        width, height = struct.unpack("<HH", head[18:22])
    elif size >= 40:  # BITMAPINFOHEADER and later: a negative height means top-down rows
        width, height = struct.unpack("<ii", head[18:26])
        height = abs(height)
    else:
        raise ImageHeaderError(f"a BMP header of unknown size {size}")
    return _dimensions(width, height)


def _tiff() -> Reader:
    head = yield (0, 8)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None:
        raise ImageHeaderError("not a TIFF (II or MM)")
    (version,) = struct.unpack(order + "H", head[2:4])
    if version == 42:
        (offset,) = struct.unpack(order + "I", head[4:8])
        count_format, entry_size, value_format = "H", 12, "I"
    elif version == 43:  # BigTIFF: 8-byte offsets and counts
        (offset,) = struct.unpack(order + "Q", (yield (8, 8)))
        count_format, entry_size, value_format = "Q", 20, "Q"
    else:
        raise ImageHeaderError(f"a TIFF of unknown version {version}")
    count_size = struct.calcsize(count_format)
    (count,) = struct.unpack(order + count_format, (yield (offset, count_size)))
    if not 0 < count <= _TIFF_MAX_ENTRIES:
        raise ImageHeaderError(f"a TIFF directory of {count} entries")
    entries = yield (offset + count_size, count * entry_size)
    found: dict[int, int] = {}
    for start in range(0, len(entries), entry_size):
        tag, kind = struct.unpack(order + "HH", entries[start : start + 4])
        if tag in (_TIFF_WIDTH, _TIFF_HEIGHT):
            # tag, type, count, value: count and value are 4 bytes each (8 in BigTIFF).
            value = entries[start + 4 + (entry_size - 4) // 2 : start + entry_size]
            if kind == 3:  # SHORT, left-justified in the value field
                (found[tag],) = struct.unpack(order + "H", value[:2])
            elif kind in (4, 16):  # LONG, or BigTIFF's LONG8
                fmt = "I" if kind == 4 else value_format
                (found[tag],) = struct.unpack(order + fmt, value[: struct.calcsize(fmt)])
            else:
                raise ImageHeaderError(f"a TIFF size of field type {kind}")
    if _TIFF_WIDTH not in found or _TIFF_HEIGHT not in found:
        raise ImageHeaderError("a TIFF directory without its width and height")
    return _dimensions(found[_TIFF_WIDTH], found[_TIFF_HEIGHT])


READERS: dict[str, Callable[[], Reader]] = {
    "image/png": _png,
    "image/jpeg": _jpeg,
    "image/webp": _webp,
    "image/bmp": _bmp,
    "image/tiff": _tiff,
}


class ImageSizeReader:
    """Fed an image chunk by chunk, keeps only the bytes its format's reader asks for."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._position = 0  # offset in the file of the next byte fed
        self._wanted: tuple[int, int] | None = next(reader)
        self._collected = bytearray()
        self._error: ImageHeaderError | None = None
        self.dimensions: Dimensions | None = None

    @classmethod
    def for_content_type(cls, content_type: str) -> ImageSizeReader | None:
        """A reader for an image type we read, else None."""
        make = READERS.get(content_type)
        return None if make is None else cls(make())

    @property
    def done(self) -> bool:
        """True once the dimensions are known or the header proved unreadable."""
        return self._wanted is None

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Look at the next bytes; once the header is read, more bytes cost nothing."""
        view = memoryview(chunk)
        at = 0
        while self._wanted is not None and at < len(view):
            offset, length = self._wanted
            here = self._position + at
            if not self._collected and here < offset:
                at += min(offset - here, len(view) - at)
                continue
            take = min(length - len(self._collected), len(view) - at)
            self._collected += view[at : at + take]
            at += take
            if len(self._collected) == length:
                self._answer(bytes(self._collected), offset + length)
        self._position += len(view)

    def _answer(self, data: bytes, end: int) -> None:
        self._collected.clear()
        try:
            wanted = self._reader.send(data)
        except StopIteration as stop:
            self.dimensions = stop.value
            self._wanted = None
            return
        except ImageHeaderError as exc:
            self._error, self._wanted = exc, None
            return
        if wanted[0] < end or wanted[1] < 0:
            self._error = ImageHeaderError("the header points back into bytes already read")
            self._wanted = None
            return
        self._wanted = wanted

    def finish(self) -> Dimensions:
        """The dimensions; ImageHeaderError if the header is unreadable or the file too short."""
        if self.dimensions is not None:
            return self.dimensions
        if self._error is not None:
            raise self._error
        raise ImageHeaderError("the file ends before its image header does")


def too_many_pixels(dimensions: Dimensions, max_pixels: int) -> bool:
    """True when the header declares more pixels than allowed."""
    return dimensions.pixels > max_pixels
