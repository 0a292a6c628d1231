"""The ``{number}{unit}`` expiration format of the contract (``30d``, ``5h``, ``60m``).

A value format shared by the settings (the maximum) and the files domain (each file's), so it
sits below both.
"""

from __future__ import annotations

import re

_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400}
# A positive integer without sign, space or leading zero, then one lower-case unit.
_PATTERN = re.compile(r"[1-9][0-9]{0,11}[mhd]")


class InvalidExpiration(ValueError):
    """The expiration string is malformed, too short or over the maximum."""


def parse_expiration(value: str, *, maximum_seconds: int | None) -> int:
    """Return the lifetime in seconds that ``value`` names, or raise :class:`InvalidExpiration`."""
    # fullmatch with an ASCII-only class: no trailing newline or Unicode digits slip through.
    if not isinstance(value, str) or not _PATTERN.fullmatch(value):
        raise InvalidExpiration(
            f"Invalid expiration {value!r}: use a positive whole number followed by m, h or d "
            "(for example 30m, 5h, 30d)."
        )
    seconds = int(value[:-1]) * _UNIT_SECONDS[value[-1]]
    if maximum_seconds is not None and seconds > maximum_seconds:
        raise InvalidExpiration(f"Expiration {value!r} is longer than the maximum allowed.")
    return seconds
