"""Provider profiles and the documents associated with them (the Assured API v1)."""
