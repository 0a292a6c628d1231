# generated from src/assured/_base_client_async.py by scripts/unasync.py;
# do not edit: change the async module and run `make unasync`.
"""The sync base client: it sends with retries, renews tokens, maps errors; and it pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, Self, Unpack

from assured import _concurrency
from assured._base_client import BaseClient, Fetch, ModelT, Pool, T, check_page_cursor
from assured._concurrency import Lock
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


class SyncAPIClient(BaseClient):
    """Sends requests with retries, token renewal and error mapping (sync)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: dict[str, str] | None = None,
        http_client: httpx.Client | None = None,
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
        self._pool: Pool[httpx.Client] = Pool(http_client, owned=http_client is None)
        self._token_lock = Lock()

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``).

        A copy made by ``with_options`` leaves the pool it shares open.
        """
        if self._pool.owned and not self._is_copy and self._pool.http is not None:
            self._pool.http.close()

    def request(
        self, options: RequestOptions, model: type[ModelT], **call: Unpack[CallOptions]
    ) -> ModelT:
        """Send ``options`` and parse the answer as ``model``."""
        return self._parse(self._send(options.with_call_options(call)), model)

    def request_raw(self, options: RequestOptions, **call: Unpack[CallOptions]) -> httpx.Response:
        """Send ``options`` and return the successful answer, body read."""
        return self._send(options.with_call_options(call))

    @contextmanager
    def stream(
        self, options: RequestOptions, **call: Unpack[CallOptions]
    ) -> Iterator[httpx.Response]:
        """Send ``options`` and yield the successful answer with its body not yet read."""
        response = self._send(options.with_call_options(call), stream=True)
        try:
            yield response
        finally:
            response.close()

    def account_id(self) -> str:
        """The caller's account id, from the access token's ``acct`` claim."""
        self._access_token()
        return self._tokens.account_id()

    def max_upload_size(self) -> int | None:
        """The largest upload the server accepts, in bytes; ``None`` when it does not say.

        Asked once, then remembered for five minutes by this client and its copies.
        """
        if not self._upload_limit.fresh():
            self._access_token()
            try:
                response = self._send(self._upload_limits_options())
            except NotFoundError:
                # A server without the route: then only the upload itself can be refused.
                self._upload_limit.remember(None)
            else:
                self._upload_limit.remember(json_or_none(response))
        return self._upload_limit.max_size

    def _http(self) -> httpx.Client:
        pool = self._pool
        http = pool.http
        # Made on first use; and used again after ``close()`` (the public guide presigns after
        # its ``with`` block), a new pool is opened rather than fail: ``close()`` closes
        # it again. A pool passed in as ``http_client`` is used as it is.
        if http is None or (pool.owned and http.is_closed):
            with pool.lock:
                http = pool.http
                if http is None or (pool.owned and http.is_closed):
                    http = pool.http = httpx.Client(timeout=self.timeout)
        return http

    def _send(self, options: RequestOptions, *, stream: bool = False) -> httpx.Response:
        attempt = 0
        reauthenticated = False
        while True:
            http = self._http()
            token = self._access_token() if options.authenticated else None
            content = iter(options.form) if options.form is not None else options.content
            request = http.build_request(**self._request_kwargs(options, token), content=content)
            response: httpx.Response | None = None
            try:
                response = http.send(request, stream=True)
                if not stream or response.is_error:
                    response.read()
            except httpx.RequestError as exc:
                if response is not None:
                    response.close()
                if is_retryable_transport_error(exc) and self._should_retry_error(options, attempt):
                    _concurrency.sleep(self._retry_delay(attempt))
                    attempt += 1
                    continue
                raise connection_error(exc, request) from exc
            if not response.is_error:
                return response
            response.close()
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
                self._access_token(stale=token)
                continue
            if self._should_retry_response(options, response, attempt):
                _concurrency.sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            raise status_error_from_response(response)

    def _access_token(self, stale: str | None = None) -> str:
        if self._needs_token(stale):
            with self._token_lock:
                # Whoever waited on the lock finds the token another caller just renewed.
                if self._needs_token(stale):
                    self._renew_token()
        assert self._tokens.access is not None  # noqa: S101 - _renew_token sets it or raises
        return self._tokens.access

    def _renew_token(self) -> None:
        if self._tokens.refresh is not None:
            try:
                response = self._send(self._refresh_options())
            except AuthenticationError:
                # The refresh token expired or was revoked: fall back to the API key.
                self._tokens.refresh = None
                if self.api_key is None:
                    raise
            else:
                self._tokens.apply(json_or_none(response))
                return
        response = self._send(self._exchange_options())
        self._tokens.apply(json_or_none(response))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SyncPaginator(Generic[T]):
    """Every item of every page, fetched one page at a time as ``for`` goes."""

    def __init__(self, fetch: Fetch[T]) -> None:
        self._fetch = fetch

    def __iter__(self) -> Iterator[T]:
        cursor: str | None = None
        while True:
            items, next_cursor = self._fetch(cursor)
            # Not `yield from` in the sync twin: it is generated from this sync generator.
            for item in items:  # noqa: UP028
                yield item
            if next_cursor is None:
                return
            check_page_cursor(next_cursor, cursor)
            cursor = next_cursor

    def to_list(self) -> list[T]:
        """Every item, in one list (mind the memory for large accounts)."""
        return [item for item in self]
