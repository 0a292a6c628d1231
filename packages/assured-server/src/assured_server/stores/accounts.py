"""Accounts, their users and API keys, and revoked refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from assured_server.db.engine import Database
from assured_server.db.models import (
    Account,
    ApiKey,
    DeletedAccount,
    EncryptionKey,
    IdempotencyRecord,
    ProviderDocument,
    ProviderProfile,
    RevokedToken,
    StoredFile,
    UploadLink,
    User,
)


@dataclass(frozen=True, slots=True)
class Refused:
    """Whose tokens are refused: revoked keys and disabled users (by subject), deleted accounts."""

    subjects: frozenset[str]
    accounts: frozenset[str]


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
            user = await session.get(User, subject)
            return user is not None and user.disabled_at is None

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

    async def accounts(self) -> list[Account]:
        """Every account, oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(select(Account).order_by(Account.created_at, Account.id))
            return list(rows)

    async def api_keys_of(self, account_id: str) -> list[ApiKey]:
        """The account's API keys (revoked or not), oldest first."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(ApiKey)
                .where(ApiKey.account_id == account_id)
                .order_by(ApiKey.created_at, ApiKey.id)
            )
            return list(rows)

    async def revoke_api_key(self, key_id: str, now: datetime) -> ApiKey | None:
        """Revoke the key (a key revoked before keeps its first time); ``None`` if unknown."""
        async with self._db.write() as session:
            row = await session.get(ApiKey, key_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = now
            return row

    async def note_key_use(self, key_id: str, now: datetime, every: timedelta) -> None:
        """Record the key's use at ``now`` unless one was recorded less than ``every`` ago (a
        conditional write: no two workers both write within ``every``)."""
        async with self._db.write() as session:
            await session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == key_id,
                    or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - every),
                )
                .values(last_used_at=now)
            )

    async def disable_user(self, username: str, now: datetime) -> User | None:
        """Disable the user (one disabled before keeps its first time); ``None`` if unknown."""
        async with self._db.write() as session:
            row = await session.scalar(select(User).where(User.username == username))
            if row is not None and row.disabled_at is None:
                row.disabled_at = now
            return row

    async def file_ids_of(self, account_id: str) -> list[str]:
        """The ids of every file row of the account (any status)."""
        async with self._db.read() as session:
            rows = await session.scalars(
                select(StoredFile.id).where(StoredFile.account_id == account_id)
            )
            return list(rows)

    async def shred(self, account_id: str) -> bool:
        """Destroy the account's encryption key (its objects, and every copy of them, become
        unreadable); whether it had one."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(EncryptionKey).where(EncryptionKey.owner == account_id)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_account(self, account_id: str, now: datetime) -> bool:
        """Delete the account and every row of it in one transaction, and remember it as deleted
        (its tokens are refused); ``False`` if there is no such account."""
        async with self._db.write() as session:
            if await session.get(Account, account_id) is None:
                return False
            # Its encryption key too: one made by an upload since the shredding must not survive.
            await session.execute(delete(EncryptionKey).where(EncryptionKey.owner == account_id))
            for model in (
                ProviderDocument,
                ProviderProfile,
                StoredFile,
                UploadLink,
                IdempotencyRecord,
                User,
                ApiKey,
            ):
                await session.execute(delete(model).where(model.account_id == account_id))
            await session.execute(delete(Account).where(Account.id == account_id))
            session.add(DeletedAccount(id=account_id, deleted_at=now))
        return True

    async def refused_since(self, since: datetime) -> Refused:
        """Keys revoked, users disabled and accounts deleted at or after ``since`` (older ones
        gave tokens that have expired anyway)."""
        async with self._db.read() as session:
            keys = await session.scalars(select(ApiKey.id).where(ApiKey.revoked_at >= since))
            users = await session.scalars(select(User.id).where(User.disabled_at >= since))
            gone = await session.scalars(
                select(DeletedAccount.id).where(DeletedAccount.deleted_at >= since)
            )
            return Refused(frozenset([*keys, *users]), frozenset(gone))

    async def purge_deleted_accounts(self, before: datetime) -> int:
        """Forget deletions older than ``before``; how many."""
        async with self._db.write() as session:
            result = await session.execute(
                delete(DeletedAccount).where(DeletedAccount.deleted_at < before)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]
