"""Per-call options (``timeout``, ``extra_headers``, ``extra_query``) and ``with_options``."""

from __future__ import annotations

import inspect
from pathlib import Path

import httpx
import pytest
import respx
from sdk_helpers import ACCOUNT_ID, BASE_URL, error_body, file_json, profile_json, upload_json

from assured import (
    Assured,
    AssuredClient,
    AsyncFiles,
    AsyncProviderProfiles,
    CallOptions,
    Files,
    InternalServerError,
    ProviderProfiles,
)

FILES = f"/v3/accounts/{ACCOUNT_ID}/files"
PROFILES = "/api/v1/users/provider-profiles/"
PROFILE = "/api/v1/users/provider-profiles/p-1/"
STORAGE = "http://storage.test/storage/assured-files"
DOWNLOAD = "http://storage.test/storage/assured-files/files/f-1?X-Amz-Signature=abc"
EXTRAS: CallOptions = {
    "timeout": 7.5,
    "extra_headers": {"X-Trace": "t-1"},
    "extra_query": {"trace": "q-1"},
}


def _has_extras(request: httpx.Request) -> bool:
    return (
        request.headers.get("x-trace") == "t-1"
        and request.url.params.get("trace") == "q-1"
        and request.extensions["timeout"]["read"] == 7.5
    )


@pytest.mark.parametrize("resource", [AsyncFiles, Files, AsyncProviderProfiles, ProviderProfiles])
def test_every_public_resource_method_takes_the_per_call_options(resource: type) -> None:
    for name, method in inspect.getmembers(resource, inspect.isfunction):
        if name.startswith("_"):
            continue
        keywords = [
            p
            for p in inspect.signature(method).parameters.values()
            if p.kind is inspect.Parameter.VAR_KEYWORD
        ]
        assert [(p.name, p.annotation) for p in keywords] == [("call", "Unpack[CallOptions]")], (
            f"{resource.__name__}.{name}"
        )


