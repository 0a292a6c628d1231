"""PDF active content found in bytes fed chunk by chunk: plain, escaped, split, compressed."""

from __future__ import annotations

import os
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pdf_support import CATALOG, PAGE, PAGES, PLAIN, pdf, stream_object

from assured_server.safety.pdf_active import PdfActiveContentScanner, PdfFindings


def scan(data: bytes, chunk: int | None = None, budget: int | None = None) -> PdfFindings:
    scanner = PdfActiveContentScanner() if budget is None else PdfActiveContentScanner(budget)
    step = chunk or len(data) or 1
    for start in range(0, len(data), step):
        scanner.feed(data[start : start + step])
    return scanner.finish()


JS_ACTION = b"<</Type /Action /S /JavaScript /JS (app.alert\\(1\\))>>"


def test_plain_pdf_has_no_flags() -> None:
    findings = scan(pdf(*PLAIN))
    assert findings.flags == frozenset() and findings.incomplete is None


@pytest.mark.parametrize(
    ("extra", "flags"),
    [
        (JS_ACTION, {"pdf_javascript"}),
        (b"<</S /Launch /F (cmd.exe)>>", {"pdf_launch"}),
        (
            b"<</Type /Filespec /F (a.exe) /EF <</F 9 0 R>>>> <</Type /EmbeddedFile>>",
            {"pdf_embedded_file"},
        ),
        (b"<</Names <</EmbeddedFiles 9 0 R>>>>", {"pdf_embedded_file"}),
        (b"<</Type /Annot /Subtype /RichMedia>>", {"pdf_rich_media"}),
        (b"<</AcroForm <</Fields [] /XFA 9 0 R>>>>", {"pdf_xfa"}),
    ],
)
def test_each_kind_of_active_content_is_flagged(extra: bytes, flags: set[str]) -> None:
    findings = scan(pdf(*PLAIN, extra))
    assert findings.flags == flags
    assert findings.active == flags


def test_open_action_running_javascript_is_an_automatic_action() -> None:
    catalog = b"<</Type /Catalog /Pages 2 0 R /OpenAction 4 0 R>>"
    findings = scan(pdf(catalog, PAGES, PAGE, JS_ACTION))
    assert findings.flags == {"pdf_javascript", "pdf_auto_action"}


def test_additional_action_launching_is_an_automatic_action() -> None:
    page = b"<</Type /Page /Parent 2 0 R /AA <</O <</S /Launch /F (x.exe)>>>>>>"
    assert scan(pdf(CATALOG, PAGES, page)).flags == {"pdf_launch", "pdf_auto_action"}


def test_open_action_that_only_goes_to_a_page_is_not_flagged() -> None:
    catalog = b"<</Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit]>>"
    assert scan(pdf(catalog, PAGES, PAGE)).flags == frozenset()


@pytest.mark.parametrize(
    "name", [b"/J#61vaScript", b"/#4A#53", b"/#4a#53", b"/Ja#76#61Script", b"/#4C#61#75nch"]
)
def test_names_written_with_hex_escapes_are_found(name: bytes) -> None:
    assert scan(pdf(*PLAIN, b"<</S " + name + b" (x)>>")).active


@pytest.mark.parametrize("name", [b"/JSON", b"/JavaScripts", b"/XJS", b"/J#5", b"/LaunchX"])
def test_names_that_only_look_alike_are_not_flagged(name: bytes) -> None:
    assert scan(pdf(*PLAIN, b"<<" + name + b" 1>>")).flags == frozenset()


def test_encrypted_pdf_is_flagged_but_not_active() -> None:
    findings = scan(pdf(*PLAIN, trailer=b"/Encrypt 9 0 R /ID [<01> <01>]"))
    assert findings.flags == {"pdf_encrypted"}
    assert findings.active == frozenset()


def test_encrypted_object_stream_is_reported_as_not_fully_read() -> None:
    garbage = os.urandom(2000)  # what an encrypted stream looks like: it does not inflate
    stream = stream_object(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", garbage)
    findings = scan(pdf(*PLAIN, stream, trailer=b"/Encrypt 9 0 R"))
    assert findings.flags == {"pdf_encrypted"}
    assert findings.incomplete is not None and "encrypted" in findings.incomplete


def test_names_inside_a_compressed_object_stream_are_found() -> None:
    catalog = b"<</Type /Catalog /Pages 2 0 R /OpenAction 100 0 R>>"
    data = pdf(catalog, PAGES, PAGE, compressed=(JS_ACTION, b"<</S /Launch /F (a.exe)>>"))
    assert b"JavaScript" not in data and b"Launch" not in data
    findings = scan(data)
    assert findings.flags == {"pdf_javascript", "pdf_launch", "pdf_auto_action"}
    assert findings.incomplete is None


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1000])
def test_compressed_object_stream_is_found_whatever_the_chunk_size(chunk: int) -> None:
    data = pdf(*PLAIN, compressed=(b"<</Type /Annot /Subtype /RichMedia>>",))
    assert scan(data, chunk=chunk).flags == {"pdf_rich_media"}


def test_uncompressed_content_stream_names_are_found_and_endstream_split_is_handled() -> None:
    stream = stream_object(b"", b"q /JS 1 Tf Q")
    data = pdf(*PLAIN, stream, b"<</After /XFA>>")
    for chunk in (1, 5, 9, 10, 11):
        assert scan(data, chunk=chunk).flags == {"pdf_javascript", "pdf_xfa"}


