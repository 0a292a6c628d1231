# generated from src/assured/_client_async.py by scripts/unasync.py;
# do not edit: change the async module and run `make unasync`.
"""``Assured``: the sync base client with its resources.

Resources are built on first use: ``client.files``, ``client.provider_profile``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from assured._base_client_sync import SyncAPIClient

if TYPE_CHECKING:
    from assured.resources.files._sync import Files
    from assured.resources.provider_profile._sync import ProviderProfiles

__all__ = ["Assured"]


class Assured(SyncAPIClient):
    """The sync client of the Assured API: ``with Assured() as client: …``.

    Arguments (all optional): ``base_url``, ``api_key``, ``token``, ``timeout`` (seconds or an
    ``httpx.Timeout``), ``max_retries`` (default 2), ``default_headers``, ``http_client``.
    """

    @cached_property
    def files(self) -> Files:
        """Uploads, downloads and file metadata (v1 and v3)."""
        # Imported here: ``from assured import Assured`` stays free of the models.
        from assured.resources.files._sync import Files

        return Files(self)

    @cached_property
    def provider_profile(self) -> ProviderProfiles:
        """Provider profiles and their documents."""
        from assured.resources.provider_profile._sync import ProviderProfiles

        return ProviderProfiles(self)
