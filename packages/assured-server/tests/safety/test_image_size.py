"""Image dimensions from headers built by hand, fed whole, byte by byte and cut anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from image_support import bigtiff, bmp, jpeg, png, tiff, webp_vp8, webp_vp8l, webp_vp8x

from assured_server.safety.image_size import (
    Dimensions,
    ImageHeaderError,
    ImageSizeReader,
    too_many_pixels,
)


def read(content_type: str, data: bytes, chunk: int | None = None) -> Dimensions:
    reader = ImageSizeReader.for_content_type(content_type)
    assert reader is not None
    step = chunk or max(len(data), 1)
    for start in range(0, len(data), step):
        reader.feed(data[start : start + step])
    return reader.finish()


CASES = [
    ("image/png", png(40000, 40000), (40000, 40000)),
    ("image/png", png(1, 1), (1, 1)),
    ("image/jpeg", jpeg(640, 480), (640, 480)),
    ("image/jpeg", jpeg(65535, 65535, sof=0xC2), (65535, 65535)),
    ("image/jpeg", jpeg(3000, 2000, sof=0xC1, fill=3), (3000, 2000)),
    ("image/jpeg", jpeg(20000, 20000, app_bytes=300_000), (20000, 20000)),
    ("image/webp", webp_vp8(16383, 16383), (16383, 16383)),
    ("image/webp", webp_vp8l(16384, 9000), (16384, 9000)),
    ("image/webp", webp_vp8x(16_777_216, 16_777_216), (16_777_216, 16_777_216)),
    ("image/bmp", bmp(50000, 50000), (50000, 50000)),
    ("image/bmp", bmp(30000, -30000), (30000, 30000)),
    ("image/bmp", bmp(65535, 65535, core=True), (65535, 65535)),
    ("image/tiff", tiff(100000, 100000), (100000, 100000)),
    ("image/tiff", tiff(50000, 40000, order=">"), (50000, 40000)),
    ("image/tiff", tiff(60000, 60000, short=True, order=">"), (60000, 60000)),
    ("image/tiff", tiff(20000, 30000, gap=200_000), (20000, 30000)),
    ("image/tiff", bigtiff(10**6, 10**6), (10**6, 10**6)),
    ("image/tiff", bigtiff(70000, 80000, order=">"), (70000, 80000)),
]


@pytest.mark.parametrize(("content_type", "data", "size"), CASES)
@pytest.mark.parametrize("chunk", [None, 1, 3, 4096])
def test_dimensions_are_read_from_the_header(
    content_type: str, data: bytes, size: tuple[int, int], chunk: int | None
) -> None:
    if chunk == 1 and len(data) > 10_000:
        chunk = 7  # the large cases byte by byte take long for nothing more
    dimensions = read(content_type, data, chunk)
    assert (dimensions.width, dimensions.height) == size


def test_a_40000_by_40000_png_is_over_the_default_limit() -> None:
    dimensions = read("image/png", png(40000, 40000))
    assert dimensions.pixels == 1_600_000_000
    assert too_many_pixels(dimensions, 100_000_000)
    assert not too_many_pixels(read("image/png", png(10000, 10000)), 100_000_000)


@given(
    case=st.sampled_from([c for c in CASES if len(c[1]) < 10_000]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
)
def test_dimensions_do_not_depend_on_where_chunks_are_cut(
    case: tuple[str, bytes, tuple[int, int]], cuts: list[int]
) -> None:
    content_type, data, size = case
    reader = ImageSizeReader.for_content_type(content_type)
    assert reader is not None
    previous = 0
    for cut in sorted({min(c, len(data)) for c in cuts}) + [len(data)]:
        reader.feed(data[previous:cut])
        previous = cut
    dimensions = reader.finish()
    assert (dimensions.width, dimensions.height) == size


def test_reading_stops_once_the_header_is_known() -> None:
    reader = ImageSizeReader.for_content_type("image/png")
    assert reader is not None
    reader.feed(png(10, 20))
    assert reader.done
    reader.feed(b"\0" * 1_000_000)
    assert reader.finish() == Dimensions(10, 20)


@pytest.mark.parametrize(("content_type", "data", "_"), CASES)
def test_a_truncated_header_is_unreadable(content_type: str, data: bytes, _: object) -> None:
    end = {"image/jpeg": len(data) - 30, "image/tiff": len(data) - 20}.get(content_type, 20)
    with pytest.raises(ImageHeaderError):
        read(content_type, data[:end])


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("image/png", png(0, 10)),
        ("image/png", b"GIF89a" + b"\0" * 30),
        ("image/png", png(10, 10).replace(b"IHDR", b"IDAT")),
        ("image/jpeg", b"\xff\xd8\xff\xda" + b"\0" * 40),
        ("image/jpeg", b"\xff\xd8\x00\x00" + b"\0" * 40),
        ("image/jpeg", jpeg(100, 0)),
        ("image/jpeg", b"\xff\xd8" + b"\xff\xe1\x00\x01" + b"\0" * 40),
        ("image/jpeg", b"\xff\xd8" + b"\xff\xd0" * 5000 + jpeg(10, 10)[2:]),
        ("image/webp", webp_vp8(10, 10).replace(b"\x9d\x01\x2a", b"\0\0\0")),
        ("image/webp", webp_vp8l(10, 10).replace(b"\x2f", b"\x00", 1)),
        ("image/webp", webp_vp8(10, 10).replace(b"VP8 ", b"ALPH")),
        ("image/webp", b"RIFF\0\0\0\0WAVEfmt " + b"\0" * 20),
        ("image/bmp", bmp(10, 10).replace(b"(\0\0\0", b"\x10\0\0\0", 1)),
        ("image/bmp", bmp(0, 10)),
        ("image/tiff", b"II\x2b\x00\x04\x00\x00\x00\x08" + b"\0" * 30),
        ("image/tiff", b"II*\x00\x04\x00\x00\x00" + b"\0" * 30),  # directory inside the header
        ("image/tiff", b"II*\x00\x08\x00\x00\x00\x00\x00" + b"\0" * 30),  # no entries
        ("image/tiff", tiff(10, 10).replace(b"\x01\x01", b"\x09\x01")),  # no height tag
        ("image/tiff", b"XX*\x00" + b"\0" * 30),
    ],
)
def test_headers_that_are_not_their_type_are_refused(content_type: str, data: bytes) -> None:
    with pytest.raises(ImageHeaderError):
        read(content_type, data)


def test_only_the_five_image_types_have_readers() -> None:
    assert ImageSizeReader.for_content_type("application/pdf") is None
    assert ImageSizeReader.for_content_type("image/gif") is None