def test_image_data_is_not_read_for_names() -> None:
    noise = b"\x00/JS /Launch (" * 50 + os.urandom(4096)
    image = stream_object(b"/Type /XObject /Subtype /Image /Width 8 /Height 8", noise)
    flate_image = stream_object(
        b"/Subtype /Image /Filter /FlateDecode /Width 8 /Height 8", zlib.compress(noise)
    )
    assert scan(pdf(*PLAIN, image, flate_image)).flags == frozenset()


def test_other_filters_are_skipped_and_an_object_stream_under_one_is_reported() -> None:
    hidden = stream_object(b"/Type /ObjStm /Filter /ASCIIHexDecode", b"2F4A53>")
    findings = scan(pdf(*PLAIN, hidden))
    assert findings.flags == frozenset()
    assert findings.incomplete is not None


def test_inflate_budget_stops_a_bomb_and_says_so() -> None:
    bomb = zlib.compress(b"\0" * (8 * 1024 * 1024), 9)
    stream = stream_object(b"/Filter /FlateDecode", bomb)
    findings = scan(pdf(*PLAIN, stream, b"<</S /Launch>>"), chunk=4096, budget=1024 * 1024)
    assert findings.incomplete is not None and "inflate to more than 1048576" in findings.incomplete
    # Names in the text after the bomb are still read.
    assert findings.flags == {"pdf_launch"}


def test_budget_is_shared_by_all_streams_of_a_file() -> None:
    one = stream_object(b"/Filter /FlateDecode", zlib.compress(b"\0" * 600_000))
    assert scan(pdf(*PLAIN, one), budget=1_000_000).incomplete is None
    assert scan(pdf(*PLAIN, one, one), budget=1_000_000).incomplete is not None


def test_a_file_cut_inside_a_stream_keeps_what_was_seen() -> None:
    data = pdf(*PLAIN, JS_ACTION, stream_object(b"", b"/Launch"))
    cut = data.index(b"endstream") - 2
    assert scan(data[:cut], chunk=5).flags == {"pdf_javascript", "pdf_launch"}


ACTIVE = [
    (JS_ACTION, "pdf_javascript"),
    (b"<</S /Launch>>", "pdf_launch"),
    (b"<</Type /EmbeddedFile>>", "pdf_embedded_file"),
    (b"<</Subtype /RichMedia>>", "pdf_rich_media"),
    (b"<</XFA 1 0 R>>", "pdf_xfa"),
]


@given(
    picks=st.lists(st.sampled_from(ACTIVE), max_size=3),
    in_stream=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=30),
)
def test_flags_do_not_depend_on_where_chunks_are_cut(
    picks: list[tuple[bytes, str]], in_stream: bool, cuts: list[int]
) -> None:
    objects = [obj for obj, _ in picks]
    # An image's dictionary first: what it says must not decide how later streams are read.
    image = b"<</Subtype /Image /Filter /DCTDecode>>"
    if in_stream:
        data = pdf(*PLAIN, image, compressed=tuple(objects))
    else:
        data = pdf(*PLAIN, image, *objects)
    scanner = PdfActiveContentScanner()
    previous = 0
    for cut in sorted({min(c, len(data)) for c in cuts}) + [len(data)]:
        scanner.feed(data[previous:cut])
        previous = cut
    assert scanner.finish().flags == {flag for _, flag in picks}


def test_an_earlier_objects_names_do_not_decide_how_a_stream_is_read() -> None:
    earlier = b"<</Subtype /Image /Filter /DCTDecode>>"
    hidden = stream_object(b"/Filter /FlateDecode", zlib.compress(b"<</S /JavaScript>>"))
    for chunk in (3, 4096):
        assert scan(pdf(*PLAIN, earlier, hidden), chunk=chunk).flags == {"pdf_javascript"}


def test_an_object_stream_with_a_predictor_is_reported_as_not_fully_read() -> None:
    data = zlib.compress(b"\x02" + b"<</S /JavaScript>>")
    stream = stream_object(
        b"/Type /ObjStm /Filter /FlateDecode /DecodeParms <</Predictor 12 /Columns 18>>", data
    )
    findings = scan(pdf(*PLAIN, stream))
    assert findings.incomplete == "an object stream with a predictor"
    xref = stream_object(
        b"/Type /XRef /Filter /FlateDecode /DecodeParms <</Predictor 12 /Columns 5>>",
        zlib.compress(b"\x02" + bytes(5)),
    )
    assert scan(pdf(*PLAIN, xref)).incomplete is None


@pytest.mark.parametrize("chunk", [1, 2, 5, 4096])
def test_stream_and_a_line_break_inside_a_string_is_not_stream_data(chunk: int) -> None:
    hidden = zlib.compress(b"<</S /JavaScript>>")
    titled = stream_object(b"/Title (a data stream\n) /Type /ObjStm /Filter /FlateDecode", hidden)
    assert scan(pdf(*PLAIN, titled), chunk=chunk).flags == {"pdf_javascript"}


@pytest.mark.parametrize("chunk", [1, 3, 4096])
def test_white_space_between_the_dictionary_and_stream_is_allowed(chunk: int) -> None:
    data = b"<</Filter /FlateDecode /Length 9>> \r\n \n stream\n" + zlib.compress(b"/Launch")
    assert scan(pdf(*PLAIN, data + b"\nendstream"), chunk=chunk).flags == {"pdf_launch"}
