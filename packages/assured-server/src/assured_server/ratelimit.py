"""Requests per minute per token, answered with 429 and ``Retry-After`` when exceeded."""

from __future__ import annotations

import math
import time


class RateLimiter:
    """A fixed-window counter per key (the token's ``jti`` or subject), kept in memory.

    Per process: with several replicas the effective limit is per replica, which the
    deployment guide states; a shared store is not worth a network hop for a coarse guard.
    """

    def __init__(self, per_minute: int, *, max_keys: int = 100_000) -> None:
        self.per_minute = per_minute
        self._max_keys = max_keys
        self._window = 0
        self._counts: dict[str, int] = {}

    @property
    def enabled(self) -> bool:
        """Whether a limit is configured."""
        return self.per_minute > 0

    def hit(self, key: str, now: float | None = None) -> int | None:
        """Count one request; ``None`` if allowed, else the seconds until the next window."""
        if not self.enabled:
            return None
        now = time.time() if now is None else now
        window = int(now // 60)
        if window != self._window or len(self._counts) > self._max_keys:
            self._window = window
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        if count > self.per_minute:
            return max(1, math.ceil((window + 1) * 60 - now))
        return None
