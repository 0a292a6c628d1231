"""Fixtures of the SDK's live tests: one real server per session, clients of its account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sdk_live_harness import LiveServer, start_server

from assured import Assured, AssuredClient


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the live session, with its own account and API key."""
    server = start_server(tmp_path_factory.mktemp("assured-live"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sleeps() -> list[float]:
    """Live tests wait for real: this replaces the unit tests' instant-sleep fixture."""
    return []


@pytest.fixture
def live_env(live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> LiveServer:
    """The SDK's environment variables pointing at the live server (for verbatim snippets)."""
    monkeypatch.setenv("ASSURED_BASE_URL", live_server.base_url)
    monkeypatch.setenv("ASSURED_API_KEY", live_server.api_key)
    return live_server


@pytest.fixture
async def live_client(live_server: LiveServer) -> AsyncIterator[AssuredClient]:
    """An async client of the live server's account."""
    async with AssuredClient(base_url=live_server.base_url, api_key=live_server.api_key) as client:
        yield client


@pytest.fixture
def live_sync_client(live_server: LiveServer) -> Iterator[Assured]:
    """A sync client of the live server's account."""
    with Assured(base_url=live_server.base_url, api_key=live_server.api_key) as client:
        yield client


@pytest.fixture
async def provider_id(live_client: AssuredClient) -> str:
    """A fresh provider profile on the live server."""
    profile = await live_client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    return profile.id
