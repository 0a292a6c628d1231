"""The scopes a token can carry, and what a key gets when none are named."""

from __future__ import annotations

FILES_READ = "files:read"
FILES_WRITE = "files:write"
PROVIDERS_READ = "providers:read"
PROVIDERS_WRITE = "providers:write"
LINKS_READ = "links:read"
LINKS_WRITE = "links:write"
# What a key created without ``--scopes`` gets.
DEFAULT_SCOPE_LIST = (FILES_READ, FILES_WRITE, PROVIDERS_READ, PROVIDERS_WRITE)
DEFAULT_SCOPES = " ".join(DEFAULT_SCOPE_LIST)
# Every scope a key may be given; those past the defaults only by naming them.
ALL_SCOPES = (*DEFAULT_SCOPE_LIST, LINKS_READ, LINKS_WRITE)


def parse_scopes(value: str) -> str:
    """Validate a space-separated scope list and return it normalised (known scopes, no repeats)."""
    seen: list[str] = []
    for scope in value.split():
        if scope not in ALL_SCOPES:
            raise ValueError(f"unknown scope {scope!r}; known: {' '.join(ALL_SCOPES)}")
        if scope not in seen:
            seen.append(scope)
    if not seen:
        raise ValueError("at least one scope is needed")
    return " ".join(seen)
