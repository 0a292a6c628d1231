"""Retries, backoff, Retry-After, idempotency keys, connection errors and timeouts."""

from __future__ import annotations

import email.utils
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import respx
from sdk_helpers import BASE_URL, error_body, profile_json, upload_json

from assured import (
    APIConnectionError,
    APITimeoutError,
    Assured,
    AssuredClient,
    ConflictError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from assured._base_client import parse_retry_after

PROFILES = "/api/v1/users/provider-profiles/"
PROFILE = "/api/v1/users/provider-profiles/p-1/"
UPLOAD = "/api/v1/files/handle/"


def _unavailable(retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(503, json=error_body("SERVICE_UNAVAILABLE", "busy"), headers=headers)


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
async def test_get_is_retried_on_transient_status_then_succeeds(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = api.get(PROFILE).mock(
        side_effect=[httpx.Response(status), httpx.Response(200, json=profile_json())]
    )
    profile = await client.provider_profile.get("p-1")
    assert profile.id == "p-1"
    assert route.call_count == 2
    assert sleeps == [0.5]


async def test_backoff_doubles_from_half_a_second_and_gives_up_after_max_retries(
    api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get(PROFILE).mock(return_value=_unavailable())
    async with AssuredClient(base_url=BASE_URL, api_key="k", max_retries=5) as client:
        with pytest.raises(InternalServerError) as info:
            await client.provider_profile.get("p-1")
    assert info.value.status_code == 503
    assert route.call_count == 6
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


async def test_backoff_is_capped_at_eight_seconds(
    api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.get(PROFILE).mock(return_value=_unavailable())
    async with AssuredClient(base_url=BASE_URL, api_key="k", max_retries=7) as client:
        with pytest.raises(InternalServerError):
            await client.provider_profile.get("p-1")
    assert sleeps[-3:] == [8.0, 8.0, 8.0]


async def test_jitter_shortens_delays_by_at_most_a_quarter(
    api: respx.MockRouter, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assured._base_client._jitter", lambda: 1.0)
    api.get(PROFILE).mock(return_value=_unavailable())
    async with AssuredClient(base_url=BASE_URL, api_key="k") as client:
        with pytest.raises(InternalServerError):
            await client.provider_profile.get("p-1")
    assert sleeps == [0.375, 0.75]


async def test_default_is_two_retries(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get(PROFILE).mock(return_value=_unavailable())
    with pytest.raises(InternalServerError):
        await client.provider_profile.get("p-1")
    assert route.call_count == 3
    assert len(sleeps) == 2


async def test_retry_after_seconds_is_honoured(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.get(PROFILE).mock(
        side_effect=[
            httpx.Response(
                429, json=error_body("RATE_LIMITED", "slow"), headers={"Retry-After": "3"}
            ),
            httpx.Response(200, json=profile_json()),
        ]
    )
    await client.provider_profile.get("p-1")
    assert sleeps == [3.0]


async def test_retry_after_http_date_is_honoured(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    api.get(PROFILE).mock(
        side_effect=[_unavailable(when), httpx.Response(200, json=profile_json())]
    )
    await client.provider_profile.get("p-1")
    assert 3.0 <= sleeps[0] <= 5.0


async def test_retry_after_is_capped_at_a_minute(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    api.get(PROFILE).mock(
        side_effect=[_unavailable("86400"), httpx.Response(200, json=profile_json())]
    )
    await client.provider_profile.get("p-1")
    assert sleeps == [60.0]


def test_parse_retry_after_handles_bad_and_past_values() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("1.5") == 1.5
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    assert parse_retry_after(past) == 0.0


async def test_rate_limit_error_after_retries_are_exhausted(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    api.get(PROFILE).mock(
        return_value=httpx.Response(
            429, json=error_body("RATE_LIMITED", "Too many requests"), headers={"Retry-After": "1"}
        )
    )
    with pytest.raises(RateLimitError) as info:
        await client.provider_profile.get("p-1")
    assert info.value.code == "RATE_LIMITED"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 500])
async def test_other_statuses_are_not_retried(
    api: respx.MockRouter, sleeps: list[float], status: int
) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(status, json=error_body("X", "no")))
    # A token (no key): a 401 cannot be repaired by re-authenticating either.
    async with AssuredClient(base_url=BASE_URL, token="a.e30.c") as client:
        with pytest.raises(Exception):  # noqa: B017 - the class is checked elsewhere
            await client.provider_profile.get("p-1")
    assert route.call_count == 1
    assert sleeps == []


async def test_create_post_reuses_its_idempotency_key_across_retries(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.post(PROFILES).mock(
        side_effect=[
            _unavailable(),
            httpx.ConnectError("reset"),
            httpx.Response(201, json=profile_json()),
        ]
    )
    await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert route.call_count == 3
    assert len(keys) == 1
    assert len(keys.pop()) == 36  # a uuid4


async def test_each_create_call_gets_its_own_idempotency_key(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.post(PROFILES).mock(return_value=httpx.Response(201, json=profile_json()))
    await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] != keys[1]


async def test_post_without_idempotency_key_is_not_retried(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.post("http://storage.test/bucket").mock(return_value=_unavailable())
    from assured._request_options import RequestOptions

    with pytest.raises(InternalServerError):
        await client.request_raw(RequestOptions("POST", "http://storage.test/bucket", json={}))
    assert route.call_count == 1
    assert sleeps == []


async def test_patch_is_not_retried(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.patch(PROFILE).mock(return_value=_unavailable())
    with pytest.raises(InternalServerError):
        await client.provider_profile.update("p-1", specialty="Oncology")
    assert route.call_count == 1


async def test_idempotency_conflict_with_retry_after_is_retried(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    running = httpx.Response(
        409,
        json=error_body("IDEMPOTENCY_CONFLICT", "still running"),
        headers={"Retry-After": "1"},
    )
    route = api.post(PROFILES).mock(side_effect=[running, httpx.Response(201, json=profile_json())])
    await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    assert route.call_count == 2
    assert sleeps == [1.0]


async def test_idempotency_conflict_without_retry_after_is_raised(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.post(PROFILES).mock(
        return_value=httpx.Response(409, json=error_body("IDEMPOTENCY_CONFLICT", "reused"))
    )
    with pytest.raises(ConflictError) as info:
        await client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    assert info.value.code == "IDEMPOTENCY_CONFLICT"
    assert route.call_count == 1


async def test_upload_from_seekable_file_is_retried_with_the_same_bytes(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        if len(bodies) == 1:
            return _unavailable()
        return httpx.Response(201, json=upload_json())

    api.post(UPLOAD).mock(side_effect=answer)
    stream = io.BytesIO(b"xx%PDF-1.7 body")
    stream.seek(2)  # the upload starts where the caller left the file
    await client.files.upload(stream, filename="license.pdf")
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert b"%PDF-1.7 body\r\n" in bodies[0]
    assert b"xx%PDF" not in bodies[0]


class _Pipe(io.RawIOBase):
    """A non-seekable stream, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


async def test_upload_from_non_seekable_stream_is_not_retried(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.post(UPLOAD).mock(return_value=_unavailable())
    with pytest.raises(InternalServerError):
        await client.files.upload(_Pipe(b"%PDF-1.7"), filename="license.pdf")
    assert route.call_count == 1
    assert sleeps == []


async def test_non_seekable_upload_is_sent_chunked(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.post(UPLOAD).mock(return_value=httpx.Response(201, json=upload_json()))
    await client.files.upload(_Pipe(b"%PDF-1.7"), filename="license.pdf")
    headers = route.calls.last.request.headers
    assert "content-length" not in headers
    assert headers["transfer-encoding"] == "chunked"


async def test_connection_errors_are_retried_then_raised(
    client: AssuredClient, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.get(PROFILE).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as info:
        await client.provider_profile.get("p-1")
    assert not isinstance(info.value, APITimeoutError)
    assert route.call_count == 3
    assert sleeps == [0.5, 1.0]


async def test_timeouts_raise_api_timeout_error(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(PROFILE).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        await client.provider_profile.get("p-1")
    assert route.call_count == 3


async def test_connection_error_then_success(client: AssuredClient, api: respx.MockRouter) -> None:
    api.get(PROFILE).mock(
        side_effect=[httpx.RemoteProtocolError("eof"), httpx.Response(200, json=profile_json())]
    )
    assert (await client.provider_profile.get("p-1")).id == "p-1"


async def test_connection_errors_are_not_api_errors() -> None:
    from assured import AssuredAPIError

    assert not issubclass(APIConnectionError, AssuredAPIError)
    assert not issubclass(APITimeoutError, AssuredAPIError)


async def test_timeout_is_configurable_and_sent_with_each_request(
    api: respx.MockRouter,
) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient(base_url=BASE_URL, api_key="k", timeout=3.5) as client:
        await client.provider_profile.get("p-1")
    assert route.calls.last.request.extensions["timeout"]["read"] == 3.5
    timeout = httpx.Timeout(10, connect=1)
    async with AssuredClient(base_url=BASE_URL, api_key="k", timeout=timeout) as client:
        await client.provider_profile.get("p-1")
    assert route.calls.last.request.extensions["timeout"]["connect"] == 1


async def test_requests_carry_user_agent_and_bearer_token(
    client: AssuredClient, api: respx.MockRouter
) -> None:
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    await client.provider_profile.get("p-1")
    headers = route.calls.last.request.headers
    assert headers["user-agent"].startswith("assured-python/")
    assert headers["authorization"].startswith("Bearer ")


async def test_base_url_with_a_path_prefix_is_kept(api: respx.MockRouter) -> None:
    route = api.get(f"{BASE_URL}/prefix{PROFILE}").mock(
        return_value=httpx.Response(200, json=profile_json())
    )
    api.post(f"{BASE_URL}/prefix/api/v1/auth/token/").mock(
        return_value=api.routes["token"].return_value
    )
    async with AssuredClient(base_url=f"{BASE_URL}/prefix/", api_key="k") as client:
        await client.provider_profile.get("p-1")
    assert route.called


def test_sync_client_retries_the_same_way(
    sync_client: Assured, api: respx.MockRouter, sleeps: list[float]
) -> None:
    route = api.post(PROFILES).mock(
        side_effect=[
            _unavailable("2"),
            httpx.ConnectError("x"),
            httpx.Response(201, json=profile_json()),
        ]
    )
    sync_client.provider_profile.create(first_name="Ada", last_name="Lovelace")
    assert route.call_count == 3
    assert sleeps == [2.0, 1.0]
    assert len({call.request.headers["Idempotency-Key"] for call in route.calls}) == 1


def test_sync_client_maps_errors(sync_client: Assured, api: respx.MockRouter) -> None:
    api.get(PROFILE).mock(return_value=httpx.Response(404, json=error_body("NOT_FOUND", "Nope")))
    with pytest.raises(NotFoundError) as info:
        sync_client.provider_profile.get("p-1")
    assert info.value.detail == "Nope"


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        Assured(max_retries=-1)


def test_the_pool_is_made_once_by_the_first_request() -> None:
    # Making one reads the TLS roots: a client never used (an error before any request) is
    # spared that, and closing it closes nothing.
    with Assured(base_url=BASE_URL, api_key="k") as unused:
        assert unused._pool.http is None
    assert unused._pool.http is None
    client = Assured(base_url=BASE_URL, api_key="k")
    copy = client.with_options(timeout=5)
    barrier = threading.Barrier(8)

    def first_use(_: int) -> httpx.Client:
        barrier.wait(timeout=30)
        return (copy if _ % 2 else client)._http()

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(first_use, range(8)))
    assert len({id(http) for http in made}) == 1
    assert client._pool.http is made[0]
    client.close()
    assert made[0].is_closed


async def test_client_used_after_close_reopens_its_pool(api: respx.MockRouter) -> None:
    # The public guide presigns with the client after its `async with` block has ended.
    route = api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with AssuredClient(base_url=BASE_URL, api_key="k") as client:
        await client.provider_profile.get("p-1")
    await client.provider_profile.get("p-1")
    await client.close()
    assert route.call_count == 2


async def test_a_caller_supplied_http_client_is_not_closed(api: respx.MockRouter) -> None:
    api.get(PROFILE).mock(return_value=httpx.Response(200, json=profile_json()))
    async with httpx.AsyncClient() as http:
        async with AssuredClient(base_url=BASE_URL, api_key="k", http_client=http) as client:
            await client.provider_profile.get("p-1")
        assert not http.is_closed
