"""Upload sources: bytes, paths and file objects, rewound for retries when they can be."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from assured._constants import CHUNK_SIZE
from assured._streams import open_source
from assured.exceptions import AssuredError, AssuredValidationError


def test_bytes_are_chunked_and_rewindable() -> None:
    data = b"a" * (CHUNK_SIZE + 1)
    source = open_source(data)
    assert source.size == len(data)
    assert source.rewindable
    assert [len(c) for c in source.chunks()] == [CHUNK_SIZE, 1]
    assert b"".join(source.chunks()) == data


def test_bytearray_and_memoryview_are_accepted() -> None:
    assert b"".join(open_source(bytearray(b"abc")).chunks()) == b"abc"
    assert b"".join(open_source(memoryview(b"abc")).chunks()) == b"abc"


def test_path_is_reopened_for_every_attempt_and_named_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "license.pdf"
    path.write_bytes(b"%PDF-1.7")
    for given in (path, str(path)):
        source = open_source(given)
        assert source.filename == "license.pdf"
        assert source.size == 8
        assert b"".join(source.chunks()) == b"".join(source.chunks()) == b"%PDF-1.7"


def test_missing_path_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(AssuredValidationError, match="No such file"):
        open_source(tmp_path / "missing.pdf")


def test_seekable_file_object_starts_where_the_caller_left_it() -> None:
    stream = io.BytesIO(b"headerBODY")
    stream.seek(6)
    source = open_source(stream)
    assert source.size == 4
    assert b"".join(source.chunks()) == b"BODY"
    assert b"".join(source.chunks()) == b"BODY"
    assert not stream.closed  # the caller's file stays the caller's


class _Pipe(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def test_non_seekable_stream_is_read_once() -> None:
    source = open_source(_Pipe(b"once"))
    assert source.size is None
    assert not source.rewindable
    assert b"".join(source.chunks()) == b"once"
    with pytest.raises(AssuredError, match="rewound"):
        b"".join(source.chunks())


def test_text_mode_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_text("%PDF-")
    with path.open() as text_file:
        source = open_source(text_file)  # type: ignore[arg-type]
        with pytest.raises(AssuredValidationError, match="binary mode"):
            b"".join(source.chunks())


def test_file_that_grows_during_upload_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x" * 10)
    source = open_source(path)
    path.write_bytes(b"x" * 20)
    with pytest.raises(AssuredError, match="grew"):
        b"".join(source.chunks())


def test_file_that_shrinks_during_upload_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"x" * 10)
    source = open_source(path)
    path.write_bytes(b"x" * 5)
    with pytest.raises(AssuredError, match="shrank"):
        b"".join(source.chunks())


def test_other_types_are_refused() -> None:
    with pytest.raises(AssuredValidationError, match="Cannot upload a int"):
        open_source(42)  # type: ignore[arg-type]


async def test_async_chunks_match_sync_chunks(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(b"q" * (CHUNK_SIZE * 2 + 7))
    source = open_source(path)
    chunks = [chunk async for chunk in source.achunks()]
    assert b"".join(chunks) == path.read_bytes()
    assert max(len(c) for c in chunks) <= CHUNK_SIZE