async def test_a_get_carries_the_options_to_the_wire(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    await client.provider_profile.get("p-1", **EXTRAS)
    request = route.calls.last.request
    assert _has_extras(request)
    # The SDK's own headers stay.
    assert request.headers["authorization"].startswith("Bearer ")
    # Options are for one call: the next one goes without them.
    await client.provider_profile.get("p-1")
    assert not _has_extras(route.calls.last.request)
    assert route.calls.last.request.extensions["timeout"]["read"] == 60.0


async def test_extra_query_adds_to_the_methods_own_parameters(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(PROFILES).mock(
        return_value=httpx.Response(200, json={"count": 0, "next": None, "results": []})
    )
    await client.provider_profile.list_page(page_size=5, extra_query={"trace": "q-1"})
    assert dict(route.calls.last.request.url.params) == {"page_size": "5", "trace": "q-1"}


async def test_a_create_and_an_upload_carry_them_too(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    create = api.post(PROFILES).mock(return_value=httpx.Response(201, json=profile_json()))
    await client.provider_profile.create(first_name="Ada", last_name="L", **EXTRAS)
    assert _has_extras(create.calls.last.request)
    assert "idempotency-key" in create.calls.last.request.headers
    upload = api.post("/api/v1/files/handle/").mock(
        return_value=httpx.Response(201, json=upload_json())
    )
    await client.files.upload(b"%PDF-1.7", filename="a.pdf", **EXTRAS)
    assert _has_extras(upload.calls.last.request)


async def test_every_page_of_a_listing_carries_them(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(FILES).mock(
        side_effect=[
            httpx.Response(200, json={"items": [file_json("a")], "nextCursor": "c2"}),
            httpx.Response(200, json={"items": [file_json("b")], "nextCursor": None}),
        ]
    )
    ids = [f.id async for f in client.files.list(**EXTRAS)]
    assert ids == ["a", "b"]
    assert [_has_extras(call.request) for call in route.calls] == [True, True]


async def test_storage_requests_get_the_timeout_but_not_the_extras(
    client: AssuredClient, api: respx.MockRouter, tmp_path: Path
) -> None:
    # A pre-signed URL is a credential: what the caller adds goes to the API only.
    ticket = {
        "id": "f-1",
        "uploadUrl": STORAGE,
        "fields": {"key": "uploads/f-1", "Policy": "p", "X-Amz-Signature": "s"},
        "uploadExpiresAt": "2026-01-15T10:45:00Z",
        "maxSize": 1000,
        "file": file_json("f-1", "pending"),
    }
    create = api.post(FILES).mock(return_value=httpx.Response(201, json=ticket))
    storage = api.post(STORAGE).mock(return_value=httpx.Response(204))
    complete = api.post(f"{FILES}/f-1/complete").mock(
        return_value=httpx.Response(200, json=file_json())
    )
    await client.files.upload_file(b"%PDF-1.7", file_name="a.pdf", **EXTRAS)
    assert _has_extras(create.calls.last.request)
    assert _has_extras(complete.calls.last.request)
    sent = storage.calls.last.request
    assert sent.extensions["timeout"]["read"] == 7.5
    assert "x-trace" not in sent.headers
    assert "trace" not in sent.url.params

    link = api.get(f"{FILES}/f-1/download-url").mock(
        return_value=httpx.Response(
            200, json={"url": DOWNLOAD, "expiresAt": "2026-01-15T10:35:00Z"}
        )
    )
    get = api.get(DOWNLOAD).mock(return_value=httpx.Response(200, content=b"%PDF-1.7"))
    await client.files.download("f-1", tmp_path / "a.pdf", **EXTRAS)
    assert _has_extras(link.calls.last.request)
    assert get.calls.last.request.extensions["timeout"]["read"] == 7.5
    assert "x-trace" not in get.calls.last.request.headers
    assert get.calls.last.request.url == httpx.URL(DOWNLOAD)


def test_the_sync_client_carries_them(sync_client: Assured, api: respx.MockRouter) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    sync_client.provider_profile.get("p-1", **EXTRAS)
    assert _has_extras(route.calls.last.request)


# -- with_options ----------------------------------------------------------------------------


async def test_with_options_changes_defaults_and_shares_the_pool_and_tokens(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    copy = client.with_options(timeout=3.0, max_retries=0, default_headers={"X-Team": "a"})
    assert copy is not client
    assert copy._pool is client._pool
    await client.provider_profile.get("p-1")
    await copy.provider_profile.get("p-1")
    original, changed = (call.request for call in route.calls)
    assert original.extensions["timeout"]["read"] == 60.0
    assert "x-team" not in original.headers
    assert changed.extensions["timeout"]["read"] == 3.0
    assert changed.headers["x-team"] == "a"
    # One token for both: the copy did not exchange the API key again.
    assert api.routes["token"].call_count == 1
    assert (client.max_retries, copy.max_retries) == (2, 0)
    assert copy.provider_profile is not client.provider_profile


async def test_with_options_max_retries_applies_to_the_copy_only(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get(PROFILE).mock(
        return_value=httpx.Response(503, json=error_body("SERVICE_UNAVAILABLE", "busy"))
    )
    with pytest.raises(InternalServerError):
        await client.with_options(max_retries=0).provider_profile.get("p-1")
    assert route.call_count == 1
    with pytest.raises(InternalServerError):
        await client.provider_profile.get("p-1")
    assert route.call_count == 4
    assert sleeps == [0.5, 1.0]


async def test_closing_a_copy_leaves_the_shared_pool_open(api: respx.MockRouter) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient(base_url=BASE_URL, api_key="k") as client:
        async with client.with_options(timeout=5) as copy:
            await copy.provider_profile.get("p-1")
        assert not client._pool.http.is_closed
        await client.provider_profile.get("p-1")
    assert client._pool.http.is_closed
    assert route.call_count == 2


def test_sync_with_options_shares_the_pool(api: respx.MockRouter) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    with Assured(base_url=BASE_URL, api_key="k") as client:
        copy = client.with_options(timeout=httpx.Timeout(4, connect=1))
        copy.provider_profile.get("p-1")
        assert copy._pool is client._pool
        copy.close()
        assert not client._pool.http.is_closed
    assert route.calls.last.request.extensions["timeout"]["connect"] == 1
    assert client._pool.http.is_closed


def test_with_options_refuses_a_negative_max_retries() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        Assured(api_key="k").with_options(max_retries=-1)
