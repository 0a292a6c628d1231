"""Errors of the database layer that requests turn into answers."""

from __future__ import annotations


class DatabaseUnavailable(Exception):
    """The database cannot be reached; requests answer 503 until it is back."""
