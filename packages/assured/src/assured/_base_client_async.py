"""The async half of the base client: it sends, sleeps between retries and locks token renewal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

import anyio
import httpx

from assured._base_client import (
    BaseClient,
    ModelT,
    RequestOptions,
    TimeoutTypes,
    connection_error,
    is_retryable_transport_error,
    json_or_none,
    status_error_from_response,
)
from assured._constants import DEFAULT_MAX_RETRIES
from assured.exceptions import AuthenticationError


async def _sleep(seconds: float) -> None:
    # A module-level seam so that tests can skip the backoff waits.
    await anyio.sleep(seconds)


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
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=self.timeout)
        # Created on first use, inside the event loop that uses it.
        self._token_lock: anyio.Lock | None = None

    async def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def request(self, options: RequestOptions, model: type[ModelT]) -> ModelT:
        """Send ``options`` and parse the answer as ``model``."""
        return self._parse(await self._send(options), model)

    async def request_raw(self, options: RequestOptions) -> httpx.Response:
        """Send ``options`` and return the successful answer, body read."""
        return await self._send(options)

    @asynccontextmanager
    async def stream(self, options: RequestOptions) -> AsyncIterator[httpx.Response]:
        """Send ``options`` and yield the successful answer with its body not yet read."""
        response = await self._send(options, stream=True)
        try:
            yield response
        finally:
            await response.aclose()

    async def account_id(self) -> str:
        """The caller's account id, from the access token's ``acct`` claim."""
        await self._access_token()
        return self._tokens.account_id()

    async def _send(self, options: RequestOptions, *, stream: bool = False) -> httpx.Response:
        attempt = 0
        reauthenticated = False
        while True:
            if self._http.is_closed and self._owns_http:
                # Used again after ``close()`` (the public guide presigns after its
                # ``async with`` block): open a new pool rather than fail; close it again.
                self._http = httpx.AsyncClient(timeout=self.timeout)
            token = await self._access_token() if options.authenticated else None
            content = options.form.__aiter__() if options.form is not None else None
            request = self._http.build_request(
                **self._request_kwargs(options, token), content=content
            )
            response: httpx.Response | None = None
            try:
                response = await self._http.send(request, stream=True)
                if not stream or response.is_error:
                    await response.aread()
            except httpx.RequestError as exc:
                if response is not None:
                    await response.aclose()
                if is_retryable_transport_error(exc) and self._should_retry_error(options, attempt):
                    await _sleep(self._retry_delay(attempt))
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
                await _sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            raise status_error_from_response(response)

    async def _access_token(self, stale: str | None = None) -> str:
        if self._needs_token(stale):
            if self._token_lock is None:
                self._token_lock = anyio.Lock()
            async with self._token_lock:
                # Whoever waited on the lock finds the token another task just renewed.
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
