"""Accounts, their users and API keys, and revoked refresh tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from assured_server.db.engine import Database
from assured_server.db.models import Account, ApiKey, RevokedToken, User


class Accounts:
    """Reading and changing accounts, users, API keys and token revocations."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, row: Account | ApiKey | User) -> None:
        """Insert a new account, key or user; raises ``ConstraintViolation`` for a duplicate
        (a taken username)."""
        async with self._db.write() as session:
            session.add(row)
            await session.flush()

    async def account(self, account_id: str) -> Account | None:
        """The account with that id, or ``None``."""
        async with self._db.read() as session:
            return await session.get(Account, account_id)

    async def user_named(self, username: str) -> User | None:
        """The user with that username, or ``None``."""
        async with self._db.read() as session:
            return await session.scalar(select(User).where(User.username == username))

    async def api_key(self, key_id: str) -> ApiKey | None:
        """The API key with that id (revoked or not), or ``None``."""
        async with self._db.read() as session:
            return await session.get(ApiKey, key_id)

    async def refresh_allowed(self, jti: str, subject: str) -> bool:
        """Whether a refresh token is not revoked and its subject (a user, or a key that is not
        revoked) still exists: one snapshot for the three reads."""
        async with self._db.read() as session:
            if await session.get(RevokedToken, jti) is not None:
                return False
            key = await session.get(ApiKey, subject)
            if key is not None:
                return key.revoked_at is None
            return await session.get(User, subject) is not None

    async def revoke(self, jti: str, expires_at: datetime) -> None:
        """Record a refresh token as revoked (idempotent)."""
        async with self._db.write() as session:
            if await session.get(RevokedToken, jti) is None:
                session.add(RevokedToken(jti=jti, expires_at=expires_at))

    async def purge_revocations(self, now: datetime) -> int:
        """Forget revocations of tokens that have expired anyway; how many."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(RevokedToken).where(RevokedToken.expires_at < now)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]
