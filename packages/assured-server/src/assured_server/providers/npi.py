"""National Provider Identifiers: 10 digits whose last is a Luhn check digit.

CMS computes the check digit over the 9-digit identifier prefixed with ``80840`` (the
ISO/IEC 7812 card issuer prefix for US health applications), as a card number would be.
"""

from __future__ import annotations

NPI_LENGTH = 10
# The issuer prefix of every NPI; the check digit covers it as if it were written out.
ISSUER_PREFIX = "80840"


def luhn_check_digit(digits: str) -> int:
    """The Luhn digit that, appended to ``digits``, makes the whole number pass."""
    total = 0
    # Counting from the right of the payload, every first digit is doubled, since the check digit
    # will take the rightmost (undoubled) place.
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """Whether ``value`` is 10 ASCII digits with the right check digit."""
    if len(value) != NPI_LENGTH or not value.isascii() or not value.isdigit():
        return False
    return luhn_check_digit(ISSUER_PREFIX + value[:9]) == int(value[9])
