"""What the async and sync clients share and do without I/O.

Configuration, request building, the retry decision, backoff, ``Retry-After`` and token renewal
decisions live here once (requests are described in ``_request_options``, answers read in
``_responses``); ``_base_client_async`` and the generated ``_base_client_sync`` only send,
sleep and lock.
"""

from __future__ import annotations

import copy
import math
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from assured import _constants as C
from assured._auth import REFRESH_PATH, TOKEN_PATH, TokenState
from assured._httpx import httpx
from assured._limits import UploadLimit, upload_limits_path
from assured._request_options import RequestOptions, TimeoutTypes, is_absolute
from assured._responses import status_error_from_response
from assured._version import __version__
from assured.exceptions import AssuredError, AssuredValidationError, MissingCredentialsError

if TYPE_CHECKING:
    import pydantic

# A string bound: `from assured import AssuredClient` need not import pydantic (100+ ms); the
# models load with the first resource that uses them.
ModelT = TypeVar("ModelT", bound="pydantic.BaseModel")
T = TypeVar("T")
# Strings too: httpx is imported when the first client is made, not with the SDK (``_httpx``).
HttpT = TypeVar("HttpT", "httpx.AsyncClient", "httpx.Client")

Page = tuple[list[T], str | None]
"""One page: its items and the cursor of the next page (``None`` after the last)."""
AsyncFetch = Callable[[str | None], Awaitable[Page[T]]]
"""How an async paginator gets the page at a cursor."""
Fetch = Callable[[str | None], Page[T]]
"""How a sync paginator gets the page at a cursor."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
_RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})


def _jitter() -> float:
    # A module-level seam so that tests can pin the jitter; not security-relevant.
    return random.random()  # noqa: S311


@dataclass
class Pool(Generic[HttpT]):
    """The connection pool, shared by a client and the copies ``with_options`` makes of it."""

    http: HttpT | None
    """``None`` until the first request when the SDK makes it (making one loads TLS roots)."""
    owned: bool
    """Made by the SDK (not passed in as ``http_client``): the SDK may close and reopen it."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while the SDK makes the pool: two threads' first requests make only one."""


def check_page_cursor(cursor: str | None, previous: str | None) -> None:
    """Refuse a next-page cursor equal to the last one: a server bug would loop forever."""
    if cursor is not None and cursor == previous:
        raise AssuredError(f"The API returned the same page cursor twice ({cursor!r}).")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP date), capped; ``None`` if absent/bad."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # rare (an HTTP date), and ~10 ms to import

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), C.MAX_RETRY_AFTER)


