"""``HeadGuard``: the same verdict whatever the chunking, the budgets exactly, nothing scanned twice."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assured_server.serving.head_guard import FAST_PATH_BYTES, HeadGuard, Verdict
from assured_server.serving.limits import (
    HEADER_LINE_BUDGET,
    HEADERS_BUDGET,
    MAX_HEADER_BYTES,
    MAX_HEADERS_TOTAL,
    MAX_URL_BYTES,
    REQUEST_LINE_BUDGET,
)


def oracle(data: bytes) -> tuple[Verdict | None, int | None]:
    """The verdict on the whole bytes, line by line, and where the head ends (if it does)."""
    pos, in_request_line, phase = 0, True, 0
    while True:
        newline = data.find(b"\n", pos)
        end = len(data) if newline < 0 else newline + 1
        line = data[pos:end]
        if in_request_line:
            if phase + len(line) > REQUEST_LINE_BUDGET:
                return Verdict.URL_TOO_LONG, None
        elif len(line) > HEADER_LINE_BUDGET or phase + len(line) > HEADERS_BUDGET:
            return Verdict.HEADERS_TOO_LARGE, None
        phase += len(line)
        if newline < 0:
            return None, None
        blank = line in (b"\n", b"\r\n")
        if in_request_line:
            if not blank:
                in_request_line, phase = False, 0
        elif blank:
            return None, end
        pos = end


def judge(chunks: list[bytes], head_end: int | None) -> tuple[Verdict | None, int]:
    """Feed chunks as the protocol does: until a verdict, or until the parser saw the head end.

    Returns the verdict and how many bytes were accepted (would have reached the parser).
    """
    guard = HeadGuard()
    accepted = 0
    for chunk in chunks:
        verdict = guard.feed(chunk)
        if verdict is not None:
            return verdict, accepted
        accepted += len(chunk)
        if head_end is not None and accepted >= head_end:
            break
    return None, accepted


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False) if b > a]


# Lengths that cluster around every budget, so that the edges are hit often.
_near = st.sampled_from([0, 1, 2, 3, 100, 4000])


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    leading = b"\r\n" * draw(st.integers(0, 2))
    url_len = draw(
        st.one_of(
            st.integers(1, 200),
            st.integers(MAX_URL_BYTES - 40, REQUEST_LINE_BUDGET + 10),
            _near,
        )
    )
    request_line = b"GET /" + b"u" * url_len + b" HTTP/1.1\r\n"
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        size = draw(
            st.one_of(
                st.integers(1, 300),
                st.integers(MAX_HEADER_BYTES - 10, HEADER_LINE_BUDGET + 10),
                st.integers(5000, 7000),
            )
        )
        lines.append(b"X-H: " + b"v" * size + b"\r\n")
    if draw(st.booleans()):  # many small headers, to reach the total budget
        count = draw(st.integers(0, (HEADERS_BUDGET // 1000) + 3))
        lines += [b"X-Many: " + b"m" * 990 + b"\r\n"] * count
    head = leading + request_line + b"".join(lines)
    if draw(st.booleans()):
        head += b"\r\n" + b"B" * draw(st.integers(0, 70_000))  # the end, then a body
    return head


@settings(max_examples=300, deadline=None)
@given(data=heads(), cuts=st.lists(st.integers(0, 1 << 20), max_size=12))
def test_any_chunking_gives_the_verdict_of_the_whole(data: bytes, cuts: list[int]) -> None:
    expected, head_end = oracle(data)
    assert judge([data], head_end)[0] == expected
    assert judge(split(data, cuts), head_end)[0] == expected


@settings(max_examples=200, deadline=None)
@given(data=heads(), cuts=st.lists(st.integers(0, 1 << 20), max_size=12))
def test_a_refused_head_never_reached_the_parser_past_the_budgets(
    data: bytes, cuts: list[int]
) -> None:
    verdict, accepted = judge(split(data, cuts), oracle(data)[1])
    if verdict is not None:
        assert accepted <= REQUEST_LINE_BUDGET + HEADERS_BUDGET


@given(size=st.integers(0, FAST_PATH_BYTES), pieces=st.integers(1, 50))
def test_a_head_within_the_fast_path_is_only_counted(size: int, pieces: int) -> None:
    guard = HeadGuard()
    data = b"G" * size
    for chunk in split(data, [size * i // pieces for i in range(pieces)]):
        assert guard.feed(chunk) is None
    assert guard.seen == size
    assert not guard.ended


def test_the_limits_at_their_edges() -> None:
    request = b"GET /" + b"u" * (REQUEST_LINE_BUDGET - 16) + b" HTTP/1.1\r\n"
    assert len(request) == REQUEST_LINE_BUDGET
    assert HeadGuard().feed(request + b"\r\n") is None
    longer = request.replace(b"GET", b"GETT")
    assert HeadGuard().feed(longer) is Verdict.URL_TOO_LONG

    line = b"X: " + b"v" * (HEADER_LINE_BUDGET - 5) + b"\r\n"
    assert len(line) == HEADER_LINE_BUDGET
    assert HeadGuard().feed(b"GET / HTTP/1.1\r\n" + line + b"\r\n") is None
    assert HeadGuard().feed(b"GET / HTTP/1.1\r\n" + b"Y" + line) is Verdict.HEADERS_TOO_LARGE

    # The whole head: 32 KiB of names and values fit with their separators; more does not.
    per_line = MAX_HEADERS_TOTAL // 8
    under = b"".join(b"X%d: " % i + b"v" * (per_line - 2) + b"\r\n" for i in range(8))
    assert HeadGuard().feed(b"GET / HTTP/1.1\r\n" + under + b"\r\n") is None
    over = under + b"X-More: " + b"v" * (HEADERS_BUDGET - len(under)) + b"\r\n"
    assert HeadGuard().feed(b"GET / HTTP/1.1\r\n" + over) is Verdict.HEADERS_TOO_LARGE


def test_a_64_mib_header_is_refused_from_its_first_chunk_after_the_budget() -> None:
    guard = HeadGuard()
    assert guard.feed(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ") is None
    fed = 0
    for _ in range(64):
        verdict = guard.feed(b"a" * 4096)
        if verdict is not None:
            break
        fed += 4096
    assert verdict is Verdict.HEADERS_TOO_LARGE
    assert fed <= HEADER_LINE_BUDGET


_TWO_HEADERS = b"X: " + b"v" * 5000 + b"\r\nY: " + b"w" * 5000 + b"\r\n"


def test_bytes_after_the_end_the_parser_did_not_see_are_malformed() -> None:
    guard = HeadGuard()
    head = b"GET / HTTP/1.1\r\n" + _TWO_HEADERS + b"\r\n"
    assert len(head) > FAST_PATH_BYTES
    assert guard.feed(head) is None
    assert guard.ended
    assert guard.feed(b"more") is Verdict.MALFORMED
    guard.reset()
    assert guard.feed(b"GET / HTTP/1.1\r\n") is None
    assert not guard.ended


def test_empty_lines_before_the_request_line_are_skipped_but_counted() -> None:
    guard = HeadGuard()
    head = b"\r\n\r\nGET / HTTP/1.1\r\n" + _TWO_HEADERS + b"\r\n"
    assert guard.feed(head) is None
    assert guard.ended and guard.seen == len(head)
    flood = b"\r\n" * (REQUEST_LINE_BUDGET // 2 + 1)
    assert HeadGuard().feed(flood) is Verdict.URL_TOO_LONG
