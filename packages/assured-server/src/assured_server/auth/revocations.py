"""Tokens refused before they expire: those of revoked API keys, disabled users and deleted
accounts.

Each server process keeps the set in memory and reloads it from the database every
``ASSURED_REVOCATION_REFRESH_INTERVAL`` seconds (30 at most), so every worker and replica
refuses such a token within that interval plus one reload; checking a token is two set lookups.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio

from assured_server.auth.tokens import LEEWAY
from assured_server.clock import utcnow
from assured_server.config import Settings
from assured_server.stores.accounts import Accounts

log = logging.getLogger(__name__)
# Deletions older than the horizon are forgotten about once an hour at the default interval.
PURGE_EVERY = 120


class Revocations:
    """The subjects and accounts whose tokens this process refuses."""

    def __init__(self, store: Accounts, settings: Settings) -> None:
        self._store = store
        self._interval = settings.revocation_refresh_interval
        # No token issued before this long ago can still be valid (a refresh token's last
        # access token outlives it by one access lifetime), so older revocations need no entry.
        self._horizon = (
            timedelta(seconds=settings.refresh_token_ttl + settings.access_token_ttl) + 2 * LEEWAY
        )
        self._subjects: frozenset[str] = frozenset()
        self._accounts: frozenset[str] = frozenset()

    def refuses(self, subject: str, account_id: str) -> bool:
        """Whether a token of this subject and account must be refused."""
        return subject in self._subjects or account_id in self._accounts

    async def reload(self) -> None:
        """Read the set again from the database."""
        now = utcnow()
        refused = await self._store.refused_since(now - self._horizon)
        self._subjects, self._accounts = refused.subjects, refused.accounts

    async def run(self) -> None:
        """Load now, then reload forever; a failed load keeps the last set and is retried at
        the next interval (the database may be briefly away: the server keeps serving)."""
        rounds = 0
        while True:
            try:
                await self.reload()
                if rounds and rounds % PURGE_EVERY == 0:
                    await self._store.purge_deleted_accounts(utcnow() - self._horizon)
            except Exception as exc:  # noqa: BLE001 - logged; retried at the next interval
                # One line, no traceback: this runs every interval while the database (or the
                # machine's open files) is short, and must not flood the log.
                log.warning("could not reload the revoked tokens (%s: %s)", type(exc).__name__, exc)
            rounds += 1
            await anyio.sleep(self._interval)
