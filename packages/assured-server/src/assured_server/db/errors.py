"""Errors of the database layer that requests turn into answers.

Code above the stores names them from here, never from the driver layer: the API's exception
handlers map :data:`UNAVAILABLE` to 503 and any other :data:`QueryFailed` to 500.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import IntegrityError as ConstraintViolation
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = [
    "UNAVAILABLE",
    "ConstraintViolation",
    "DatabaseUnavailable",
    "QueryFailed",
    "connection_lost",
    "driver_error_name",
]


class DatabaseUnavailable(Exception):
    """The database cannot be reached; requests answer 503 until it is back."""


# ``ConstraintViolation``: a write that broke a constraint (a row it refers to was deleted
# meanwhile, a duplicate key).
QueryFailed = DBAPIError
"""Any error the database or its driver raised for a statement."""

UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,  # connection failures, lock timeouts
    InterfaceError,
    DatabaseUnavailable,
    PoolTimeout,  # no pooled connection within the pool's timeout
)
"""Errors that mean "the database cannot answer now" (integrity errors are bugs: 500s)."""


def connection_lost(exc: Exception) -> bool:
    """Whether ``exc`` (a :data:`QueryFailed`) is a connection that died under the query."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def driver_error_name(exc: Exception) -> str:
    """The driver's own error type behind ``exc``, for logs (never its message: driver
    messages can carry connection strings)."""
    return type(getattr(exc, "orig", exc)).__name__
