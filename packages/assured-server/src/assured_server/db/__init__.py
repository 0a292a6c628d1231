"""Persistence: the schema, the engine with its SQLite/PostgreSQL settings, migrations."""
