"""Accounts, users and API keys: the rules for making them, and turning credentials into a
subject (their rows are read and written by ``stores.accounts``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from assured_server.auth.password_pool import PasswordPool
from assured_server.auth.scopes import DEFAULT_SCOPES, parse_scopes
from assured_server.auth.secrets import (
    hash_password,
    new_api_key,
    secret_matches,
    split_api_key,
)
from assured_server.clock import new_id, utcnow
from assured_server.db.errors import ConstraintViolation
from assured_server.db.models import Account, ApiKey, User
from assured_server.stores.accounts import Accounts

log = logging.getLogger(__name__)
# A key's last use is written at most this often: exchanges in between add no write.
KEY_USE_RESOLUTION = timedelta(minutes=1)


class AdminError(ValueError):
    """An admin command cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class Subject:
    """A verified caller: what goes into its tokens."""

    subject: str
    account_id: str
    scopes: str


async def create_account(store: Accounts, name: str) -> Account:
    """A new account."""
    name = name.strip()
    if not name or len(name) > 200:
        raise AdminError("the account name must be 1 to 200 characters")
    account = Account(id=new_id(), name=name, created_at=utcnow())
    await store.add(account)
    return account


async def create_api_key(
    store: Accounts, account_id: str, scopes: str | None
) -> tuple[ApiKey, str]:
    """A new key for the account; returns the row and the full key (shown once)."""
    if await store.account(account_id) is None:
        raise AdminError(f"no account {account_id}")
    normalized = parse_scopes(scopes) if scopes is not None else DEFAULT_SCOPES
    key_id = new_id()
    made = new_api_key(key_id)
    row = ApiKey(
        id=key_id,
        account_id=account_id,
        secret_hash=made.secret_hash,
        scopes=normalized,
        created_at=utcnow(),
    )
    await store.add(row)
    return row, made.value


async def create_user(store: Accounts, account_id: str, username: str, password: str) -> User:
    """A new user with an argon2-hashed password and the default scopes."""
    if await store.account(account_id) is None:
        raise AdminError(f"no account {account_id}")
    if not username or len(username) > 150 or username != username.strip():
        raise AdminError("the username must be 1 to 150 characters without surrounding spaces")
    if len(password) < 8:
        raise AdminError("the password must be at least 8 characters")
    user = User(
        id=new_id(),
        account_id=account_id,
        username=username,
        password_hash=hash_password(password),
        scopes=DEFAULT_SCOPES,
        created_at=utcnow(),
    )
    try:
        await store.add(user)
    except ConstraintViolation as exc:
        raise AdminError(f"the username {username!r} is taken") from exc
    return user


async def authenticate_password(
    store: Accounts, passwords: PasswordPool, username: str, password: str
) -> Subject | None:
    """The user behind a username and password, or ``None``; raises ``PasswordPoolFull``.

    An unknown username is checked against a dummy hash: same time, no hint it is unknown.
    """
    user = await store.user_named(username)
    if user is not None and user.disabled_at is not None:
        user = None  # a disabled user is checked like an unknown one
    password_hash = user.password_hash if user else None
    subject = Subject(user.id, user.account_id, user.scopes) if user else None
    # The read is over first: checks waiting for the pool hold no database connection.
    # (No hash, no user: verify_password is False after the same work.)
    return subject if await passwords.verify(password_hash, password) else None


async def authenticate_api_key(store: Accounts, value: str) -> Subject | None:
    """The key behind a presented API key value, or ``None``."""
    parts = split_api_key(value)
    if parts is None:
        return None
    key_id, secret = parts
    row = await store.api_key(key_id)
    if row is None or row.revoked_at is not None or not secret_matches(row.secret_hash, secret):
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= KEY_USE_RESOLUTION:
        try:
            await store.note_key_use(row.id, now, KEY_USE_RESOLUTION)
        except Exception:  # noqa: BLE001 - bookkeeping: a failed write must not fail the login
            log.warning("could not record the use of API key %s", row.id, exc_info=True)
    return Subject(row.id, row.account_id, row.scopes)
