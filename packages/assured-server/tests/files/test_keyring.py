"""The keyring over real databases (SQLite, PostgreSQL): first keys, start-up checks, rotation,
shredding."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from server_helpers import create_postgres_database, drop_postgres_database

from assured_server.clock import utcnow
from assured_server.db.engine import Database
from assured_server.db.migrate import migrate
from assured_server.db.models import Account, StoredFile
from assured_server.files.keyring import CHECK_OWNER, Keyring, rotate
from assured_server.storage.encryption import EncryptionKeyError, MasterKey, new_secret
from assured_server.stores import Stores


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    # Not async: making a PostgreSQL database runs an event loop of its own.
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'k.db'}"
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[Stores]:
    db = Database(database_url)
    try:
        await migrate(db)
        yield Stores(db)
    finally:
        await db.dispose()


async def _file(stores: Stores, account_id: str, file_id: str) -> None:
    now = utcnow()
    if await stores.accounts.account(account_id) is None:
        await stores.accounts.add(Account(id=account_id, name="a", created_at=now))
    await stores.files.add(
        StoredFile(
            id=file_id,
            account_id=account_id,
            file_name="a.pdf",
            content_type="application/pdf",
            status="pending",
            origin="v1",
            created_at=now,
        )
    )


ACCOUNT = "0190c0de-0000-7000-8000-000000000001"
OTHER = "0190c0de-0000-7000-8000-000000000002"
FILE = "0190c0de-0000-7000-8000-0000000000f1"
OTHER_FILE = "0190c0de-0000-7000-8000-0000000000f2"


async def test_keys_are_made_once_per_account_and_only_the_master_unwraps_them(
    stores: Stores,
) -> None:
    master = MasterKey(new_secret())
    ring = Keyring(master, stores.encryption_keys, stores.files)
    await ring.check()  # the first start stores the check key
    await _file(stores, ACCOUNT, FILE)
    first = await ring.for_object(f"files/{FILE}")
    # Another process (its own cache) gets the same key for the same account.
    again = await Keyring(master, stores.encryption_keys, stores.files).for_object(
        f"uploads/{FILE}"
    )
    assert first == again and first.owner == ACCOUNT
    row = await stores.encryption_keys.get(ACCOUNT)
    assert row is not None and first.secret not in row.wrapped
    with pytest.raises(EncryptionKeyError, match="not the master key"):
        await Keyring(MasterKey(new_secret()), stores.encryption_keys, stores.files).check()


async def test_an_interrupted_rotation_refuses_both_keys_until_it_is_run_again(
    stores: Stores,
) -> None:
    old, new = MasterKey(new_secret()), MasterKey(new_secret())
    ring = Keyring(old, stores.encryption_keys, stores.files)
    await ring.check()
    await _file(stores, ACCOUNT, FILE)
    await _file(stores, OTHER, OTHER_FILE)
    secrets = {
        ACCOUNT: (await ring.for_object(f"files/{FILE}")).secret,
        OTHER: (await ring.for_object(f"files/{OTHER_FILE}")).secret,
    }
    # Interrupted after one key: that one is under the new master, the others under the old.
    row = await stores.encryption_keys.get(ACCOUNT)
    assert row is not None
    wrapped = new.wrap(ACCOUNT, old.unwrap(ACCOUNT, row.wrapped))
    assert await stores.encryption_keys.rewrap(ACCOUNT, old.key_id, wrapped, new.key_id)
    for master in (old, new):
        with pytest.raises(EncryptionKeyError, match="interrupted"):
            await Keyring(master, stores.encryption_keys, stores.files).check()
    done = await rotate(stores.encryption_keys, old, new)
    assert (done.rewrapped, done.already) == (2, 1)  # the check key and OTHER; ACCOUNT was done
    assert (await rotate(stores.encryption_keys, old, new)).rewrapped == 0
    after = Keyring(new, stores.encryption_keys, stores.files)
    await after.check()
    for owner, secret in secrets.items():
        assert await after.for_owner(owner) == secret  # no object needs rewriting
    assert await after.for_owner(CHECK_OWNER) is not None
    with pytest.raises(EncryptionKeyError):
        await Keyring(old, stores.encryption_keys, stores.files).check()


async def test_a_destroyed_key_is_gone_for_every_keyring(stores: Stores) -> None:
    master = MasterKey(new_secret())
    ring = Keyring(master, stores.encryption_keys, stores.files)
    await _file(stores, ACCOUNT, FILE)
    await ring.for_object(f"files/{FILE}")
    assert await stores.accounts.shred(ACCOUNT)
    assert await Keyring(master, stores.encryption_keys, stores.files).for_owner(ACCOUNT) is None
    assert await ring.destroy(ACCOUNT) is False  # already gone; its cache is dropped too
    assert await ring.for_owner(ACCOUNT) is None
