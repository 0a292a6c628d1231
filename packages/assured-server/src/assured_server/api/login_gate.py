"""Refuse a throttled address's login before its request is routed or its body read.

A hostile client that ignores ``Retry-After`` keeps posting to the token endpoint; each 429
went through routing, the JSON body and the exception handler, which cost about twice what
``/healthz`` does and slowed every other request of the process. Here the answer is the same
429 ``RATE_LIMITED`` the route gives (``auth.throttle`` decides; see ``refuse_address`` for
when an address may be refused without its username), sent from this thin ASGI layer.

The answer is held for a second first (a tarpit): a client that ignores ``Retry-After`` and
posts again the moment it is answered then makes one attempt a second per connection, instead
of as many as the process can refuse, which kept it busy refusing (bench row 7, one address
each: ``/healthz`` p99 3.15x its idle value without the hold, 2.5x with it, on a 2-core
machine). Holding costs a sleeping task; the connections it keeps are bounded by
``ASSURED_MAX_CONNECTIONS``.
"""

from __future__ import annotations

from types import SimpleNamespace

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from assured_server.api.middleware import request_id_of, send_error
from assured_server.auth.throttle import LoginThrottle, client_address
from assured_server.errors import ApiError, ErrorCode

LOGIN_ROUTE = "/api/v1/auth/token/"
# What the edge's access log and metrics name the route by (it reads ``scope["route"].path``).
_ROUTE = SimpleNamespace(path=LOGIN_ROUTE)
HOLD_SECONDS = 1.0  # never longer than the shortest Retry-After (1 s)


class LoginGate:
    """Pure ASGI: ``POST`` of the token endpoint from a refused address gets its 429 here."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == LOGIN_ROUTE and scope["method"] == "POST":
            client = scope.get("client")
            retry_after = self.throttle.refuse_address(
                client_address(client[0] if client else None)
            )
            if retry_after is not None:
                scope["route"] = _ROUTE
                error = ApiError(
                    ErrorCode.RATE_LIMITED,
                    "Too many failed attempts; retry later.",
                    headers={"Retry-After": str(retry_after)},
                )
                await anyio.sleep(HOLD_SECONDS)
                await send_error(send, error, request_id_of(scope))
                return
        await self.app(scope, receive, send)
