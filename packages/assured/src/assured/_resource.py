"""The base of every resource: it holds the client, typed as the base client.

A resource needs only what every client can do (send requests, know the account), never the
concrete ``AssuredClient`` or ``Assured``: so resources do not import the clients that build
them, and there is no import cycle between the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assured._base_client_async import AsyncAPIClient
    from assured._base_client_sync import SyncAPIClient


class AsyncAPIResource:
    """A group of API calls of the async client (``client.files``, …)."""

    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client


class SyncAPIResource:
    """A group of API calls of the sync client (``client.files``, …)."""

    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client
