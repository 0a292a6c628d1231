"""Reading answers: errors as exceptions, and transport failures as connection errors.

An error answer may be the contract's JSON, S3's XML (storage) or anything else (a proxy).
"""

from __future__ import annotations

import re
from typing import Any

from assured._httpx import httpx
from assured.exceptions import (
    APIConnectionError,
    APITimeoutError,
    AssuredAPIError,
    error_class_for_status,
)

_XML_TAG = r"<{0}>(.*?)</{0}>"


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
    import html  # here: only storage's XML errors need it

    return html.unescape(match[1]).strip() or None
