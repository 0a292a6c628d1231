"""The sync half of the base client: it sends, sleeps between retries and locks token renewal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

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


def _sleep(seconds: float) -> None:
    # A module-level seam so that tests can skip the backoff waits.
    time.sleep(seconds)


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
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=self.timeout)
        self._token_lock = threading.Lock()

    def close(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            self._http.close()

    def request(self, options: RequestOptions, model: type[ModelT]) -> ModelT:
        """Send ``options`` and parse the answer as ``model``."""
        return self._parse(self._send(options), model)

    def request_raw(self, options: RequestOptions) -> httpx.Response:
        """Send ``options`` and return the successful answer, body read."""
        return self._send(options)

    @contextmanager
    def stream(self, options: RequestOptions) -> Iterator[httpx.Response]:
        """Send ``options`` and yield the successful answer with its body not yet read."""
        response = self._send(options, stream=True)
        try:
            yield response
        finally:
            response.close()

    def account_id(self) -> str:
        """The caller's account id, from the access token's ``acct`` claim."""
        self._access_token()
        return self._tokens.account_id()

    def _send(self, options: RequestOptions, *, stream: bool = False) -> httpx.Response:
        attempt = 0
        reauthenticated = False
        while True:
            if self._http.is_closed and self._owns_http:
                # Used again after ``close()`` (the public guide presigns after its
                # ``async with`` block): open a new pool rather than fail; close it again.
                self._http = httpx.Client(timeout=self.timeout)
            token = self._access_token() if options.authenticated else None
            content = iter(options.form) if options.form is not None else None
            request = self._http.build_request(
                **self._request_kwargs(options, token), content=content
            )
            response: httpx.Response | None = None
            try:
                response = self._http.send(request, stream=True)
                if not stream or response.is_error:
                    response.read()
            except httpx.RequestError as exc:
                if response is not None:
                    response.close()
                if is_retryable_transport_error(exc) and self._should_retry_error(options, attempt):
                    _sleep(self._retry_delay(attempt))
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
                _sleep(self._retry_delay(attempt, response))
                attempt += 1
                continue
            raise status_error_from_response(response)

    def _access_token(self, stale: str | None = None) -> str:
        if self._needs_token(stale):
            with self._token_lock:
                # Whoever waited on the lock finds the token another thread just renewed.
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
