"""Fixtures of the SDK's unit tests: a mocked API (respx), clients and instant sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from sdk_helpers import BASE_URL, TOKEN_PATH, token_body

import assured._base_client
import assured._concurrency
from assured import Assured, AssuredClient


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's own configuration must not leak into the tests.
    for name in ("ASSURED_BASE_URL", "ASSURED_API_KEY", "ASSURED_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every backoff or poll wait, recorded instead of slept; jitter pinned to none."""
    recorded: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    def fake_sync_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(assured._concurrency, "async_sleep", fake_async_sleep)
    monkeypatch.setattr(assured._concurrency, "sleep", fake_sync_sleep)
    monkeypatch.setattr(assured._base_client, "_jitter", lambda: 0.0)
    return recorded


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The mocked API; the token endpoint answers with a fresh token by default, and the
    upload limit is the contract's default (100 MiB)."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.post(TOKEN_PATH, name="token").mock(
            return_value=httpx.Response(200, json=token_body())
        )
        router.get(path__regex=r"^/v3/accounts/[^/]+/upload-limits$", name="limits").mock(
            return_value=httpx.Response(200, json={"maxSize": 104_857_600})
        )
        yield router


@pytest.fixture
async def client(api: respx.MockRouter) -> AsyncIterator[AssuredClient]:
    async with AssuredClient(base_url=BASE_URL, api_key="ak_test") as instance:
        yield instance


@pytest.fixture
def sync_client(api: respx.MockRouter) -> Iterator[Assured]:
    with Assured(base_url=BASE_URL, api_key="ak_test") as instance:
        yield instance
