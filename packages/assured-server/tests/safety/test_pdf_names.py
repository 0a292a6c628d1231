"""The incremental name tokenizer: every name once, whole, whatever the chunks and escapes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assured_server.safety.pdf_names import NameTokenizer, decode_name, name_pattern, names_in

REGULAR = [bytes([b]) for b in range(0x21, 0x7F) if bytes([b]) not in b"()<>[]{}/%#"]
SEPARATORS = [
    b" ",
    b"\n",
    b"\r\n",
    b"\t",
    b"\x00",
    b"\x0c",
    b"(",
    b")",
    b"<<",
    b">>",
    b"[",
    b"]",
    b"{",
    b"}",
    b"%c\n",
    b" 1 0 R ",
]


@st.composite
def written_name(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A name's bytes, and the same name as written in a file, some bytes as #xx escapes."""
    name = b"".join(draw(st.lists(st.sampled_from(REGULAR), min_size=1, max_size=40)))
    written = b"".join(b"#%02X" % byte if draw(st.booleans()) else bytes([byte]) for byte in name)
    return name, b"/" + written


def tokenize(data: bytes, cuts: list[int]) -> set[bytes]:
    tokenizer = NameTokenizer()
    found: set[bytes] = set()
    previous = 0
    for cut in sorted({min(c, len(data)) for c in cuts}) + [len(data)]:
        found |= tokenizer.feed(data[previous:cut])
        previous = cut
    return found | tokenizer.finish()


@given(
    names=st.lists(written_name(), min_size=1, max_size=20),
    separators=st.lists(st.sampled_from(SEPARATORS), min_size=20, max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40),
)
def test_every_name_is_found_whole_across_any_chunk_split(
    names: list[tuple[bytes, bytes]], separators: list[bytes], cuts: list[int]
) -> None:
    # Names may follow each other directly (a slash ends a name) or after a separator.
    data = b"".join(written + sep for (_, written), sep in zip(names, separators, strict=False))
    assert tokenize(data, cuts) == {name for name, _ in names}


@given(cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=20))
def test_adjacent_names_and_byte_by_byte_feeding(cuts: list[int]) -> None:
    data = b"<</S/JavaScript/JS(x)/O/#4Cau#6Ech>>"
    expected = {b"S", b"JavaScript", b"JS", b"O", b"Launch"}
    assert tokenize(data, cuts) == expected
    assert tokenize(data, list(range(len(data)))) == expected


def test_a_name_at_the_very_end_is_returned_by_finish() -> None:
    tokenizer = NameTokenizer()
    assert tokenizer.feed(b"1 0 R /Java") == set()
    assert tokenizer.feed(b"Script") == set()
    assert tokenizer.finish() == {b"JavaScript"}


def test_overlong_names_are_let_go_and_their_tail_is_no_name() -> None:
    tokenizer = NameTokenizer()
    assert tokenizer.feed(b"/" + b"A" * 500) == set()
    assert tokenizer.feed(b"JS /XFA ") == {b"XFA"}
    assert tokenizer.finish() == set()


def test_escapes_decode_and_broken_escapes_stay() -> None:
    assert decode_name(b"J#61vaScript") == b"JavaScript"
    assert decode_name(b"A#2") == b"A#2"
    assert decode_name(b"A#zz") == b"A#zz"
    assert names_in(b"/A#20B /C") == {b"A B", b"C"}
    assert names_in(b"/ /x") == {b"", b"x"}


WANTED = {b"JavaScript", b"JS", b"Launch", b"AA", b"OpenAction", b"XFA"}
WANTED_PATTERN = name_pattern(WANTED)


@st.composite
def written_name_from_both(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A wanted name, a look-alike (/JSON, /AAA) or any name, some bytes escaped."""
    base = draw(
        st.one_of(
            st.sampled_from(sorted(WANTED)),
            st.sampled_from([b"JSON", b"AAA", b"XFAs", b"Launc", b"OpenActions", b"Type"]),
            st.lists(st.sampled_from(REGULAR), min_size=1, max_size=10).map(b"".join),
        )
    )
    written = b"".join(b"#%02X" % byte if draw(st.booleans()) else bytes([byte]) for byte in base)
    return base, b"/" + written


@given(
    names=st.lists(written_name_from_both(), min_size=1, max_size=20),
    separators=st.lists(st.sampled_from(SEPARATORS), min_size=20, max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=40),
)
def test_a_wanted_names_tokenizer_finds_exactly_the_wanted_names(
    names: list[tuple[bytes, bytes]], separators: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(written + sep for (_, written), sep in zip(names, separators, strict=False))
    tokenizer = NameTokenizer(WANTED_PATTERN)
    found: set[bytes] = set()
    previous = 0
    for cut in sorted({min(c, len(data)) for c in cuts}) + [len(data)]:
        found |= tokenizer.feed(data[previous:cut])
        previous = cut
    found |= tokenizer.finish()
    assert found & WANTED == {name for name, _ in names} & WANTED
    # Only escaped names may come back besides the wanted ones.
    assert found - WANTED <= {name for name, written in names if b"#" in written}
