"""What the async and sync clients share and do without I/O.

Configuration, request building, the retry decision, backoff, ``Retry-After`` and the mapping of
error answers to exceptions live here once; ``_base_client_async`` and ``_base_client_sync``
only send, sleep and lock.
"""

from __future__ import annotations

import email.utils
import html
import math
import os
import random
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pydantic

from assured import _constants as C
from assured._auth import REFRESH_PATH, TOKEN_PATH, TokenState
from assured._multipart import MultipartForm
from assured._version import __version__
from assured.exceptions import (
    APIConnectionError,
    APITimeoutError,
    AssuredAPIError,
    AssuredError,
    MissingCredentialsError,
    error_class_for_status,
)

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)
TimeoutTypes = float | httpx.Timeout | None

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
_RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
_XML_TAG = r"<{0}>(.*?)</{0}>"


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key``: one per logical create call, reused by its retries."""
    return str(uuid.uuid4())


def _jitter() -> float:
    # A module-level seam so that tests can pin the jitter; not security-relevant.
    return random.random()  # noqa: S311


@dataclass
class RequestOptions:
    """One API call as the SDK means it; every attempt is built afresh from it."""

    method: str
    url: str
    """A path under the base URL, or an absolute URL (storage)."""
    params: Mapping[str, str | int] | None = None
    json: Any = None
    form: MultipartForm | None = None
    headers: dict[str, str] = field(default_factory=dict)
    authenticated: bool = True
    """Whether to send the bearer token (never to storage URLs, which are pre-signed)."""
    idempotency_key: str | None = None
    retry_safe: bool = False
    """A POST that changes nothing when repeated (token exchange, presign, complete)."""
    timeout: TimeoutTypes | None = None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP date), capped; ``None`` if absent/bad."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), C.MAX_RETRY_AFTER)


def status_error_from_response(response: httpx.Response) -> AssuredAPIError:
    """The exception for an error answer: the contract's JSON, S3's XML, or anything else."""
    code: str | None = None
    detail: str | None = None
    error_field: str | None = None
    request_id: str | None = None
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        code = _str_or_none(body.get("code"))
        detail = _str_or_none(body.get("detail")) or _str_or_none(body.get("message"))
        error_field = _str_or_none(body.get("field"))
        request_id = _str_or_none(body.get("request_id"))
    elif isinstance(body, str) and "<Error>" in body:
        # Storage answers as S3 does. A regex, not an XML parser: three flat tags are all that
        # is read, and nothing from the network ever reaches an entity-expanding parser.
        code, detail, request_id = (
            _xml_text(body, tag) for tag in ("Code", "Message", "RequestId")
        )
    elif isinstance(body, str) and body.strip() and "<html" not in body[:200].lower():
        detail = body.strip()[:500]
    request_id = (
        request_id
        or response.headers.get("x-request-id")
        or response.headers.get("x-amz-request-id")
    )
    detail = detail or response.reason_phrase or f"HTTP {response.status_code}"
    cls = error_class_for_status(response.status_code)
    return cls(response.status_code, code, detail, request_id, error_field, response, body)


def json_or_none(response: httpx.Response) -> Any:
    """The JSON body of an answer, or ``None`` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def is_retryable_transport_error(exc: httpx.RequestError) -> bool:
    """Whether a transport failure may go away on its own (not a bad URL or a bad body)."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return False
    return isinstance(exc, httpx.TransportError)


def connection_error(exc: httpx.RequestError, request: httpx.Request) -> APIConnectionError:
    """The SDK's exception for a transport failure."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out: {exc}", request=request)
    return APIConnectionError(f"Connection error: {exc}", request=request)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _xml_text(body: str, tag: str) -> str | None:
    match = re.search(_XML_TAG.format(tag), body, re.DOTALL)
    if match is None:
        return None
    return html.unescape(match[1]).strip() or None


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

    # -- requests ---------------------------------------------------------------------------

    def _headers(self, options: RequestOptions, access_token: str | None) -> dict[str, str]:
        headers = {"User-Agent": f"assured-python/{__version__}"}
        if not options.url.startswith(("http://", "https://")):
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
        if not url.startswith(("http://", "https://")):
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

    # -- answers ----------------------------------------------------------------------------

    @staticmethod
    def _parse(response: httpx.Response, model: type[ModelT]) -> ModelT:
        try:
            return model.model_validate(response.json())
        except (ValueError, pydantic.ValidationError) as exc:
            raise AssuredError(
                f"Unexpected answer to {response.request.method} {response.request.url.path} "
                f"({response.status_code}): {exc}"
            ) from exc
