"""Tests of the streaming multipart/form-data reader."""

import random
import tracemalloc
from collections.abc import AsyncIterator, Iterable, Iterator

import httpx
import pytest

from assured_server.api.multipart import (
    MultipartError,
    MultipartLimits,
    MultipartReader,
    Part,
)

BOUNDARY = "------------------------d74496d66958873e"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
B = BOUNDARY.encode()

Parsed = list[tuple[str, str | None, str | None, bytes]]


class Chunks:
    """An async stream over given chunks that counts what was pulled from it."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it = iter(chunks)
        self.pulled = 0
        self.exhausted = False

    def __aiter__(self) -> "Chunks":
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = next(self._it)
        except StopIteration:
            self.exhausted = True
            raise StopAsyncIteration from None
        self.pulled += len(chunk)
        return chunk


def body(*parts: tuple[str, bytes], preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    """Build a body from (header lines, data) pairs."""
    out = [preamble]
    for headers, data in parts:
        out.append(b"--" + B + b"\r\n" + headers.encode() + b"\r\n\r\n" + data + b"\r\n")
    out.append(b"--" + B + b"--\r\n" + epilogue)
    return b"".join(out)


def field(name: str, value: bytes) -> tuple[str, bytes]:
    return (f'Content-Disposition: form-data; name="{name}"', value)


def file(name: str, filename: str, data: bytes, ctype: str = "text/plain") -> tuple[str, bytes]:
    disposition = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"'
    return (f"{disposition}\r\nContent-Type: {ctype}", data)


def split_randomly(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def one_byte_chunks(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


async def parse(
    chunks: Iterable[bytes],
    content_type: str = CONTENT_TYPE,
    limits: MultipartLimits | None = None,
) -> Parsed:
    reader = MultipartReader(Chunks(chunks), content_type, limits or MultipartLimits())
    result: Parsed = []
    async for part in reader:
        data = b"".join([chunk async for chunk in part])
        result.append((part.name, part.filename, part.content_type, data))
    return result


async def first_part(data: bytes) -> Part:
    reader = MultipartReader(Chunks([data]), CONTENT_TYPE)
    return await anext(aiter(reader))


async def parse_error(chunks: Iterable[bytes], limits: MultipartLimits | None = None) -> str:
    with pytest.raises(MultipartError) as info:
        await parse(chunks, limits=limits)
    return info.value.reason


# ---------------------------------------------------------------- well-formed bodies

CURL_BODY = body(
    field("mime_type", b"application/pdf"),
    field("expiration", b"2026-01-15T10:30:00Z"),
    file("file", "report.pdf", b"%PDF-1.7\r\n...\r\n%%EOF", "application/pdf"),
)
CURL_PARSED: Parsed = [
    ("mime_type", None, None, b"application/pdf"),
    ("expiration", None, None, b"2026-01-15T10:30:00Z"),
    ("file", "report.pdf", "application/pdf", b"%PDF-1.7\r\n...\r\n%%EOF"),
]


async def test_curl_style_form_yields_fields_then_file_in_order() -> None:
    assert await parse([CURL_BODY]) == CURL_PARSED


async def test_any_chunking_of_the_body_parses_the_same() -> None:
    rng = random.Random(7578)
    for _ in range(300):
        assert await parse(split_randomly(CURL_BODY, rng)) == CURL_PARSED
    assert await parse(one_byte_chunks(CURL_BODY)) == CURL_PARSED


# Data that looks like a delimiter, in every way that is still data.
TRICKY = [
    b"--" + B,  # not after CRLF
    b"\r\n--" + B + b"X",  # longer boundary
    b"\r\n--" + B + b"-x",  # one hyphen only
    b"\r\n--" + B[:-1],  # cut short
    b"\r\n--" + B + b"\rX",  # CR without LF
    b"\r\n\r\n--\r\n",
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n-",
    b"\x00\xff" * 3,
]


@pytest.mark.parametrize("data", TRICKY, ids=repr)
async def test_boundary_lookalikes_in_content_stay_data_under_any_chunking(data: bytes) -> None:
    content = b"head" + data + b"tail" + data
    raw = body(file("file", "a.bin", content), field("edge", data))
    expected: Parsed = [("file", "a.bin", "text/plain", content), ("edge", None, None, data)]
    rng = random.Random(2046)
    assert await parse([raw]) == expected
    assert await parse(one_byte_chunks(raw)) == expected
    for _ in range(100):
        assert await parse(split_randomly(raw, rng)) == expected


async def test_empty_parts_and_an_empty_file_have_no_data() -> None:
    raw = body(
        field("empty", b""),
        file("file", "empty.txt", b""),
        ('Content-Disposition: form-data; name="x"; filename=""', b""),
    )
    assert await parse([raw]) == [
        ("empty", None, None, b""),
        ("file", "empty.txt", "text/plain", b""),
        ("x", "", None, b""),
    ]


async def test_body_with_no_parts_yields_nothing() -> None:
    assert await parse([b"--" + B + b"--\r\n"]) == []
    assert await parse([b"--" + B + b"--"]) == []


async def test_preamble_and_epilogue_are_ignored() -> None:
    raw = body(field("a", b"1"), preamble=b"This is a preamble.\r\n", epilogue=b"bye\r\n--" + B)
    rng = random.Random(5)
    for _ in range(50):
        assert await parse(split_randomly(raw, rng)) == [("a", None, None, b"1")]
    weird = body(field("a", b"1"), preamble=b"x--" + B + b"\r\n\r\n")
    assert await parse(one_byte_chunks(weird)) == [("a", None, None, b"1")]


async def test_preamble_over_the_limit_is_malformed_without_reading_on() -> None:
    stream = Chunks(iter(lambda: b"x" * 100, None))  # endless
    reader = MultipartReader(stream, CONTENT_TYPE, MultipartLimits(max_preamble_bytes=300))
    with pytest.raises(MultipartError) as info:
        await anext(aiter(reader))
    assert info.value.reason == "malformed"
    assert stream.pulled <= 500
    raw = body(field("a", b"1"), preamble=b"p" * 301 + b"\r\n")
    assert await parse_error([raw], MultipartLimits(max_preamble_bytes=300)) == "malformed"
    raw = body(field("a", b"1"), preamble=b"p" * 298 + b"\r\n")
    assert await parse([raw], limits=MultipartLimits(max_preamble_bytes=300))


async def test_header_names_are_lower_case_and_content_type_is_the_bare_media_type() -> None:
    raw = body(
        (
            'CONTENT-DISPOSITION: Form-Data; NAME="f"; FileName="a.txt"\r\n'
            "Content-Type:Text/Plain; charset=utf-8 \r\n"
            "X-Extra:   spaced  ",
            b"x",
        )
    )
    part = await first_part(raw)
    assert (part.name, part.filename, part.content_type) == ("f", "a.txt", "text/plain")
    assert repr(part) == "Part(name='f', filename='a.txt')"
    assert dict(part.headers) == {
        "content-disposition": 'Form-Data; NAME="f"; FileName="a.txt"',
        "content-type": "Text/Plain; charset=utf-8",
        "x-extra": "spaced",
    }


@pytest.mark.parametrize(
    ("disposition", "name", "filename"),
    [
        (r'form-data; name="a\"b"; filename="q\"uo\"te.txt"', 'a"b', 'q"uo"te.txt'),
        (r'form-data; name="sl"; filename="C:\dir\a.txt"', "sl", r"C:\dir\a.txt"),
        (r'form-data; name="sl"; filename="back\\slash.txt"', "sl", "back\\slash.txt"),
        ('form-data; name="f"; filename="résumé 履歴書.pdf"', "f", "résumé 履歴書.pdf"),
        ("form-data; name=token; filename=plain.txt", "token", "plain.txt"),
        ('form-data; name="semi;colon"; filename="a;b=c.txt"', "semi;colon", "a;b=c.txt"),
        ('form-data ;name = "sp" ; filename= "x.txt" ;', "sp", "x.txt"),
        (
            'form-data; name="f"; filename="fallback.txt"; '
            "filename*=UTF-8''na%C3%AFve%20%E2%82%AC.txt",
            "f",
            "naïve €.txt",
        ),
        ("form-data; filename*=utf-8'en'%E6%97%A5.txt; name=\"f\"", "f", "日.txt"),
        ("form-data; name=\"f\"; filename*=iso-8859-1''caf%E9.txt", "f", "café.txt"),
        ('form-data; name="f"; filename*="UTF-8\'\'quoted%21.txt"', "f", "quoted!.txt"),
    ],
)
async def test_content_disposition_quoting_and_filename_star(
    disposition: str, name: str, filename: str
) -> None:
    part = await first_part(body((f"Content-Disposition: {disposition}", b"x")))
    assert (part.name, part.filename) == (name, filename)


async def test_bodies_built_by_httpx_parse() -> None:
    content = bytes(range(256)) * 1000 + b"\r\n--boundary-ish\r\n"
    request = httpx.Request(
        "POST",
        "https://example.test/api/v1/files/handle/",
        data={"mime_type": "application/pdf", "expiration": "3600", "note": "x\r\ny"},
        files={"file": ('ré"su\\mé.pdf', content, "application/pdf")},
    )
    expected: Parsed = [
        ("mime_type", None, None, b"application/pdf"),
        ("expiration", None, None, b"3600"),
        ("note", None, None, b"x\r\ny"),
        # httpx sends '"' as %22 (HTML form encoding) and escapes '\'.
        ("file", "ré%22su\\mé.pdf", "application/pdf", content),
    ]
    content_type = request.headers["Content-Type"]
    assert await parse([request.read()], content_type) == expected
    request = httpx.Request("POST", "https://example.test/", files={"file": ("a.txt", content)})
    streamed = request.stream
    assert isinstance(streamed, httpx.AsyncByteStream)
    chunks = [chunk async for chunk in streamed]
    assert len(chunks) > 2
    assert await parse(chunks, request.headers["Content-Type"]) == [
        ("file", "a.txt", "text/plain", content)
    ]


async def test_quoted_boundary_and_case_insensitive_media_type_are_accepted() -> None:
    raw = body(field("a", b"1"))
    content_type = f'Multipart/Form-Data; charset=utf-8; boundary="{BOUNDARY}"'
    assert await parse([raw], content_type) == [("a", None, None, b"1")]


# ---------------------------------------------------------------- consumer behaviour


async def test_unread_and_half_read_parts_are_skipped() -> None:
    raw = body(
        file("a", "a.bin", b"A" * 10_000), file("b", "b.bin", b"B" * 10_000), field("c", b"C")
    )
    chunks = [raw[i : i + 1000] for i in range(0, len(raw), 1000)]
    reader = MultipartReader(Chunks(chunks), CONTENT_TYPE)
    parts = aiter(reader)
    first = await anext(parts)
    second = await anext(parts)  # nothing of the first was read
    got = await anext(aiter(second))
    assert set(got) == {ord("B")}
    third = await anext(parts)  # the second was read halfway
    assert await third.read_field() == b"C"
    assert [chunk async for chunk in first] == []
    assert [chunk async for chunk in second] == []
    with pytest.raises(StopAsyncIteration):
        await anext(parts)


async def test_read_field_returns_the_rest_of_a_part() -> None:
    raw = body(file("f", "f.bin", b"0123456789" * 100))
    chunks = [raw[i : i + 7] for i in range(0, len(raw), 7)]
    reader = MultipartReader(Chunks(chunks), CONTENT_TYPE)
    part = await anext(aiter(reader))
    head = await anext(aiter(part))
    assert head + await part.read_field() == b"0123456789" * 100
    assert await part.read_field() == b""


async def test_reader_stops_at_the_closing_boundary_and_leaves_the_epilogue_unread() -> None:
    raw = body(field("a", b"1"))
    stream = Chunks([raw, b"epilogue", b"more"])
    reader = MultipartReader(stream, CONTENT_TYPE)
    assert [await part.read_field() async for part in reader] == [b"1"]
    assert stream.pulled == len(raw)
    await reader.drain()
    assert stream.exhausted


async def test_drain_reads_the_rest_of_a_refused_body() -> None:
    raw = body(file("file", "big.bin", b"x" * 100_000), field("a", b"1"))
    stream = Chunks(raw[i : i + 4096] for i in range(0, len(raw), 4096))
    reader = MultipartReader(stream, CONTENT_TYPE)
    part = await anext(aiter(reader))
    await anext(aiter(part))
    await reader.drain()
    assert stream.exhausted
    assert stream.pulled == len(raw)
    # A part cut short by drain() never looks complete.
    with pytest.raises(MultipartError) as info:
        async for _ in part:
            pass
    assert info.value.reason == "incomplete"


async def test_drain_after_a_malformed_body_still_reads_to_the_end() -> None:
    raw = b"--" + B + b"\r\nno colon here\r\n\r\n" + b"x" * 10_000
    stream = Chunks([raw[:100], raw[100:5000], raw[5000:]])
    reader = MultipartReader(stream, CONTENT_TYPE)
    with pytest.raises(MultipartError) as info:
        await anext(aiter(reader))
    assert info.value.reason == "malformed"
    await reader.drain()
    assert stream.exhausted


async def test_errors_are_sticky() -> None:
    reader = MultipartReader(Chunks([b"--" + B + b"\r\nbad header\r\n\r\n"]), CONTENT_TYPE)
    for _ in range(2):
        with pytest.raises(MultipartError, match="malformed multipart body"):
            await anext(aiter(reader))


async def test_stream_errors_pass_through_unchanged() -> None:
    class TooLarge(Exception):
        pass

    async def limited() -> AsyncIterator[bytes]:
        yield b"--" + B + b"\r\n"
        raise TooLarge

    reader = MultipartReader(limited(), CONTENT_TYPE)
    with pytest.raises(TooLarge):
        await anext(aiter(reader))


async def test_bytearray_and_memoryview_chunks_are_accepted() -> None:
    raw = body(field("a", b"1"), file("f", "f.txt", b"data"))
    chunks: list[bytes] = [bytearray(raw[:50]), memoryview(raw[50:])]  # type: ignore[list-item]
    assert await parse(chunks) == [("a", None, None, b"1"), ("f", "f.txt", "text/plain", b"data")]


# ---------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "raw",
    [
        body(("Content-Type: text/plain", b"no disposition")),
        body(("Content-Disposition: form-data", b"no name")),
        body(('Content-Disposition: form-data; name=""', b"empty name")),
        body(('Content-Disposition: attachment; name="a"', b"not form-data")),
        body(('Content-Disposition: form-data; name="a"; name="b"', b"repeated param")),
        body(
            (
                'Content-Disposition: form-data; name="a"\r\n'
                'Content-Disposition: form-data; name="b"',
                b"",
            )
        ),
        body(('Content-Disposition: form-data; name="a"; filename="unterminated', b"")),
        body(('Content-Disposition: form-data; name="a" junk', b"")),
        body(("Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%FF.txt", b"")),
        body(("Content-Disposition: form-data; name=\"a\"; filename*=koi8-r''x.txt", b"")),
        body(('Content-Disposition: form-data; name="a"; filename*=x.txt', b"")),
        body(('Content-Disposition: form-data; name="a"\r\nContent-Type: text', b"")),
        body(('Content-Disposition: form-data; name="a"; filename="a\nb.txt"', b"")),
        body(('Content-Disposition: form-data; name="a"; filename="a\x00b.txt"', b"")),
        body(('Content-Disposition: form-data; name="a"\r\nno colon', b"")),
        body(('Content-Disposition: form-data; name="a"\r\n: empty name', b"")),
        body(('Content-Disposition: form-data; name="\xff"', b"")).replace(b"\xc3\xbf", b"\xff"),
        b"--" + B + b"X\r\n",  # wrong boundary
        b"--" + B + b"  \r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--" + B + b"--",
        b"--" + B + b'\nContent-Disposition: form-data; name="a"\n\nLF only\n--' + B + b"--\n",
        b"--" + B + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--' + B + b"  oops",
    ],
)
async def test_malformed_bodies_are_refused(raw: bytes) -> None:
    assert await parse_error([raw]) == "malformed"
    assert await parse_error(one_byte_chunks(raw)) == "malformed"


async def test_a_part_without_a_name_is_malformed() -> None:
    assert await parse_error([body(("Content-Disposition: form-data", b"x"))]) == "malformed"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"--" + B,
        b"--" + B + b"\r\n",
        b"--" + B + b'\r\nContent-Disposition: form-data; name="a"',
        b"--" + B + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\npartial data',
        b"--" + B + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--' + B,
        b"--" + B + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--' + B + b"\r\n",
        b"--" + B + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n--' + B + b"-",
        b"preamble without any boundary",
    ],
)
async def test_a_body_ending_before_the_closing_boundary_is_incomplete(raw: bytes) -> None:
    assert await parse_error([raw]) == "incomplete"
    assert await parse_error(one_byte_chunks(raw)) == "incomplete"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "multipart/mixed; boundary=abc",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary=""',
        "multipart/form-data; boundary=" + "x" * 71,
        'multipart/form-data; boundary="ends with space "',
        'multipart/form-data; boundary="a\\"b"',
        "multipart/form-data; boundary=abc; boundary=def",
        "",
        "garbage; ;",
    ],
)
def test_content_types_that_are_not_multipart_form_data_with_a_boundary_are_refused(
    content_type: str,
) -> None:
    with pytest.raises(MultipartError) as info:
        MultipartReader(Chunks([]), content_type)
    assert info.value.reason == "malformed"


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_parts"):
        MultipartLimits(max_parts=0)
    with pytest.raises(ValueError, match="max_preamble_bytes"):
        MultipartLimits(max_preamble_bytes=-1)


# ---------------------------------------------------------------- limits


async def test_too_many_parts_is_raised_as_soon_as_the_extra_part_starts() -> None:
    head = body(field("a", b"1"), field("b", b"2"))[: -len(b"--" + B + b"--\r\n")]

    def endless() -> Iterator[bytes]:
        yield head
        yield b"--" + B + b"\r\n"
        raise AssertionError("read past the start of the extra part")

    reader = MultipartReader(Chunks(endless()), CONTENT_TYPE, MultipartLimits(max_parts=2))
    parts = aiter(reader)
    assert await (await anext(parts)).read_field() == b"1"
    assert await (await anext(parts)).read_field() == b"2"
    with pytest.raises(MultipartError) as info:
        await anext(parts)
    assert info.value.reason == "too_many_parts"


async def test_exactly_max_parts_is_accepted() -> None:
    raw = body(*(field(f"f{i}", b"v") for i in range(3)))
    assert len(await parse([raw], limits=MultipartLimits(max_parts=3))) == 3
    assert await parse_error([raw], MultipartLimits(max_parts=2)) == "too_many_parts"


async def test_headers_over_the_limit_are_refused_without_buffering_them() -> None:
    limits = MultipartLimits(max_part_header_bytes=1024)
    start = b"--" + B + b'\r\nContent-Disposition: form-data; name="a"\r\nX-Long: '
    for chunk_size in (1, 100, 1 << 20):
        stream = Chunks([start, *(b"v" * chunk_size for _ in range((10 << 20) // chunk_size))])
        reader = MultipartReader(stream, CONTENT_TYPE, limits)
        with pytest.raises(MultipartError) as info:
            await anext(aiter(reader))
        assert info.value.reason == "header_too_large"
        assert stream.pulled <= 1100 + chunk_size


async def test_many_small_headers_add_up_to_the_limit() -> None:
    limits = MultipartLimits(max_part_header_bytes=1024)
    disposition = 'Content-Disposition: form-data; name="a"'
    ok = body((disposition + "\r\n" + "\r\n".join(f"X-{i:03}: v" for i in range(100)), b"1"))
    assert await parse([ok], limits=limits) == [("a", None, None, b"1")]
    many = body((disposition + "\r\n" + "\r\n".join(f"X-{i:03}: v" for i in range(200)), b"1"))
    assert await parse_error([many], limits) == "header_too_large"
    assert await parse_error(one_byte_chunks(many), limits) == "header_too_large"
    empty = body((disposition + "\r\n" + "\r\n".join(f"X{i}:" for i in range(300)), b"1"))
    assert await parse_error([empty], limits) == "header_too_large"


async def test_header_limit_applies_to_each_part_separately() -> None:
    limits = MultipartLimits(max_part_header_bytes=200)
    raw = body(*(file(f"f{i}", "x" * 80 + ".txt", b"d") for i in range(5)))
    assert len(await parse([raw], limits=limits)) == 5


async def test_read_field_over_the_limit_raises_before_reading_it_all() -> None:
    start = b"--" + B + b'\r\nContent-Disposition: form-data; name="a"\r\n\r\n'
    stream = Chunks([start, *(b"v" * 1000 for _ in range(10_000))])
    reader = MultipartReader(stream, CONTENT_TYPE, MultipartLimits(max_field_bytes=4000))
    part = await anext(aiter(reader))
    with pytest.raises(MultipartError) as info:
        await part.read_field()
    assert info.value.reason == "field_too_large"
    assert stream.pulled < 6000
    part = await first_part(body(field("a", b"x" * 11)))
    with pytest.raises(MultipartError, match="over 10 bytes"):
        await part.read_field(max_bytes=10)
    assert await (await first_part(body(field("a", b"x" * 10)))).read_field(10) == b"x" * 10


async def test_memory_stays_small_for_a_64_mib_part() -> None:
    size, chunk_size = 64 << 20, 64 << 10
    template = bytearray(range(256)) * (chunk_size // 256)
    head = (
        b"--" + B + b'\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
    )

    def generate() -> Iterator[bytes]:
        yield head
        for _ in range(size // chunk_size):
            yield bytes(template)  # a fresh object each time, as a server would hand over
        yield b"\r\n--" + B + b"--\r\n"

    tracemalloc.start()
    try:
        received = 0
        async for part in MultipartReader(Chunks(generate()), CONTENT_TYPE):
            async for chunk in part:
                received += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size
    assert peak < 4 * chunk_size + (256 << 10), peak
