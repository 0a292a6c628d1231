"""Failed credential exchanges (``POST /api/v1/auth/token/``) slow their sender down.

Every attempt is checked against counters of failed attempts before anything else is done:
no database read, no password hash. Past a counter's free allowance each further attempt
must wait out a back-off that doubles with every failure (1 s, 2 s, 4 s … at most 15 min),
answered 429 ``RATE_LIMITED`` with ``Retry-After``. A throttled attempt is not counted:
hammering a 429 neither costs a hash nor lengthens anyone's wait.

Three counters, because a lock-out is what an attacker buys by failing on purpose:

- **(address, username)**, 5 free failures: one client guessing one account. A success
  resets it and makes the pair *known*.
- **address**, 30 free failures (password and API-key attempts alike): one client trying
  many usernames, which the pair counter never sees add up. A success does not reset it,
  or one valid account would buy a fresh allowance between guesses at the others.
- **username**, 100 free failures from all addresses together: many addresses guessing one
  account, each within its own allowances.

A failure charges its own address's counters and the username's. The username counter is
the only one another address shares, and it has the largest allowance: locking a user out
takes 100 failures, from at least 20 addresses unless each waits out growing back-offs.
Even then a known pair (an address the user has logged in from) is exempt from the address
and username counters, so the user's own address stays open; an attacker cannot make a
pair known without the password. IPv6 addresses count by their /64: one host commonly holds
a whole /64, and every address of it would otherwise bring a fresh allowance.

An address past its allowance is refused before its request is even read
(:meth:`LoginThrottle.refuse_address`, which the HTTP layer asks first): a flood of throttled
attempts then costs the server about what ``/healthz`` does. Only an address with no known pair
is refused that way, since the username (in the body) is needed to tell a known pair; the
address record notes that a pair of it became known, for as long as the record is kept.

A counter forgets its failures an hour after the last one. Concurrent attempts cannot
outrun the count: those in flight count against the allowance, and past it one attempt at
a time is let through. Memory is bounded: at most ``max_entries`` records (keys are 16-byte
BLAKE2 digests, so a long username costs what a short one does), the least recently used
evicted first. The state is per process: every worker and replica counts on its own.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

BASE_DELAY = 1.0
MAX_DELAY = 900.0
FORGET_AFTER = 3600.0
PAIR_ALLOWANCE = 5
ADDRESS_ALLOWANCE = 30
USERNAME_ALLOWANCE = 100
MAX_ENTRIES = 20_000


class Throttled(Exception):
    """The attempt must wait ``retry_after`` seconds (a positive integer)."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"retry after {retry_after} s")


@dataclass(slots=True)
class _Record:
    failures: int = 0
    in_flight: int = 0
    blocked_until: float = 0.0
    last_failure: float = 0.0
    known: bool = False  # a pair: it logged in; an address: one of its pairs did


def client_address(host: str | None) -> str:
    """The address attempts are counted by: the IP, or for IPv6 its /64."""
    if not host:
        return "-"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginThrottle:
    """The counters of one process; see the module docstring."""

    def __init__(
        self, *, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_entries = max_entries
        self._clock = clock
        self._records: OrderedDict[bytes, _Record] = OrderedDict()
        self._salt = secrets.token_bytes(16)

    def __len__(self) -> int:
        """How many records are kept."""
        return len(self._records)

    def begin(self, address: str, username: str | None) -> Attempt:
        """Admit one attempt (``username`` ``None``: an API key), or raise :class:`Throttled`."""
        pair = self._key("pair", address, username) if username is not None else None
        now = self._clock()
        keys = [pair] if pair is not None else []
        pair_record = self._records.get(pair) if pair is not None else None
        if pair_record is None or not pair_record.known:
            keys.append(self._key("address", address))
            if username is not None:
                keys.append(self._key("username", username))
        wait = max(self._wait(key, now) for key in keys)
        if wait > 0:
            raise Throttled(max(1, math.ceil(wait)))
        for key in keys:
            self._record(key).in_flight += 1
        return Attempt(functools.partial(self._finish, keys, pair))

    def refuse_address(self, address: str) -> int | None:
        """Seconds to ``Retry-After`` if every attempt from ``address`` would be refused now.

        ``None`` unless the address counter is past its allowance and no pair of the address
        is known (a known pair is exempt from it, and telling one needs the username).
        """
        key = self._key("address", address)
        record = self._records.get(key)
        if record is None or record.known:
            return None
        wait = self._wait(key, self._clock())
        return max(1, math.ceil(wait)) if wait > 0 else None

    # -- one attempt's verdict (through Attempt) ---------------------------------------------

    def _finish(self, keys: list[bytes], pair: bytes | None, verdict: bool | None) -> None:
        now = self._clock()
        for key in keys:
            record = self._records.get(key)
            if record is None:  # evicted meanwhile
                if verdict is not False:
                    continue
                record = self._record(key)
            record.in_flight = max(0, record.in_flight - 1)
            if verdict is False:
                self._fail(key, record, now)
            elif verdict and key == pair:
                record.failures, record.blocked_until, record.known = 0, 0.0, True
                self._records.move_to_end(key)
            elif verdict and pair is not None and key[:1] == b"a":
                record.known = True  # a pair of this address is known now: no early refusal
            elif not (record.failures or record.in_flight or record.known):
                del self._records[key]  # nothing worth keeping

    def _fail(self, key: bytes, record: _Record, now: float) -> None:
        record.failures += 1
        record.last_failure = now
        over = record.failures - self._allowance(key)
        if over >= 0:
            record.blocked_until = now + min(MAX_DELAY, BASE_DELAY * 2.0 ** min(over, 30))
        self._records.move_to_end(key)

    # -- the table ---------------------------------------------------------------------------

    def _key(self, kind: str, *parts: str) -> bytes:
        data = json.dumps([kind, *parts]).encode()
        return kind[0].encode() + hashlib.blake2b(data, digest_size=16, key=self._salt).digest()

    @staticmethod
    def _allowance(key: bytes) -> int:
        return {b"p": PAIR_ALLOWANCE, b"a": ADDRESS_ALLOWANCE}.get(key[:1], USERNAME_ALLOWANCE)

    def _wait(self, key: bytes, now: float) -> float:
        """Seconds before ``key`` admits another attempt (0: now)."""
        record = self._records.get(key)
        if record is None:
            return 0.0
        if record.failures and now - record.last_failure >= FORGET_AFTER:
            record.failures, record.blocked_until = 0, 0.0
        if record.failures + record.in_flight < self._allowance(key):
            return 0.0
        if record.in_flight:
            # Past the allowance one attempt at a time: wait for this one's verdict.
            return max(BASE_DELAY, record.blocked_until - now)
        return max(0.0, record.blocked_until - now)

    def _record(self, key: bytes) -> _Record:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _Record()
            while len(self._records) > self._max_entries:
                self._records.popitem(last=False)
        return record


class Attempt:
    """One admitted attempt: report exactly one verdict."""

    def __init__(self, finish: Callable[[bool | None], None]) -> None:
        self._finish: Callable[[bool | None], None] | None = finish

    def succeeded(self) -> None:
        """The credentials were right: the pair's failures are forgotten, the pair is known."""
        self._end(True)

    def failed(self) -> None:
        """The credentials were wrong: every counter of the attempt counts one more failure."""
        self._end(False)

    def void(self) -> None:
        """No verdict (the server could not check): nothing is counted."""
        self._end(None)

    def _end(self, verdict: bool | None) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            finish(verdict)
