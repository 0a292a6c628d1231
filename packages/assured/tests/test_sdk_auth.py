"""API-key exchange, refresh before expiry, 401 → renew → retry once, and the account claim."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
import respx
from sdk_helpers import (
    ACCOUNT_ID,
    BASE_URL,
    REFRESH_PATH,
    error_body,
    file_json,
    make_jwt,
    profile_json,
    token_body,
)

from assured import (
    Assured,
    AssuredClient,
    AssuredError,
    AssuredValidationError,
    AuthenticationError,
    MissingCredentialsError,
)
from assured._auth import TokenState, decode_jwt_claims

PROFILE = "/api/v1/users/provider-profiles/p-1/"
UNAUTHORIZED = httpx.Response(
    401, json=error_body("UNAUTHORIZED", "Token expired."), headers={"WWW-Authenticate": "Bearer"}
)


def _bearer(request: httpx.Request) -> str:
    return request.headers["authorization"].removeprefix("Bearer ")


async def test_api_key_is_exchanged_once_for_a_token(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    await client.provider_profile.get("p-1")
    await client.provider_profile.get("p-1")
    token_call = api.routes["token"].calls
    assert token_call.call_count == 1
    assert json.loads(token_call.last.request.content) == {"api_key": "ak_test"}
    assert "authorization" not in token_call.last.request.headers
    access = json.loads(token_call.last.response.content)["access"]
    assert all(_bearer(call.request) == access for call in route.calls)


async def test_api_key_and_base_url_come_from_the_environment(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSURED_BASE_URL", BASE_URL)
    monkeypatch.setenv("ASSURED_API_KEY", "ak_env")
    api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient() as client:
        await client.provider_profile.get("p-1")
    assert json.loads(api.routes["token"].calls.last.request.content) == {"api_key": "ak_env"}


async def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSURED_BASE_URL", "http://env.test")
    monkeypatch.setenv("ASSURED_API_KEY", "ak_env")
    async with AssuredClient(base_url="http://arg.test/", api_key="ak_arg") as client:
        assert client.base_url == "http://arg.test"
        assert client.api_key == "ak_arg"


def test_default_base_url_is_local() -> None:
    assert Assured().base_url == "http://127.0.0.1:8000"


async def test_ready_token_from_environment_is_used_without_exchange(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = make_jwt()
    monkeypatch.setenv("ASSURED_TOKEN", token)
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient(base_url=BASE_URL) as client:
        await client.provider_profile.get("p-1")
    assert _bearer(route.calls.last.request) == token
    assert not api.routes["token"].called


KEY = "asd_0190a7c4-0000-7000-8000-00000000beef_c2VjcmV0"


@pytest.mark.parametrize("source", ["argument", "environment"])
async def test_an_api_key_given_as_the_token_is_exchanged_as_a_key(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    # The server refuses an API key as a bearer token; the SDK knows one when it sees one.
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    if source == "environment":
        monkeypatch.setenv("ASSURED_TOKEN", KEY)
        client = AssuredClient(base_url=BASE_URL)
    else:
        client = AssuredClient(base_url=BASE_URL, token=KEY)
    async with client:
        await client.provider_profile.get("p-1")
    assert client.api_key == KEY
    assert json.loads(api.routes["token"].calls.last.request.content) == {"api_key": KEY}
    assert _bearer(route.calls.last.request) != KEY


def test_an_api_key_as_the_token_and_another_as_the_key_is_refused() -> None:
    with pytest.raises(AssuredValidationError, match="give only one"):
        Assured(token=KEY, api_key="asd_another_key")
    assert Assured(token=KEY, api_key=KEY).api_key == KEY


async def test_missing_credentials_raise_a_clear_error(api: respx.MockRouter) -> None:
    route = api.get(PROFILE)
    async with AssuredClient(base_url=BASE_URL) as client:
        with pytest.raises(MissingCredentialsError, match="ASSURED_API_KEY"):
            await client.provider_profile.get("p-1")
    assert not route.called


async def test_wrong_api_key_raises_authentication_error(api: respx.MockRouter) -> None:
    api.routes["token"].mock(return_value=UNAUTHORIZED)
    async with AssuredClient(base_url=BASE_URL, api_key="wrong") as client:
        with pytest.raises(AuthenticationError) as info:
            await client.provider_profile.get("p-1")
    assert info.value.status_code == 401
    assert api.routes["token"].call_count == 1


async def test_token_is_refreshed_shortly_before_it_expires(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("assured._auth.time.monotonic", lambda: clock[0])
    first, second = make_jwt(jti="1"), make_jwt(jti="2")
    api.routes["token"].mock(return_value=httpx.Response(200, json=token_body(first)))
    refresh = api.post(REFRESH_PATH).mock(
        return_value=httpx.Response(200, json={"access": second, "expires_in": 900})
    )
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient(base_url=BASE_URL, api_key="k") as client:
        await client.provider_profile.get("p-1")
        clock[0] += 900 - 61  # just outside the one-minute margin
        await client.provider_profile.get("p-1")
        assert not refresh.called
        clock[0] += 2  # inside it: refresh first
        await client.provider_profile.get("p-1")
    assert refresh.call_count == 1
    sent_refresh = json.loads(refresh.calls.last.request.content)["refresh"]
    assert decode_jwt_claims(sent_refresh)["typ"] == "refresh"
    assert [_bearer(c.request) for c in route.calls] == [first, first, second]
    assert api.routes["token"].call_count == 1


async def test_expired_refresh_token_falls_back_to_the_api_key(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    monkeypatch.setattr("assured._auth.time.monotonic", lambda: clock[0])
    api.post(REFRESH_PATH).mock(return_value=UNAUTHORIZED)
    api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient(base_url=BASE_URL, api_key="k") as client:
        await client.provider_profile.get("p-1")
        clock[0] += 10_000
        await client.provider_profile.get("p-1")
    assert api.routes["token"].call_count == 2


async def test_401_refreshes_and_retries_once(client: AssuredClient, api: respx.MockRouter) -> None:
    fresh = make_jwt(jti="fresh")
    refresh = api.post(REFRESH_PATH).mock(
        return_value=httpx.Response(200, json={"access": fresh, "expires_in": 900})
    )
    route = api.get(PROFILE).mock(
        side_effect=[UNAUTHORIZED, httpx.Response(200, json=profile_json())]
    )
    await client.provider_profile.get("p-1")
    assert refresh.call_count == 1
    assert route.call_count == 2
    assert _bearer(route.calls.last.request) == fresh


async def test_second_401_is_raised_not_retried_again(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    api.post(REFRESH_PATH).mock(
        return_value=httpx.Response(200, json={"access": make_jwt(), "expires_in": 900})
    )
    route = api.get(PROFILE).mock(return_value=UNAUTHORIZED)
    with pytest.raises(AuthenticationError):
        await client.provider_profile.get("p-1")
    assert route.call_count == 2


async def test_401_with_a_ready_token_and_no_key_is_raised_at_once(api: respx.MockRouter) -> None:
    route = api.get(PROFILE).mock(return_value=UNAUTHORIZED)
    async with AssuredClient(base_url=BASE_URL, token=make_jwt()) as client:
        with pytest.raises(AuthenticationError):
            await client.provider_profile.get("p-1")
    assert route.call_count == 1


async def test_401_with_a_ready_token_and_a_key_exchanges_the_key(api: respx.MockRouter) -> None:
    route = api.get(PROFILE).mock(
        side_effect=[UNAUTHORIZED, httpx.Response(200, json=profile_json())]
    )
    async with AssuredClient(base_url=BASE_URL, token=make_jwt(), api_key="k") as client:
        await client.provider_profile.get("p-1")
    assert api.routes["token"].call_count == 1
    assert route.call_count == 2


async def test_401_on_a_create_post_is_retried_with_the_same_idempotency_key(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    api.post(REFRESH_PATH).mock(
        return_value=httpx.Response(200, json={"access": make_jwt(), "expires_in": 900})
    )
    route = api.post("/api/v1/users/provider-profiles/").mock(
        side_effect=[UNAUTHORIZED, httpx.Response(201, json=profile_json())]
    )
    await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    keys = {call.request.headers["idempotency-key"] for call in route.calls}
    assert route.call_count == 2
    assert len(keys) == 1


async def test_concurrent_requests_exchange_the_key_once(api: respx.MockRouter) -> None:
    async def slow_token(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.05)
        return httpx.Response(200, json=token_body())

    api.routes["token"].mock(side_effect=slow_token)
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient(base_url=BASE_URL, api_key="k") as client:
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(client.provider_profile.get, "p-1")
    assert api.routes["token"].call_count == 1
    assert route.call_count == 10


async def test_concurrent_401s_renew_the_token_once(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    first = make_jwt(jti="first")
    api.routes["token"].mock(return_value=httpx.Response(200, json=token_body(first)))

    async def slow_refresh(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.05)
        return httpx.Response(200, json={"access": make_jwt(jti="second"), "expires_in": 900})

    refresh = api.post(REFRESH_PATH).mock(side_effect=slow_refresh)

    def answer(request: httpx.Request) -> httpx.Response:
        if _bearer(request) == first:
            return UNAUTHORIZED
        return httpx.Response(200, json=profile_json())

    api.get(PROFILE).mock(side_effect=answer)
    await client.provider_profile.get("p-1")  # the first token is taken, then refused and renewed
    refresh.reset()
    client._tokens.access = first  # every task starts with the refused token
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(client.provider_profile.get, "p-1")
    assert refresh.call_count == 1


def test_sync_client_exchanges_and_renews_after_401(
    sync_client: Assured, api: respx.MockRouter
) -> None:
    api.post(REFRESH_PATH).mock(
        return_value=httpx.Response(200, json={"access": make_jwt(), "expires_in": 900})
    )
    route = api.get(PROFILE).mock(
        side_effect=[UNAUTHORIZED, httpx.Response(200, json=profile_json())]
    )
    sync_client.provider_profile.get("p-1")
    assert route.call_count == 2
    assert api.routes["token"].call_count == 1


async def test_account_id_comes_from_the_acct_claim(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(f"/v3/accounts/{ACCOUNT_ID}/files/f-1").mock(
        return_value=httpx.Response(200, json=file_json())
    )
    await client.files.get("f-1")
    assert route.called


def test_decode_jwt_claims_reads_the_payload_without_verifying() -> None:
    claims = decode_jwt_claims(make_jwt("acct-9", scope="files:read"))
    assert claims["acct"] == "acct-9"
    assert claims["scope"] == "files:read"
    with pytest.raises(AssuredError):
        decode_jwt_claims("not-a-jwt")
    with pytest.raises(AssuredError):
        decode_jwt_claims("a.W10.c")  # a JSON array, not an object


def test_token_without_acct_claim_cannot_address_v3_paths() -> None:
    state = TokenState.from_static_token(make_jwt(acct=""))
    with pytest.raises(AssuredError, match="acct"):
        state.account_id()


def test_refresh_margin_is_at_most_half_a_short_lifetime() -> None:
    state = TokenState()
    state.apply({"access": "a", "expires_in": 60}, now=0.0)
    assert state.refresh_at == 30.0
    state.apply({"access": "a", "expires_in": 900}, now=0.0)
    assert state.refresh_at == 840.0
    with pytest.raises(AssuredError):
        state.apply({"detail": "no token"})
