"""Sizes as people read them: ``1.2 MB`` (decimal units, as disks and networks count)."""

from __future__ import annotations

_UNITS = ("kB", "MB", "GB", "TB", "PB")


def human_size(size: int) -> str:
    """``512 bytes``, ``1.2 MB``, ``105.0 MB``: one decimal, units of 1000."""
    if size < 1000:
        return "1 byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in _UNITS:
        value /= 1000
        if value < 999.95 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover
