"""The edge of every request: request ids, header and URL limits, access log, metrics, last 500.

One pure-ASGI layer (no per-request task or body copy) so that it costs little on hot paths.
The limits are the contract's exact rules on the parsed request; the protocol
(``serving.head_guard``) already refused heads that passed them by more than a separator's
slack while they arrived.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assured_server.api.drain import LingeringBody
from assured_server.errors import ApiError, ErrorCode, invalid
from assured_server.metrics import observe_request
from assured_server.serving.limits import MAX_HEADER_BYTES, MAX_HEADERS_TOTAL, MAX_URL_BYTES

log = logging.getLogger("assured_server.access")
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,200}")
_JSON = b"application/json"
_JSON_UTF8 = b"application/json; charset=utf-8"


class EdgeMiddleware:
    """Wraps the whole app; see the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0
        header_id = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # JSON leaves as application/json; charset=utf-8 (the contract), whichever
                # response class rendered it.
                headers = [
                    (name, _JSON_UTF8)
                    if value == _JSON and name.lower() == b"content-type"
                    else (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", header_id))
                message = {**message, "headers": headers}
            await send(message)

        body = LingeringBody(scope, receive, send_with_id)
        try:
            too_large = _headers_too_large(scope)
            if too_large:
                await send_error(
                    body.send, ApiError(ErrorCode.HEADERS_TOO_LARGE, too_large), request_id
                )
            elif _url_too_long(scope):
                await send_error(body.send, invalid("The URL is longer than 8 KiB."), request_id)
            else:
                await self.app(scope, body.receive, body.send)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id})
            if status == 0:
                await send_error(body.send, ApiError(ErrorCode.INTERNAL_ERROR), request_id)
                status = 500
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            observe_request(scope["method"], template, status, elapsed)
            # The path only: a query string may hold a pre-signed URL's signature.
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                template,
                status,
                elapsed * 1000,
                extra={"request_id": request_id},
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            # Echo only a safe token: the id lands in logs and response headers.
            if _REQUEST_ID.fullmatch(value):
                return bytes(value).decode("ascii")
            break
    return uuid.uuid4().hex


def _headers_too_large(scope: Scope) -> str | None:
    total = 0
    for name, value in scope["headers"]:
        size = len(name) + len(value)
        if size > MAX_HEADER_BYTES:
            return "A request header is larger than 8 KiB."
        total += size
    if total > MAX_HEADERS_TOTAL:
        return "The request headers are larger than 32 KiB in total."
    return None


def _url_too_long(scope: Scope) -> bool:
    query = len(scope["query_string"])
    return len(scope["raw_path"]) + (query + 1 if query else 0) > MAX_URL_BYTES


async def send_error(send: Send, error: ApiError, request_id: str) -> None:
    """Answer ``error`` in the contract's JSON shape from a pure ASGI layer."""
    payload = json.dumps(error.body(request_id)).encode("utf-8")
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def request_id_of(scope: Scope | Any) -> str:
    """The id the edge middleware gave this request."""
    state: dict[str, Any] = scope.get("state") or {}
    return str(state.get("request_id", "-"))
