"""``client.provider_profile``: provider profiles and the documents associated with them."""

from __future__ import annotations

from assured.resources.provider_profile._async import AsyncProviderProfiles
from assured.resources.provider_profile._sync import ProviderProfiles

__all__ = ["AsyncProviderProfiles", "ProviderProfiles"]
