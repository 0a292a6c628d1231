"""Assured server: the Assured API (v1), the Files API (v3) and embedded S3-style storage."""
