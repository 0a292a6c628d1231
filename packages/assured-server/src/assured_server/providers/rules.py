"""Limits and syntax rules for the fields of provider profiles and documents."""

from __future__ import annotations

import re

# Profile limits (characters), as Django's auth user and EmailField have them.
NAME_MAX = 150
EMAIL_MAX = 254
SPECIALTY_MAX = 200
# Document limits: the column sizes of ``provider_documents``.
DOCUMENT_NAME_MAX = 255
DOCUMENT_TYPE_MAX = 100

# One ``@``; a local part of at most 64 characters; a domain of dot-separated, non-empty labels
# with at least one dot. No white space or control characters anywhere. Deliberately loose:
# only the mail server can say whether an address exists, so this only catches typos.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f.]+(?:\.[^@\s\x00-\x1f\x7f.]+)+")


def is_plausible_email(value: str) -> bool:
    """Whether ``value`` looks like an e-mail address (``local@domain.tld``)."""
    return len(value) <= EMAIL_MAX and _EMAIL.fullmatch(value) is not None
