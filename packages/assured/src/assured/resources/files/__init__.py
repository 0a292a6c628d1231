"""``client.files``: the v1 upload and presign, and the v3 Files API (pre-signed uploads).

``Files`` (``_sync``) is generated from ``AsyncFiles`` (``_async``).
"""

from __future__ import annotations

from assured.resources.files._async import AsyncFiles
from assured.resources.files._sync import Files

__all__ = ["AsyncFiles", "Files"]
