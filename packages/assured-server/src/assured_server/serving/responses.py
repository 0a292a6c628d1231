"""Whole HTTP/1.1 error responses that the edge writes itself, before a request reaches the app.

The same JSON body as every other error of the contract, with a request id of its own (the
client's ``X-Request-ID`` is in a head that was not read to its end), and ``Connection: close``:
the connection is closed right after.
"""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus

from assured_server.errors import ApiError, ErrorCode, invalid
from assured_server.serving.head_guard import Verdict

TOO_MANY_CONNECTIONS = ApiError(
    ErrorCode.SERVICE_UNAVAILABLE, "The server has too many open connections; retry later."
)


def refusal(verdict: Verdict) -> ApiError:
    """The error a head refused by the guard (or the parser: ``MALFORMED``) is answered with."""
    if verdict is Verdict.HEADERS_TOO_LARGE:
        return ApiError(
            ErrorCode.HEADERS_TOO_LARGE,
            "The request headers are too large (8 KiB for one header, 32 KiB for all).",
        )
    if verdict is Verdict.URL_TOO_LONG:
        return invalid("The request line is longer than 8 KiB.")
    return invalid("The request is not valid HTTP/1.1.")


def raw_error(error: ApiError) -> bytes:
    """The bytes of a complete response carrying ``error``."""
    request_id = uuid.uuid4().hex
    body = json.dumps(error.body(request_id)).encode("utf-8")
    lines = [
        f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}",
        "content-type: application/json; charset=utf-8",
        f"content-length: {len(body)}",
        "connection: close",
        f"x-request-id: {request_id}",
        *(f"{name.lower()}: {value}" for name, value in error.headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
