"""Alembic environment: run with a connection handed in by :mod:`assured_server.db.migrate`."""

from __future__ import annotations

from alembic import context

from assured_server.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # Batch mode lets ALTERs run on SQLite too (it copies the table); a no-op elsewhere.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
