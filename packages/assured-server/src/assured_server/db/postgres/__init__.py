"""PostgreSQL: the asyncpg pool for the hottest statements."""
