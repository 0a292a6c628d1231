"""The encrypted object format of the embedded storage, through the real filesystem backend.

The account keys come from a dict behind the storage layer's own ``AccountKeys`` interface
(what the server's keyring implements over the database); everything else is real: files on
disk, the writer's temporary files, AES-GCM.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assured_server.s3_protocol.sigv4 import Credentials
from assured_server.storage.encryption import (
    CHUNK_SIZE,
    TAG,
    AccountKey,
    EncryptionKeyError,
    MasterKey,
    ObjectUnreadable,
    new_secret,
    parse_header,
)
from assured_server.storage.filesystem import FilesystemStorage

SMALL = 64  # a small chunk size: many chunks in few bytes
SENTINEL = b"SENTINEL-7f3a9c"


class DictKeys:
    """Account keys in memory, each file id mapped to its account."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        self.owner_of: dict[str, str] = {}

    async def for_object(self, key: str) -> AccountKey:
        owner = self.owner_of.get(key.rsplit("/", 1)[-1], "acct-1")
        return AccountKey(owner, self.keys.setdefault(owner, new_secret()))

    async def for_owner(self, owner: str) -> bytes | None:
        return self.keys.get(owner)


def _storage(root: Path, keys: DictKeys | None, chunk_size: int = SMALL) -> FilesystemStorage:
    storage = FilesystemStorage(
        root,
        bucket="b",
        credentials=Credentials("AK", "SK", "us-east-1"),
        public_url="http://127.0.0.1:1",
    )
    if keys is not None:
        storage.encrypt_with(keys, chunk_size=chunk_size)
    return storage


def _content(size: int) -> bytes:
    """Distinct bytes at every offset (a misplaced chunk cannot pass for the right one)."""
    block = SENTINEL + bytes(range(256))
    return (block * (size // len(block) + 1))[:size]


async def _put(storage: FilesystemStorage, key: str, data: bytes, piece: int = 1000) -> None:
    writer = await storage.open_writer(key)
    for at in range(0, len(data), piece):
        await writer.write(data[at : at + piece])
    await writer.commit()


async def _get(
    storage: FilesystemStorage, key: str, start: int = 0, end: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, end)])


async def _genuine_prefix_then_refusal(storage: FilesystemStorage, key: str, data: bytes) -> None:
    """The read fails; whatever it gave out before failing is the start of the real bytes."""
    got = bytearray()
    with pytest.raises(ObjectUnreadable):
        async for chunk in storage.read(key):
            got += chunk
    assert data.startswith(bytes(got))


@pytest.fixture
def keys() -> DictKeys:
    return DictKeys()