class BaseClient:
    """Configuration and every decision the clients make without I/O."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        timeout: TimeoutTypes = None,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get(C.ENV_BASE_URL) or C.DEFAULT_BASE_URL).rstrip(
            "/"
        )
        """The API's base URL."""
        self.api_key = api_key or os.environ.get(C.ENV_API_KEY) or None
        """The API key exchanged for tokens (``None`` when only a token was given)."""
        token = token or os.environ.get(C.ENV_TOKEN) or None
        if token is not None and token.startswith(C.API_KEY_PREFIX):
            # An API key where a token belongs (the commonest first mistake): no access token
            # ever looks like this, so it is used as the key it is, exchanged for tokens.
            if self.api_key is not None and self.api_key != token:
                raise AssuredValidationError(
                    f"token (or {C.ENV_TOKEN}) holds an API key, and api_key (or "
                    f"{C.ENV_API_KEY}) another one: give only one of them."
                )
            self.api_key, token = token, None
        if max_retries < 0:
            raise ValueError("max_retries cannot be negative.")
        self.max_retries = max_retries
        """How many times a failed request is retried (when retrying is safe)."""
        if timeout is None:
            timeout = httpx.Timeout(
                C.DEFAULT_TIMEOUT_SECONDS, connect=C.DEFAULT_CONNECT_TIMEOUT_SECONDS
            )
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        """The default timeouts of every request."""
        self._default_headers = dict(default_headers or {})
        self._tokens = TokenState.from_static_token(token) if token else TokenState()
        self._upload_limit = UploadLimit()
        self._is_copy = False

    def with_options(
        self,
        *,
        timeout: TimeoutTypes = None,
        max_retries: int | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> Self:
        """A copy of this client with other defaults; unset arguments keep the current ones.

        The copy shares the connection pool and the tokens of this client (same server, same
        account): making one costs no connection and no token exchange. ``default_headers``
        are added to the current ones. Closing the copy leaves the pool open; closing this
        client closes it for both.
        """
        if max_retries is not None and max_retries < 0:
            raise ValueError("max_retries cannot be negative.")
        clone = copy.copy(self)
        # Resources built for this client (cached properties) must not serve the copy.
        for klass in type(self).__mro__:
            for name, member in vars(klass).items():
                if isinstance(member, cached_property):
                    clone.__dict__.pop(name, None)
        if timeout is not None:
            clone.timeout = (
                timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
            )
        if max_retries is not None:
            clone.max_retries = max_retries
        clone._default_headers = {**self._default_headers, **(default_headers or {})}
        clone._is_copy = True
        return clone

    # -- requests ---------------------------------------------------------------------------

    def _headers(self, options: RequestOptions, access_token: str | None) -> dict[str, str]:
        headers = {"User-Agent": f"assured-python/{__version__}"}
        if not is_absolute(options.url):
            headers["Accept"] = "application/json"
        headers.update(self._default_headers)
        if access_token is not None:
            headers["Authorization"] = f"Bearer {access_token}"
        if options.idempotency_key is not None:
            headers["Idempotency-Key"] = options.idempotency_key
        if options.form is not None:
            headers.update(options.form.headers())
        headers.update(options.headers)
        return headers

    def _request_kwargs(self, options: RequestOptions, access_token: str | None) -> dict[str, Any]:
        """Keyword arguments of ``build_request``, except the streamed ``content``."""
        url = options.url
        if not is_absolute(url):
            url = self.base_url + url
        kwargs: dict[str, Any] = {
            "method": options.method,
            "url": url,
            "headers": self._headers(options, access_token),
            "timeout": options.timeout if options.timeout is not None else self.timeout,
        }
        if options.params:
            kwargs["params"] = dict(options.params)
        if options.json is not None:
            kwargs["json"] = options.json
        return kwargs

    # -- retries ----------------------------------------------------------------------------

    def _may_resend(self, options: RequestOptions) -> bool:
        """Whether sending the request twice cannot do harm, and its body can be sent again."""
        if options.form is not None and not options.form.rewindable:
            return False
        return (
            options.method.upper() in _SAFE_METHODS
            or options.idempotency_key is not None
            or options.retry_safe
        )

    def _should_retry_error(self, options: RequestOptions, attempt: int) -> bool:
        """Whether to retry after a connection error or timeout on attempt ``attempt`` (0-based)."""
        return attempt < self.max_retries and self._may_resend(options)

    def _should_retry_response(
        self, options: RequestOptions, response: httpx.Response, attempt: int
    ) -> bool:
        """Whether to retry after an error answer (its body already read)."""
        if attempt >= self.max_retries or not self._may_resend(options):
            return False
        if response.status_code in _RETRY_STATUSES:
            return True
        # The same key while its first request still runs: the server says when to come back.
        if response.status_code == 409 and "retry-after" in response.headers:
            error = status_error_from_response(response)
            return error.code == "IDEMPOTENCY_CONFLICT"
        return False

    def _retry_delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if response is not None:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None:
                return retry_after
        delay = min(C.INITIAL_RETRY_DELAY * 2.0**attempt, C.MAX_RETRY_DELAY)
        return delay * (1 - C.JITTER_FRACTION * _jitter())

    # -- authentication ---------------------------------------------------------------------

    def _needs_token(self, stale: str | None) -> bool:
        """Whether to get a new access token (``stale``: the one the server just refused)."""
        return self._tokens.needs_token() or (stale is not None and self._tokens.access == stale)

    def _can_reauthenticate(self) -> bool:
        """Whether a refused token can be replaced (by refreshing or exchanging the key)."""
        return self.api_key is not None or self._tokens.refresh is not None

    def _refresh_options(self) -> RequestOptions:
        # Refreshing or exchanging twice only mints one more token: safe to retry.
        return RequestOptions(
            "POST",
            REFRESH_PATH,
            json={"refresh": self._tokens.refresh},
            authenticated=False,
            retry_safe=True,
        )

    def _exchange_options(self) -> RequestOptions:
        if self.api_key is None:
            raise MissingCredentialsError(
                f"No credentials: pass api_key= (or token=) or set {C.ENV_API_KEY} "
                f"(or {C.ENV_TOKEN})."
            )
        return RequestOptions(
            "POST",
            TOKEN_PATH,
            json={"api_key": self.api_key},
            authenticated=False,
            retry_safe=True,
        )

    def _upload_limits_options(self) -> RequestOptions:
        return RequestOptions("GET", upload_limits_path(self._tokens.account_id()))

    # -- answers ----------------------------------------------------------------------------

    @staticmethod
    def _parse(response: httpx.Response, model: type[ModelT]) -> ModelT:
        try:
            return model.model_validate(response.json())
        except ValueError as exc:  # bad JSON, and pydantic's ValidationError (a ValueError)
            raise AssuredError(
                f"Unexpected answer to {response.request.method} {response.request.url.path} "
                f"({response.status_code}): {exc}"
            ) from exc
