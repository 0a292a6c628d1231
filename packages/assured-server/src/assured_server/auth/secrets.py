"""Passwords (argon2) and API keys (random, shown once, kept as SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assured_server.clock import is_uuid

_HASHER = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
API_KEY_PREFIX = "asd_"


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; takes the same time whether or not the user exists."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly made key: the full value goes to the user once, only the hash is stored."""

    key_id: str
    value: str
    secret_hash: str


def new_api_key(key_id: str) -> NewApiKey:
    """Make a key ``asd_<key id>_<secret>``; the id lets the server find the row to compare."""
    secret = secrets.token_urlsafe(32)
    return NewApiKey(key_id, f"{API_KEY_PREFIX}{key_id}_{secret}", hash_secret(secret))


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (a slow hash adds nothing for 256 random bits)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_api_key(value: str) -> tuple[str, str] | None:
    """``(key id, secret)`` from a presented key, or ``None`` if it is not of our shape."""
    if not value.startswith(API_KEY_PREFIX):
        return None
    key_id, sep, secret = value[len(API_KEY_PREFIX) :].partition("_")
    # Key ids are UUIDs: anything else (a NUL, which PostgreSQL refuses to compare) is no key.
    if not sep or not is_uuid(key_id) or not secret or len(secret) > 128:
        return None
    return key_id, secret


def secret_matches(stored_hash: str, secret: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(stored_hash, hash_secret(secret))
