"""The clients: ``AssuredClient`` (async) and ``Assured`` (its sync twin).

Both read their configuration from arguments, else from ``ASSURED_BASE_URL`` and
``ASSURED_API_KEY`` (or ``ASSURED_TOKEN``, a ready access token), else from ``_constants``.
Resources are built on first use: ``client.files``, ``client.provider_profile``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from assured._base_client_async import AsyncAPIClient
from assured._base_client_sync import SyncAPIClient

if TYPE_CHECKING:
    from assured.resources.files import AsyncFiles, Files
    from assured.resources.provider_profile import AsyncProviderProfiles, ProviderProfiles

__all__ = ["Assured", "AssuredClient"]


class AssuredClient(AsyncAPIClient):
    """The async client of the Assured API: ``async with AssuredClient() as client: …``.

    Arguments (all optional): ``base_url``, ``api_key``, ``token``, ``timeout`` (seconds or an
    ``httpx.Timeout``), ``max_retries`` (default 2), ``default_headers``, ``http_client``.
    """

    @cached_property
    def files(self) -> AsyncFiles:
        """Uploads, downloads and file metadata (v1 and v3)."""
        from assured.resources.files import AsyncFiles

        return AsyncFiles(self)

    @cached_property
    def provider_profile(self) -> AsyncProviderProfiles:
        """Provider profiles and their documents."""
        from assured.resources.provider_profile import AsyncProviderProfiles

        return AsyncProviderProfiles(self)


class Assured(SyncAPIClient):
    """The sync client of the Assured API: ``with Assured() as client: …``.

    Arguments (all optional): ``base_url``, ``api_key``, ``token``, ``timeout`` (seconds or an
    ``httpx.Timeout``), ``max_retries`` (default 2), ``default_headers``, ``http_client``.
    """

    @cached_property
    def files(self) -> Files:
        """Uploads, downloads and file metadata (v1 and v3)."""
        from assured.resources.files import Files

        return Files(self)

    @cached_property
    def provider_profile(self) -> ProviderProfiles:
        """Provider profiles and their documents."""
        from assured.resources.provider_profile import ProviderProfiles

        return ProviderProfiles(self)
