"""Content safety: malware scanning through clamd, PDF active content, image bombs.

Each module does one job and knows nothing of HTTP, the database or storage: the upload paths
feed an ``Inspection`` the bytes as they pass and act on its ``Outcome``.
"""
