"""Hypothesis strategies of hostile JSON bodies and query strings, and what every answer must be.

Bodies are built as bytes, not through ``json.dumps``, so that they can hold what a hostile
client sends and a serialiser would not write: 10**400, ``NaN``, escaped lone surrogates,
invalid UTF-8, duplicate keys, nesting far past any parser's limit, sizes around the body cap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import strategies as st
from server_helpers import Api, assert_contract_error

from assured_server.api.body import MAX_JSON_BYTES

# --- JSON fragments ------------------------------------------------------------------------------

NUMBERS = [
    b"0",
    b"-0",
    b"-0.0",
    b"1",
    b"-1",
    b"300",
    b"300.0",
    b"1e2",
    b"1E+2",
    b"2.5e-3",
    b"1" + b"0" * 400,  # 10**400
    b"-1" + b"0" * 400,
    b"9" * 5000,  # past CPython's int digit limit
    b"1e400",
    b"-1e400",
    b"1e-400",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"0x10",
    b"01",
    b"+1",
    b".5",
    b"1.",
    b"18446744073709551616",
    b"9223372036854775808",
    b"-9223372036854775809",
]
STRINGS = [
    b'""',
    b'"   "',
    b'"\\u0000"',
    b'"a\\u0000b"',
    b'"\\ud800"',  # a lone high surrogate, escaped
    b'"\\udfff"',
    b'"x\\ud800y"',
    b'"\\ud83d\\ude00"',  # a valid pair
    b'"\\u202e.pdf"',
    b'"\xff\xfe"',  # not UTF-8
    b'"\xc0\xaf"',  # an overlong UTF-8 encoding of "/"
    b'"\xed\xa0\x80"',  # a surrogate encoded in UTF-8
    b'"\\x41"',  # not a JSON escape
    b'"unterminated',
    b'"' + b"x" * 1001 + b'"',
    b'"' + b"x" * 70_000 + b'"',
    b'"s3://assured-files/files/00000000-0000-0000-0000-000000000000"',
    b'"a.pdf"',
    b'"application/pdf"',
    b'"60d"',
]
OTHERS = [b"null", b"true", b"false", b"[]", b"{}", b"[1,]", b"{,}", b'{"a"}', b"", b"\x00"]
MAX_DEPTH_PROBES = [2, 64, 199, 200, 201, 255, 256, 1000, 10_000, 65_000, 100_000, 150_000]


def _nested(depth: int, kind: str, closed: bool) -> bytes:
    """``depth`` levels of arrays, objects or both, around ``1``; unclosed if not ``closed``."""
    opener = {"array": b"[", "object": b'{"":', "mixed": b'[{"":'}[kind]
    closer = {"array": b"]", "object": b"}", "mixed": b"}]"}[kind]
    levels = depth if kind != "mixed" else max(1, depth // 2)
    return opener * levels + (b"1" + closer * levels if closed else b"")


deep_values = st.builds(
    _nested,
    st.sampled_from(MAX_DEPTH_PROBES),
    st.sampled_from(["array", "object", "mixed"]),
    st.booleans(),
)

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _dumps(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


# Any value a hostile client could put where one JSON value goes (raw bytes).
fragments = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from(STRINGS),
    st.sampled_from(OTHERS),
    deep_values,
    st.builds(_dumps, json_values, st.booleans()),
    st.text(max_size=300).map(lambda s: _dumps(s, False)),
)
# Strings heavy in what breaks storage and display: NUL, controls, bidi overrides, escaped lone
# surrogates, the last code points.
hostile_strings = st.text(
    alphabet=st.one_of(
        st.sampled_from(["\x00", "\x1f", "\x7f", "\u202e", "\u2028", "\ufeff", "\ud800", "\udfff"]),
        st.characters(),
    ),
    max_size=200,
).map(lambda s: _dumps(s, True))
keys = st.one_of(
    st.text(max_size=20).map(lambda s: _dumps(s, False)),
    st.sampled_from([b'"\\u0000"', b'"\\ud800"', b'""', b'"' + b"k" * 5000 + b'"']),
)


def _object(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return b"{" + b",".join(key + b":" + value for key, value in pairs) + b"}"


@st.composite
def bodies(draw: st.DrawFn, base: Mapping[str, Any]) -> bytes:
    """A hostile body for a route whose valid body is ``base``: mostly ``base`` with one field
    replaced, or with some replaced, dropped, repeated or joined by others; or no object at all;
    or ``base`` padded to sizes around the body cap; or bytes."""
    shape = draw(
        st.sampled_from(["one-field"] * 3 + ["mutated"] * 3 + ["other", "padded", "bytes"])
    )
    pairs = [(_dumps(k, True), _dumps(v, True)) for k, v in base.items()]
    if shape == "one-field":
        # The rest stays valid, so the value reaches the route's rules and the database.
        name = draw(st.sampled_from([k for k, _ in pairs]))
        value = draw(hostile_strings | fragments)
        return _object([(k, value if k == name else v) for k, v in pairs])
    if shape == "other":  # no object at all
        return draw(fragments | st.sampled_from([b" ", b"\n\t ", b"\xef\xbb\xbf{}"]))
    if shape == "bytes":
        return draw(st.binary(max_size=200))
    if shape == "padded":
        target = draw(
            st.sampled_from([MAX_JSON_BYTES - 1, MAX_JSON_BYTES, MAX_JSON_BYTES + 1, 2 << 20])
        )
        body = _object(pairs)
        return b" " * max(0, target - len(body)) + body
    names = [_dumps(k, True) for k in base] + [draw(keys)]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(["replace", "replace", "drop", "repeat", "add"]))
        name = draw(st.sampled_from(names))
        value = draw(fragments)
        if action == "replace":
            pairs = [(k, value if k == name else v) for k, v in pairs]
        elif action == "drop":
            pairs = [(k, v) for k, v in pairs if k != name]
        elif action == "repeat":
            pairs.append((name, value))  # a duplicate key: which one counts?
        else:
            pairs.append((draw(keys), value))
    return _object(pairs)


def chunks(body: bytes, size: int = 64 << 10) -> Iterator[bytes]:
    """``body`` as a stream: sent chunked, without a ``Content-Length``."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


