"""Alembic migrations of the schema (run by ``assured-server migrate`` and at ``serve``)."""
