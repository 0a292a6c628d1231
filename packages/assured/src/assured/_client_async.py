# unasync: the sync twin of this module is generated from it (make unasync).
"""``AssuredClient``: the async base client with its resources.

Resources are built on first use: ``client.files``, ``client.provider_profile``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from assured._base_client_async import AsyncAPIClient

if TYPE_CHECKING:
    from assured.resources.files._async import AsyncFiles
    from assured.resources.provider_profile._async import AsyncProviderProfiles

__all__ = ["AssuredClient"]


class AssuredClient(AsyncAPIClient):
    """The async client of the Assured API: ``async with AssuredClient() as client: …``.

    Arguments (all optional): ``base_url``, ``api_key``, ``token``, ``timeout`` (seconds or an
    ``httpx.Timeout``), ``max_retries`` (default 2), ``default_headers``, ``http_client``.
    """

    @cached_property
    def files(self) -> AsyncFiles:
        """Uploads, downloads and file metadata (v1 and v3)."""
        # Imported here: ``from assured import AssuredClient`` stays free of the models.
        from assured.resources.files._async import AsyncFiles

        return AsyncFiles(self)

    @cached_property
    def provider_profile(self) -> AsyncProviderProfiles:
        """Provider profiles and their documents."""
        from assured.resources.provider_profile._async import AsyncProviderProfiles

        return AsyncProviderProfiles(self)
