"""Authentication: passwords, API keys, JWTs, scopes and the request principal."""