@pytest.mark.parametrize(
    "size", [1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL, 3 * SMALL + 5, 100 * SMALL + 1]
)
async def test_round_trip_and_ranges_at_chunk_edges(
    tmp_path: Path, keys: DictKeys, size: int
) -> None:
    storage = _storage(tmp_path, keys)
    data = _content(size)
    await _put(storage, "files/f1", data, piece=37)
    assert await _get(storage, "files/f1") == data
    assert (await storage.head("files/f1")).size == size
    edges = {0, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL - 1, 2 * SMALL, size - 1}
    for start in sorted(e for e in edges if 0 <= e < size):
        for end in sorted(e for e in edges | {size + 10} if e >= start):
            assert await _get(storage, "files/f1", start, end) == data[start : end + 1]
    stored = (tmp_path / "files" / "f1").read_bytes()
    assert SENTINEL not in stored
    header = parse_header(stored)
    chunks = max(1, -(-size // SMALL))
    assert len(stored) == len(header.raw) + size + chunks * TAG


async def test_an_empty_object_round_trips(tmp_path: Path, keys: DictKeys) -> None:
    storage = _storage(tmp_path, keys)
    await _put(storage, "files/empty", b"")
    assert await _get(storage, "files/empty") == b""
    assert (await storage.head("files/empty")).size == 0


async def test_several_mib_with_the_default_chunk_and_one_mib_writes(
    tmp_path: Path, keys: DictKeys
) -> None:
    storage = _storage(tmp_path, keys, chunk_size=CHUNK_SIZE)
    data = os.urandom(3 * CHUNK_SIZE + 7)
    await _put(storage, "files/big", data, piece=CHUNK_SIZE)
    assert await _get(storage, "files/big") == data
    for start, end in [(CHUNK_SIZE - 1, CHUNK_SIZE), (2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 6)]:
        assert await _get(storage, "files/big", start, end) == data[start : end + 1]
    assert (await storage.head("files/big")).size == len(data)


@given(
    size=st.integers(0, 12 * SMALL), bounds=st.tuples(st.integers(0, 2000), st.integers(0, 2000))
)
async def test_any_range_of_any_size_reads_the_right_bytes(
    tmp_path_factory: pytest.TempPathFactory, size: int, bounds: tuple[int, int]
) -> None:
    storage = _storage(tmp_path_factory.mktemp("h"), DictKeys())
    data = _content(size)
    await _put(storage, "files/h", data, piece=SMALL // 3)
    start, end = min(bounds), max(bounds)
    if start < size:
        assert await _get(storage, "files/h", start, end) == data[start : end + 1]


async def test_no_plaintext_reaches_the_temporary_file(tmp_path: Path, keys: DictKeys) -> None:
    storage = _storage(tmp_path, keys)
    writer = await storage.open_writer("files/t")
    for _ in range(3):  # over the 1 MiB write buffer: the temporary file gets bytes now
        await writer.write(SENTINEL * (500_000 // len(SENTINEL)))
    temps = [p for p in (tmp_path / "files").iterdir() if p.name.startswith(".tmp.")]
    assert temps, "the writer flushed to its temporary file"
    assert all(SENTINEL not in p.read_bytes() for p in temps)
    await writer.commit()
    assert SENTINEL not in (tmp_path / "files" / "t").read_bytes()


def _layout(path: Path) -> tuple[bytes, list[bytes]]:
    stored = path.read_bytes()
    header = parse_header(stored).raw
    body = stored[len(header) :]
    stride = SMALL + TAG
    return header, [body[i : i + stride] for i in range(0, len(body), stride)]


def _store(path: Path, header: bytes, chunks: list[bytes]) -> None:
    path.write_bytes(header + b"".join(chunks))


@pytest.mark.parametrize(
    "damage",
    [
        "flip-chunk",
        "flip-header-owner",
        "flip-magic",
        "flip-wrapped-key",
        "swap-chunks",
        "drop-chunk",
        "truncate-at-boundary",
        "truncate-mid-chunk",
        "append-chunk",
        "chunk-from-another-object",
        "header-from-another-object",
    ],
)
async def test_changed_stored_objects_are_refused_never_read_wrong(
    tmp_path: Path, keys: DictKeys, damage: str
) -> None:
    storage = _storage(tmp_path, keys)
    data, other = _content(5 * SMALL + 9), bytes(reversed(_content(5 * SMALL + 9)))
    await _put(storage, "files/a", data)
    await _put(storage, "files/b", other)
    path = tmp_path / "files" / "a"
    header, chunks = _layout(path)
    other_header, other_chunks = _layout(tmp_path / "files" / "b")
    raw = bytearray(path.read_bytes())
    if damage == "flip-chunk":
        raw[len(header) + 2 * (SMALL + TAG) + 5] ^= 0x01
        path.write_bytes(raw)
    elif damage == "flip-header-owner":
        raw[14] ^= 0x01
        path.write_bytes(raw)
    elif damage == "flip-magic":
        raw[3] ^= 0x20
        path.write_bytes(raw)
    elif damage == "flip-wrapped-key":
        raw[len(header) - 3] ^= 0x80
        path.write_bytes(raw)
    elif damage == "swap-chunks":
        chunks[1], chunks[2] = chunks[2], chunks[1]
        _store(path, header, chunks)
    elif damage == "drop-chunk":
        _store(path, header, chunks[:2] + chunks[3:])
    elif damage == "truncate-at-boundary":
        _store(path, header, chunks[:3])
    elif damage == "truncate-mid-chunk":
        path.write_bytes(raw[: len(header) + 3 * (SMALL + TAG) + 7])
    elif damage == "append-chunk":
        _store(path, header, [*chunks, chunks[0]])
    elif damage == "chunk-from-another-object":
        chunks[2] = other_chunks[2]
        _store(path, header, chunks)
    elif damage == "header-from-another-object":
        _store(path, other_header, chunks)
    await _genuine_prefix_then_refusal(storage, "files/a", data)
    # A range inside the damage is refused too, whatever it asks for.
    if damage not in {"truncate-at-boundary", "drop-chunk", "append-chunk", "truncate-mid-chunk"}:
        with pytest.raises(ObjectUnreadable):
            await _get(storage, "files/a", 2 * SMALL, 3 * SMALL)
    else:
        with pytest.raises(ObjectUnreadable):
            await _get(storage, "files/a", 4 * SMALL, 5 * SMALL + 8)
    # The undamaged object still reads.
    assert await _get(storage, "files/b") == other


async def test_two_objects_files_swapped_are_refused(tmp_path: Path, keys: DictKeys) -> None:
    storage = _storage(tmp_path, keys)
    await _put(storage, "files/a", _content(300))
    await _put(storage, "files/b", _content(301))
    a, b = tmp_path / "files" / "a", tmp_path / "files" / "b"
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    for key in ("files/a", "files/b"):
        with pytest.raises(ObjectUnreadable):
            await _get(storage, key)


async def test_a_destroyed_account_key_makes_its_objects_unreadable(
    tmp_path: Path, keys: DictKeys
) -> None:
    storage = _storage(tmp_path, keys)
    keys.owner_of.update({"mine": "acct-1", "theirs": "acct-2"})
    await _put(storage, "files/mine", _content(500))
    await _put(storage, "files/theirs", _content(500))
    del keys.keys["acct-1"]
    with pytest.raises(ObjectUnreadable, match="destroyed"):
        await _get(storage, "files/mine")
    assert await _get(storage, "files/theirs") == _content(500)


async def test_plain_objects_stay_readable_and_encrypted_ones_need_the_keys(
    tmp_path: Path, keys: DictKeys
) -> None:
    plain = _storage(tmp_path, None)
    await _put(plain, "files/old", b"%PDF-1.7 " + SENTINEL)
    encrypted = _storage(tmp_path, keys)
    assert await _get(encrypted, "files/old") == b"%PDF-1.7 " + SENTINEL
    assert await _get(encrypted, "files/old", 2, 4) == b"DF-"
    await _put(encrypted, "files/new", b"%PDF-1.7 " + SENTINEL)
    with pytest.raises(ObjectUnreadable, match="no encryption key"):
        await _get(plain, "files/new")


@pytest.fixture
def key_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "master.key"
    path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    path.chmod(0o600)
    yield path


def test_a_master_key_file_must_be_private_and_hold_32_bytes(key_file: Path) -> None:
    master = MasterKey.load(key_file)
    account = new_secret()
    assert master.unwrap("a", master.wrap("a", account)) == account
    with pytest.raises(EncryptionKeyError):
        master.unwrap("b", master.wrap("a", account))  # bound to its account
    key_file.chmod(0o644)
    with pytest.raises(EncryptionKeyError, match="readable by others"):
        MasterKey.load(key_file)
    key_file.chmod(0o600)
    for bad in (b"", b"not base64!", base64.b64encode(b"x" * 31)):
        key_file.write_bytes(bad)
        with pytest.raises(EncryptionKeyError, match="32 bytes"):
            MasterKey.load(key_file)
    with pytest.raises(EncryptionKeyError, match="does not exist"):
        MasterKey.load(key_file.with_name("missing.key"))
