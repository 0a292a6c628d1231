"""The clients: ``AssuredClient`` (async) and ``Assured``, its sync twin.

Both read their configuration from arguments, else from ``ASSURED_BASE_URL`` and
``ASSURED_API_KEY`` (or ``ASSURED_TOKEN``, a ready access token), else from ``_constants``.
``Assured`` lives in ``_client_sync``, generated from ``_client_async``.
"""

from __future__ import annotations

from assured._client_async import AssuredClient
from assured._client_sync import Assured

__all__ = ["Assured", "AssuredClient"]
