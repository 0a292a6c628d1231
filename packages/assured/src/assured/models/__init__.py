"""Pydantic models of the API's request and response bodies.

``assured.models.files`` holds the file models (v1 upload results, the v3 File), and
``assured.models.provider_profile`` the provider profiles and their documents.
"""
