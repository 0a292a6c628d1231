"""What the content checks (:mod:`assured_server.safety`) mean for a file of either API.

An upload path feeds an :class:`~assured_server.safety.inspection.Inspection` the bytes as they
pass; this module turns its :class:`~assured_server.safety.inspection.Outcome` into the file's
columns (the File object's ``scan`` and ``contentFlags``) and into the refusals the upload
paths act on: :class:`Refused` (the file is rejected, its bytes go) and :class:`ScanOwed` (the
scanner could not be reached: the file stays ``pending`` until a sweep scans it).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from assured_server.errors import ErrorCode
from assured_server.safety.inspection import Outcome
from assured_server.stores.files import SCAN_OWED


class Refused(Exception):
    """The checks refuse the file: ``code`` is its ``rejectionReason``."""

    def __init__(self, outcome: Outcome) -> None:
        assert outcome.rejection is not None  # noqa: S101 - a refusal always has a reason
        self.outcome = outcome
        self.code = ErrorCode(outcome.rejection.value)
        super().__init__(outcome.detail or self.code.value)


class ScanOwed(Exception):
    """The scanner was unreachable: the file stays ``pending`` (with its bytes) until scanned."""

    def __init__(self, outcome: Outcome | None = None) -> None:
        self.outcome = outcome
        detail = outcome.detail if outcome is not None else ""
        super().__init__(detail or "the malware scanner could not be reached")


class SafetyColumns(TypedDict, total=False):
    """The columns of a file row that record what the content checks found."""

    scan_status: str
    scan_engine: str | None
    scan_signature: str | None
    scanned_at: datetime | None
    content_flags: str | None


def safety_columns(outcome: Outcome, now: datetime) -> SafetyColumns:
    """The columns that record ``outcome`` (``scannedAt`` is ``now`` when a scan ran)."""
    scan = outcome.scan
    ran = scan.ran and not outcome.scan_owed
    return {
        "scan_status": SCAN_OWED if outcome.scan_owed else scan.status,
        "scan_engine": scan.engine if ran else None,
        "scan_signature": scan.signature,
        "scanned_at": now if ran else None,
        "content_flags": " ".join(outcome.content_flags) or None,
    }


def check(outcome: Outcome) -> Outcome:
    """``outcome`` if the file may become available; else raise :class:`Refused` or
    :class:`ScanOwed` (a refusal for what the file is wins over a scan still owed)."""
    if outcome.rejection is not None:
        raise Refused(outcome)
    if outcome.scan_owed:
        raise ScanOwed(outcome)
    return outcome
