"""Streaming verification decides on the first bytes, whatever the chunking."""

from __future__ import annotations

import hashlib

import pytest

from assured_server.files.sniff import SNIFF_BYTES, ContentMismatch, StreamVerifier

GOOD = {
    "application/pdf": b"%PDF-1.7\n" + b"x" * 3000,
    "image/png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
    "image/jpeg": b"\xff\xd8\xff\xe0" + b"\x01" * 100,
    "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x02" * 50,
    "image/bmp": b"BM" + b"\x03" * 40,
    "image/tiff": b"II*\x00" + b"\x04" * 40,
    "text/plain": "\ufeffhéllo wörld ✓\n".encode() * 50,
}
BAD = {
    "application/pdf": b"x" * SNIFF_BYTES + b"%PDF-",
    "image/png": b"\x89PNG\r\n\x1a\x00rest",
    "image/jpeg": b"\xff\xd8\x00",
    "image/webp": b"RIFF\x10\x00\x00\x00WEBQ....",
    "image/bmp": b"MB....",
    "image/tiff": b"II\x00*....",
    "text/plain": b"abc\x00def",
}


def _run(content_type: str, data: bytes, chunk: int) -> str:
    verifier = StreamVerifier(content_type)
    for i in range(0, len(data), chunk):
        verifier.feed(data[i : i + chunk])
    return verifier.finish()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 100_000])
@pytest.mark.parametrize("content_type", sorted(GOOD))
def test_good_bytes_pass_in_any_chunking_and_hash_right(content_type: str, chunk: int) -> None:
    data = GOOD[content_type]
    assert _run(content_type, data, chunk) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("chunk", [1, 5, 100_000])
@pytest.mark.parametrize("content_type", sorted(BAD))
def test_bad_bytes_are_refused_in_any_chunking(content_type: str, chunk: int) -> None:
    with pytest.raises(ContentMismatch):
        _run(content_type, BAD[content_type], chunk)


def test_pdf_header_at_the_end_of_the_first_kib_is_accepted() -> None:
    data = b" " * (SNIFF_BYTES - 5) + b"%PDF-1.4"
    assert _run("application/pdf", data, 10)


def test_a_mismatch_is_known_before_the_stream_ends() -> None:
    verifier = StreamVerifier("image/png")
    with pytest.raises(ContentMismatch):
        verifier.feed(b"GIF89a")


def test_utf8_split_across_chunks_and_a_truncated_sequence() -> None:
    text = "✓".encode()
    assert _run("text/plain", text * 3, 1)
    with pytest.raises(ContentMismatch):
        _run("text/plain", text * 3 + text[:2], 4)
