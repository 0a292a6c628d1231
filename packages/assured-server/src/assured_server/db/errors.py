"""Errors of the database layer that requests turn into answers."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError as ConstraintViolation

__all__ = ["ConstraintViolation", "DatabaseUnavailable"]
# ``ConstraintViolation``: a write that broke a constraint (a row it refers to was deleted
# meanwhile, a duplicate key), named here so that code above the stores can catch it without
# importing the driver layer.


class DatabaseUnavailable(Exception):
    """The database cannot be reached; requests answer 503 until it is back."""
