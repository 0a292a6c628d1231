# unasync: the sync twin of this module is generated from it (make unasync).
"""The async base client: it sends with retries, renews tokens, maps errors; and it pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, Self, Unpack

from assured import _concurrency
from assured._base_client import AsyncFetch, BaseClient, ModelT, Pool, T, check_page_cursor
from assured._concurrency import AsyncLock
from assured._constants import DEFAULT_MAX_RETRIES
from assured._httpx import httpx
from assured._request_options import CallOptions, RequestOptions, TimeoutTypes
from assured._responses import (
    connection_error,
    is_retryable_transport_error,
    json_or_none,
    status_error_from_response,
)
from assured.exceptions import AuthenticationError, NotFoundError


class AsyncAPIClient(BaseClient):
    """Sends requests with retries, token renewal and error mapping (async)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        # The SDK's own pool is made by the first request (``_http``), not here: making one
        # imports httpcore and reads the TLS roots, which a client never used needs not pay.
        self._pool: Pool[httpx.AsyncClient] = Pool(http_client, owned=http_client is None)
        self._token_lock = AsyncLock()

    async def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``).

        A copy made by ``with_options`` leaves the pool it shares open.
        """
        if self._pool.owned and not self._is_copy and self._pool.http is not None:
            await self._pool.http.aclose()

    async def request(
        self, options: RequestOptions, model: type[ModelT], **call: Unpack[CallOptions]
    ) -> ModelT:
        """Send ``options`` and parse the answer as ``model``."""
        return self._parse(await self._send(options.with_call_options(call)), model)

    async def request_raw(
        self, options: RequestOptions, **call: Unpack[CallOptions]
    ) -> httpx.Response:
        """Send ``options`` and return the successful answer, body read."""
        return await self._send(options.with_call_options(call))

    @asynccontextmanager
    async def stream(
        self, options: RequestOptions, **call: Unpack[CallOptions]
    ) -> AsyncIterator[httpx.Response]:
        """Send ``options`` and yield the successful answer with its body not yet read."""
        response = await self._send(options.with_call_options(call), stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    async def account_id(self) -> str:
        """The caller's account id, from the access token's ``acct`` claim."""
        await self._access_token()
        return self._tokens.account_id()

    async def max_upload_size(self) -> int | None:
        """The largest upload the server accepts, in bytes; ``None`` when it does not say.

        Asked once, then remembered for five minutes by this client and its copies.
        """
        if not self._upload_limit.fresh():
            await self._access_token()
            try:
                response = await self._send(self._upload_limits_options())
            except NotFoundError:
                # A server without the route: then only the upload itself can be refused.
                self._upload_limit.remember(None)
            else:
                self._upload_limit.remember(json_or_none(response))
        return self._upload_limit.max_size

    def _http(self) -> httpx.AsyncClient:
        pool = self._pool
        http = pool.http
        # Made on first use; and used again after ``close()`` (the public guide presigns after
        # its ``async with`` block), a new pool is opened rather than fail: ``close()`` closes
        # it again. A pool passed in as ``http_client`` is used as it is.
        if http is None or (pool.owned and http.is_closed):
            with pool.lock:
                http = pool.http
                if http is None or (pool.owned and http.is_closed):
                    http = pool.http = httpx.AsyncClient(timeout=self.timeout)
        return http

    async def _send(self, options: RequestOptions, *, stream: bool = False) -> httpx.Response:
        attempt = 0
        reauthenticated = False
        while True:
            http = self._http()
            token = await self._access_token() if options.authenticated else None
            content = aiter(options.form) if options.form is not None else options.content
            request = http.build_request(**self._request_kwargs(options, token), content=content)
            response: httpx.Response | None = None
            try:
                response = await http.send(request, stream=True)
                if not stream or response.is_error:
                    await response.aread()
            except httpx.RequestError as exc:
                if response is not None:
                    await response.aclose()
                if is_retryable_transport_error(exc) and self._should_retry_error(options, attempt):
                    await _concurrency.async_sleep(self._retry_delay(attempt))
                    attempt += 1
                    continue
                raise connection_error(exc, request) from exc
            if not response.is_error:
                return response
            await response.aclose()
            if (
                response.status_code == 401
                and token is not None
                and not reauthenticated
                and self._can_reauthenticate()
                and (options.form is None or options.form.rewindable)
            ):
                # The token was refused (revoked, or the server's clock disagrees): renew it
                # once and resend once; a second 401 is the caller's to see.
                reauthenticated = True
                await self._access_token(stale=token)
                continue
            if self._should_retry_response(options, response, attempt):
                await _concurrency.async_sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            raise status_error_from_response(response)

    async def _access_token(self, stale: str | None = None) -> str:
        if self._needs_token(stale):
            async with self._token_lock:
                # Whoever waited on the lock finds the token another caller just renewed.
                if self._needs_token(stale):
                    await self._renew_token()
        assert self._tokens.access is not None  # noqa: S101 - _renew_token sets it or raises
        return self._tokens.access

    async def _renew_token(self) -> None:
        if self._tokens.refresh is not None:
            try:
                response = await self._send(self._refresh_options())
            except AuthenticationError:
                # The refresh token expired or was revoked: fall back to the API key.
                self._tokens.refresh = None
                if self.api_key is None:
                    raise
            else:
                self._tokens.apply(json_or_none(response))
                return
        response = await self._send(self._exchange_options())
        self._tokens.apply(json_or_none(response))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncPaginator(Generic[T]):
    """Every item of every page, fetched one page at a time as ``async for`` goes."""

    def __init__(self, fetch: AsyncFetch[T]) -> None:
        self._fetch = fetch

    async def __aiter__(self) -> AsyncIterator[T]:
        cursor: str | None = None
        while True:
            items, next_cursor = await self._fetch(cursor)
            # Not `yield from` in the sync twin: it is generated from this async generator.
            for item in items:  # noqa: UP028
                yield item
            if next_cursor is None:
                return
            check_page_cursor(next_cursor, cursor)
            cursor = next_cursor

    async def to_list(self) -> list[T]:
        """Every item, in one list (mind the memory for large accounts)."""
        return [item async for item in self]
