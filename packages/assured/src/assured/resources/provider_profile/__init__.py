"""``client.provider_profile``: provider profiles and the documents associated with them.

``ProviderProfiles`` (``_sync``) is generated from ``AsyncProviderProfiles`` (``_async``).
"""

from __future__ import annotations

from assured.resources.provider_profile._async import AsyncProviderProfiles
from assured.resources.provider_profile._sync import ProviderProfiles

__all__ = ["AsyncProviderProfiles", "ProviderProfiles"]
