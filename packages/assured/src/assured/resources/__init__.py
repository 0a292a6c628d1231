"""The resources of a client: ``client.files`` and ``client.provider_profile``."""
