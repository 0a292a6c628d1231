"""Accounts, users and API keys in the database, and turning credentials into a subject."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assured_server.auth.password_pool import PasswordPool
from assured_server.auth.scopes import DEFAULT_SCOPES, parse_scopes
from assured_server.auth.secrets import (
    hash_password,
    new_api_key,
    secret_matches,
    split_api_key,
)
from assured_server.clock import new_id, utcnow
from assured_server.db.engine import Database
from assured_server.db.models import Account, ApiKey, RevokedToken, User


class AdminError(ValueError):
    """An admin command cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class Subject:
    """A verified caller: what goes into its tokens."""

    subject: str
    account_id: str
    scopes: str


async def create_account(session: AsyncSession, name: str) -> Account:
    """A new account."""
    name = name.strip()
    if not name or len(name) > 200:
        raise AdminError("the account name must be 1 to 200 characters")
    account = Account(id=new_id(), name=name, created_at=utcnow())
    session.add(account)
    await session.flush()
    return account


async def create_api_key(
    session: AsyncSession, account_id: str, scopes: str | None
) -> tuple[ApiKey, str]:
    """A new key for the account; returns the row and the full key (shown once)."""
    if await session.get(Account, account_id) is None:
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
    session.add(row)
    await session.flush()
    return row, made.value


async def create_user(session: AsyncSession, account_id: str, username: str, password: str) -> User:
    """A new user with an argon2-hashed password and the default scopes."""
    if await session.get(Account, account_id) is None:
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
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AdminError(f"the username {username!r} is taken") from exc
    return user


async def authenticate_password(
    db: Database, passwords: PasswordPool, username: str, password: str
) -> Subject | None:
    """The user behind a username and password, or ``None``; raises ``PasswordPoolFull``.

    An unknown username is checked against a dummy hash: same time, no hint it is unknown.
    """
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.username == username))
        password_hash = user.password_hash if user else None
        subject = Subject(user.id, user.account_id, user.scopes) if user else None
    # The session is given back first: checks waiting for the pool hold no database connection.
    # (No hash, no user: verify_password is False after the same work.)
    return subject if await passwords.verify(password_hash, password) else None


async def authenticate_api_key(session: AsyncSession, value: str) -> Subject | None:
    """The key behind a presented API key value, or ``None``."""
    parts = split_api_key(value)
    if parts is None:
        return None
    key_id, secret = parts
    row = await session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None or not secret_matches(row.secret_hash, secret):
        return None
    return Subject(row.id, row.account_id, row.scopes)


async def subject_is_active(session: AsyncSession, subject: str) -> bool:
    """Whether a token's subject (a user or a key) still exists and is not revoked."""
    key = await session.get(ApiKey, subject)
    if key is not None:
        return key.revoked_at is None
    return await session.get(User, subject) is not None


async def is_revoked(session: AsyncSession, jti: str) -> bool:
    """Whether a refresh token was revoked."""
    return await session.get(RevokedToken, jti) is not None


async def revoke(session: AsyncSession, jti: str, expires_at: object) -> None:
    """Record a refresh token as revoked (idempotent)."""
    if await session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))


async def purge_revocations(session: AsyncSession) -> int:
    """Forget revocations of tokens that have expired anyway."""
    result = await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]
