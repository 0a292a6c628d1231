"""Link tokens: 256 random bits in the URL, only their SHA-256 in the database.

A token is looked up by its hash (an index on a digest of a secret with 256 bits of entropy
reveals nothing by its timing), and the row found is then compared with
:func:`hmac.compare_digest`, so that no comparison of ours depends on where two values differ.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# ``secrets.token_urlsafe(32)``: 32 random bytes, 43 base64url characters without padding.
TOKEN_BYTES = 32
_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    """A fresh token of 256 random bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` has the shape of one we issue (anything else is unknown at once)."""
    return _SHAPE.fullmatch(token) is not None


def matches(stored_hash: str, token: str) -> bool:
    """Constant-time check that ``token`` is the one whose hash was stored."""
    return hmac.compare_digest(stored_hash.encode("ascii"), token_hash(token).encode("ascii"))