# --- query strings --------------------------------------------------------------------------------

QUERY_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "50",
    "200",
    "201",
    "3600",
    "3601",
    "1" * 13,
    "9" * 400,
    "1e3",
    "1.0",
    "0x10",
    "+5",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: isdigit() but not ASCII
    "\uff11",  # FULLWIDTH DIGIT ONE
    "\x00",
    "a\x00b",
    "abc",
    "pending",
    "available",
    "expired",
    "PENDING",
    "00000000-0000-0000-0000-000000000000",
    "0190A0B0-0000-7000-8000-000000000000",
    "x" * 5000,
]
query_values = st.one_of(
    st.sampled_from(QUERY_VALUES),
    st.text(max_size=60),
    st.integers().map(str),
)


@st.composite
def query_strings(draw: st.DrawFn, names: list[str]) -> str:
    """A query string of the route's parameters (some twice) and others, percent-encoded, or
    raw bytes that are not a well-formed query at all."""
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        raw = st.sampled_from(["%", "%zz", "%ff%fe", "%00", "&&==&", "a=%c0%af", "=x", "page"])
        return str(draw(raw))
    chosen = draw(st.lists(st.sampled_from([*names, "unknown", "PAGE"]), max_size=6))
    parts = [f"{quote(name)}={quote(draw(query_values), safe='')}" for name in chosen]
    return "&".join(parts)


# --- answers ------------------------------------------------------------------------------------


def assert_answer(response: httpx.Response, successes: set[int]) -> None:
    """Never a 5xx: a success the route knows, or the contract's error body."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert_contract_error(response)
    else:
        assert response.status_code in successes, (response.status_code, response.text[:300])


def assert_healthy(api: Api) -> None:
    """The server still answers, and a plain request still works."""
    base = api.server.base_url
    assert httpx.get(f"{base}/healthz", timeout=30).status_code == 200
    assert httpx.get(f"{base}/readyz", timeout=30).status_code == 200
    assert api.create_upload(fileName="after.pdf", contentType="application/pdf").status_code == 201
