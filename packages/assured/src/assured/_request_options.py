"""One API call as the SDK means it (``RequestOptions``) and what a caller adds per call."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypedDict

from assured._httpx import httpx
from assured._multipart import MultipartForm

# A string: reading ``httpx.Timeout`` here would import httpx with the SDK (see ``_httpx``).
TimeoutTypes: TypeAlias = "float | httpx.Timeout | None"


class CallOptions(TypedDict, total=False):
    """Options every resource method takes as keywords, for that one call.

    ``timeout`` replaces the client's timeout for each request of the call (seconds or an
    ``httpx.Timeout``). ``extra_headers`` and ``extra_query`` are added to the requests sent to
    the API (not to pre-signed storage URLs, whose signature covers what they carry).
    """

    timeout: TimeoutTypes
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str | int] | None


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key``: one per logical create call, reused by its retries."""
    import uuid  # here: it imports platform, which nothing else at SDK import needs

    return str(uuid.uuid4())


@dataclass
class RequestOptions:
    """One API call as the SDK means it; every attempt is built afresh from it."""

    method: str
    url: str
    """A path under the base URL, or an absolute URL (storage)."""
    params: Mapping[str, str | int] | None = None
    json: Any = None
    form: MultipartForm | None = None
    content: bytes | None = None
    """A raw body (one resumable chunk)."""
    headers: dict[str, str] = field(default_factory=dict)
    authenticated: bool = True
    """Whether to send the bearer token (never to storage URLs, which are pre-signed)."""
    idempotency_key: str | None = None
    retry_safe: bool = False
    """A POST that changes nothing when repeated (token exchange, presign, complete)."""
    timeout: TimeoutTypes | None = None

    def with_call_options(self, call: CallOptions) -> RequestOptions:
        """This request with the caller's per-call options applied."""
        changes: dict[str, Any] = {}
        if (timeout := call.get("timeout")) is not None:
            changes["timeout"] = timeout
        if not is_absolute(self.url):
            if extra_headers := call.get("extra_headers"):
                changes["headers"] = {**self.headers, **extra_headers}
            if extra_query := call.get("extra_query"):
                changes["params"] = {**(self.params or {}), **extra_query}
        return dataclasses.replace(self, **changes) if changes else self


def is_absolute(url: str) -> bool:
    """Whether ``url`` is a full URL (storage) rather than a path under the base URL (the API)."""
    return url.startswith(("http://", "https://"))
