"""Validation of client-supplied file names (metadata only: storage keys never use them)."""

from __future__ import annotations

import unicodedata

MAX_FILENAME_BYTES = 255
# Bidirectional overrides and isolates disguise extensions ("invoice\u202Efdp.exe").
_BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


class InvalidFilename(ValueError):
    """The name breaks one of the contract's filename rules; the message says which."""


def normalize_filename(name: str) -> str:
    """Return ``name`` normalised to NFC, or raise :class:`InvalidFilename`."""
    if not isinstance(name, str):
        raise InvalidFilename("The file name must be a string.")
    normalized = unicodedata.normalize("NFC", name)
    try:
        size = len(normalized.encode("utf-8"))
    except UnicodeEncodeError as exc:  # lone surrogates from JSON escapes
        raise InvalidFilename("The file name is not valid UTF-8.") from exc
    if size == 0:
        raise InvalidFilename("The file name is empty.")
    if size > MAX_FILENAME_BYTES:
        raise InvalidFilename(f"The file name is longer than {MAX_FILENAME_BYTES} bytes.")
    if normalized in (".", ".."):
        raise InvalidFilename("The file name cannot be '.' or '..'.")
    if normalized != normalized.strip():
        raise InvalidFilename("The file name cannot start or end with white space.")
    for char in normalized:
        if char in "/\\":
            raise InvalidFilename("The file name cannot contain '/' or '\\'.")
        if char in _BIDI_CONTROLS:
            raise InvalidFilename("The file name cannot contain bidirectional control characters.")
        if unicodedata.category(char) == "Cc":
            raise InvalidFilename("The file name cannot contain control characters.")
    return normalized


def extension_of(name: str) -> str:
    """The last extension of ``name`` in lower case, with its dot (``''`` when there is none)."""
    dot = name.rfind(".")
    if dot <= 0 or dot == len(name) - 1:
        return ""
    return name[dot:].lower()
