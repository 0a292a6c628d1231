"""The server's upload limit, as the clients remember it (no I/O here).

``GET /v3/accounts/{accountId}/upload-limits`` says how large an upload may be. The clients ask
once, before the first upload whose size they know, and remember the answer for a few minutes,
so that a file over the limit is refused before a byte is sent or a record is made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from assured.exceptions import FileTooLargeError

LIMIT_TTL = 300.0
"""Seconds an answer is trusted: a server restarted with another limit is noticed this soon."""


def upload_limits_path(account_id: str) -> str:
    """``/v3/accounts/{accountId}/upload-limits``."""
    return f"/v3/accounts/{quote(account_id, safe='')}/upload-limits"


@dataclass
class UploadLimit:
    """The last answer about the limit; shared by a client and its ``with_options`` copies."""

    max_size: int | None = None
    """The largest accepted upload in bytes; ``None`` while unknown or when the server does not
    say (an older server without the route: then only the upload itself can be refused)."""
    asked_at: float | None = None

    def fresh(self, now: float | None = None) -> bool:
        """Whether the remembered answer can still be used."""
        if self.asked_at is None:
            return False
        return (time.monotonic() if now is None else now) - self.asked_at < LIMIT_TTL

    def remember(self, body: Any, now: float | None = None) -> None:
        """Keep the ``maxSize`` of an answer (anything else, or no answer, means unknown)."""
        value = body.get("maxSize") if isinstance(body, dict) else None
        valid = isinstance(value, int) and not isinstance(value, bool) and value > 0
        self.max_size = value if valid else None
        self.asked_at = time.monotonic() if now is None else now


def check_size(size: int | None, max_size: int | None, filename: str | None) -> None:
    """Refuse a file whose known size is over a known limit."""
    if size is not None and max_size is not None and size > max_size:
        raise FileTooLargeError(size, max_size, filename)
