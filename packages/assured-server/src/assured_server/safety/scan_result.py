"""What a malware scan concluded, in the terms the upload paths act on."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ScanVerdict(enum.Enum):
    """The outcome of one scan; only ``CLEAN`` lets a file through."""

    CLEAN = "clean"
    INFECTED = "infected"
    # The scanner refused the stream as too long: the file was not scanned in full, so it is
    # never clean (the upload is rejected UNSCANNABLE; retrying would refuse it again).
    TOO_LARGE = "too_large"
    # The scanner could not be reached or failed: the scan is still owed (fail closed, retry).
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A verdict with the signature that matched (infected) or what went wrong (the others)."""

    verdict: ScanVerdict
    engine: str = "clamav"
    signature: str | None = None
    detail: str = ""

    @property
    def is_clean(self) -> bool:
        """True only when the whole file was scanned and nothing was found."""
        return self.verdict is ScanVerdict.CLEAN
