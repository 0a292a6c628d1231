"""The schema. Portable across SQLite and PostgreSQL: no dialect-only types or features."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assured_server.db.types import UTCDateTime

# Named constraints so that migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
ID = String(36)


class Base(DeclarativeBase):
    """Declarative base with the shared metadata."""

    metadata = MetaData(naming_convention=NAMING)


class Account(Base):
    """A tenant: every file, key and user belongs to exactly one."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class User(Base):
    """A person who signs in with a username and an argon2-hashed password."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set by ``admin disable-user``: no more logins, and the user's tokens are refused.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ApiKey(Base):
    """A machine credential; only the SHA-256 of its secret is kept."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # When the key was last exchanged for tokens (written at most once a minute per key).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RevokedToken(Base):
    """A refresh token's ``jti`` that no longer refreshes, kept until the token would expire."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class StoredFile(Base):
    """A file of either API, from its pending upload to its expiry."""

    __tablename__ = "files"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    file_name: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    rejection_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    business_process: Mapped[str | None] = mapped_column(String(400), nullable=True)
    business_process_action: Mapped[str | None] = mapped_column(String(400), nullable=True)
    origin: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    upload_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set once the bytes are gone (expired or rejected), so the sweeper touches each file once.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A sweeper or an upload (of any worker or replica) that works on this row holds it until
    # then: no file is processed by two of them at once, and a crashed one's claim runs out.
    sweep_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Content safety (the File object's ``scan`` and ``contentFlags``). ``scan_status`` is null
    # until the bytes were inspected (then ``skipped``, ``clean`` or ``infected``), or
    # ``pending`` while the bytes wait, stored, for a scanner that could not be reached.
    scan_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    scan_engine: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scan_signature: Mapped[str | None] = mapped_column(String(255), nullable=True)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Space-separated flags (``pdf_javascript pdf_encrypted``): a closed set of short words.
    content_flags: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The upload link the file was created through, or None (no foreign key: a link row is
    # never deleted while its account lives, and the account's deletion cascades to both).
    upload_link_id: Mapped[str | None] = mapped_column(ID, nullable=True)

    __table_args__ = (
        Index("ix_files_account_id_id", "account_id", "id"),
        Index("ix_files_upload_link_id", "upload_link_id"),
        Index("ix_files_status_expires_at", "status", "expires_at"),
        Index("ix_files_status_upload_expires_at", "status", "upload_expires_at"),
    )


class ProviderProfile(Base):
    """A healthcare provider whose documents an account collects."""

    __tablename__ = "provider_profiles"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(150))
    last_name: Mapped[str] = mapped_column(String(150))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    npi: Mapped[str | None] = mapped_column(String(10), nullable=True)
    specialty: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_provider_profiles_account_id_id", "account_id", "id"),)


class ProviderDocument(Base):
    """The association of an available file with a provider profile."""

    __tablename__ = "provider_documents"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(
        ID, ForeignKey("provider_profiles.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[str] = mapped_column(ID, ForeignKey("files.id", ondelete="CASCADE"), index=True)
    document_name: Mapped[str] = mapped_column(String(255))
    document_type: Mapped[str] = mapped_column(String(100))
    document_url: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_provider_documents_account_id_id", "account_id", "id"),)


# How long a stored first response answers repeats of its Idempotency-Key.
IDEMPOTENCY_RETENTION = timedelta(hours=24)


class IdempotencyRecord(Base):
    """The first request made with an ``Idempotency-Key`` and, once done, its response."""

    __tablename__ = "idempotency_keys"
    account_id: Mapped[str] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(1024))
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    response_status: Mapped[int | None] = mapped_column(nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class DeletedAccount(Base):
    """An account removed by ``admin delete-account``: the tokens it was given are refused.

    Kept while tokens issued before the deletion could still be valid.
    """

    __tablename__ = "deleted_accounts"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class UploadLink(Base):
    """A link that lets a person without an account upload up to ``max_files`` files.

    Only the SHA-256 of its token is kept: the URL is shown once, when the link is created.
    """

    __tablename__ = "upload_links"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    account_id: Mapped[str] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Space-separated canonical types of the content-type table.
    content_types: Mapped[str] = mapped_column(String(500))
    max_files: Mapped[int] = mapped_column(Integer)
    files_uploaded: Mapped[int] = mapped_column(Integer)
    # The ``expiration`` of each file created through the link, in seconds.
    file_expires_in: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    business_process: Mapped[str | None] = mapped_column(String(400), nullable=True)
    business_process_action: Mapped[str | None] = mapped_column(String(400), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_upload_links_account_id_id", "account_id", "id"),)


class EncryptionKey(Base):
    """An account's key for encryption at rest, wrapped by the master key (never in the clear).

    Deleting the row is crypto-shredding: the account's objects, wherever copies of them are,
    can no longer be decrypted. The reserved owner ``*`` holds a check key that proves which
    master key the server must start with, even before any account has a key.
    """

    __tablename__ = "encryption_keys"
    owner: Mapped[str] = mapped_column(ID, primary_key=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary(128))
    # Which master key wrapped it (an id derived from the key): a rotation resumes by it.
    master_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ResumableUpload(Base):
    """A tus upload of a pending file: how far it got, where its bytes are, who writes now."""

    __tablename__ = "resumable_uploads"
    file_id: Mapped[str] = mapped_column(
        ID, ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    upload_length: Mapped[int] = mapped_column(BigInteger)
    # Every offset acknowledged with a 204 is here, committed before the answer.
    upload_offset: Mapped[int] = mapped_column(BigInteger)
    # The stored segments (JSON: their start offsets), see ``files.resumable``.
    segments: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The one request writing now (any worker or replica) holds the upload until then.
    writer_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
