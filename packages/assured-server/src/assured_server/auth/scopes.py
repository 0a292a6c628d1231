"""The scopes a token can carry, and what a key gets when none are named."""

from __future__ import annotations

FILES_READ = "files:read"
FILES_WRITE = "files:write"
PROVIDERS_READ = "providers:read"
PROVIDERS_WRITE = "providers:write"
ALL_SCOPES = (FILES_READ, FILES_WRITE, PROVIDERS_READ, PROVIDERS_WRITE)
DEFAULT_SCOPES = " ".join(ALL_SCOPES)


def parse_scopes(value: str) -> str:
    """Validate a space-separated scope list and return it normalised (known scopes, no repeats)."""
    seen: list[str] = []
    for scope in value.split():
        if scope not in ALL_SCOPES:
            raise ValueError(f"unknown scope {scope!r}; known: {DEFAULT_SCOPES}")
        if scope not in seen:
            seen.append(scope)
    if not seen:
        raise ValueError("at least one scope is needed")
    return " ".join(seen)
