"""The filesystem backend's conditional copy (a link), pinned reads and listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assured_server.s3_protocol.sigv4 import Credentials
from assured_server.storage.base import ObjectExists, ObjectNotFound, PreconditionFailed
from assured_server.storage.filesystem import FilesystemStorage


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FilesystemStorage]:
    storage = FilesystemStorage(
        tmp_path / "objects",
        bucket="assured-files",
        credentials=Credentials("AK", "secret", "us-east-1"),
        public_url="http://127.0.0.1:8000",
    )
    await storage.start()
    yield storage


async def put(store: FilesystemStorage, key: str, data: bytes, overwrite: bool = False) -> None:
    writer = await store.open_writer(key)
    await writer.write(data)
    await writer.commit(overwrite=overwrite)


async def test_copy_links_the_named_version_and_never_overwrites(store: FilesystemStorage) -> None:
    await put(store, "uploads/a", b"verified")
    info = await store.head("uploads/a")
    with pytest.raises(PreconditionFailed):
        await store.copy("uploads/a", "files/a", if_match_etag='"another"')
    await store.copy("uploads/a", "files/a", if_match_etag=info.etag)
    await store.delete("uploads/a")
    assert b"".join([c async for c in store.read("files/a")]) == b"verified"
    await put(store, "uploads/b", b"a stray second upload")
    stray = await store.head("uploads/b")
    with pytest.raises(ObjectExists):
        await store.copy("uploads/b", "files/a", if_match_etag=stray.etag)
    assert b"".join([c async for c in store.read("files/a")]) == b"verified"
    with pytest.raises(ObjectNotFound):
        await store.copy("uploads/none", "files/none", if_match_etag=info.etag)


async def test_a_pinned_read_refuses_another_version(store: FilesystemStorage) -> None:
    await put(store, "files/b", b"first")
    old = await store.head("files/b")
    await put(store, "files/b", b"second", overwrite=True)
    with pytest.raises(PreconditionFailed):
        [c async for c in store.read("files/b", if_match=old.etag)]
    new = await store.head("files/b")
    assert b"".join([c async for c in store.read("files/b", if_match=new.etag)]) == b"second"


async def test_list_objects_skips_temporary_files(store: FilesystemStorage) -> None:
    await put(store, "uploads/x", b"1")
    await put(store, "uploads/y", b"22")
    pending = await store.open_writer("uploads/z")  # a temporary file, not an object yet
    await pending.write(b"partial")
    listed = await store.list_objects("uploads/", limit=10)
    assert [(i.key, i.size) for i in listed] == [("uploads/x", 1), ("uploads/y", 2)]
    assert await store.list_objects("nothing/", limit=10) == []
    await pending.abort()
