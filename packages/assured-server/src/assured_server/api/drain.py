"""Lingering close for refused uploads.

When an upload is refused mid-body (too large, wrong content), the answer goes out at once, but
closing a socket with unread data makes the kernel send RST, and a client still writing its body
may then lose the answer. So, as nginx's lingering close does, the final part of the response is
held back while the rest of the body is read and discarded, bounded in bytes and time.
"""

from __future__ import annotations

import time

import anyio
from starlette.types import Message, Receive, Scope, Send

DRAIN_MAX_BYTES = 64 << 20
DRAIN_MAX_SECONDS = 5.0


class LingeringBody:
    """Wraps receive/send of one request; see the module docstring."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._body_done = scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE")
        self._received_any = False
        self._headers = scope["headers"]

    async def receive(self) -> Message:
        """Pass messages through, noting when the body has been read to its end."""
        message = await self._receive()
        self._received_any = True
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self._body_done = True
        return message

    async def send(self, message: Message) -> None:
        """Before the last body message, drain what the app left unread."""
        if (
            message["type"] == "http.response.body"
            and not message.get("more_body", False)
            and not self._body_done
            # Asking for the body of a client waiting on "100 Continue" would invite it.
            and not (not self._received_any and self._expects_continue())
        ):
            await self._send({**message, "more_body": True})
            await self._drain()
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await self._send(message)

    def _expects_continue(self) -> bool:
        # Looked up only when a body is left unread: not on the hot path of every request.
        return any(
            name == b"expect" and value.lower() == b"100-continue" for name, value in self._headers
        )

    async def _drain(self) -> None:
        drained = 0
        deadline = time.monotonic() + DRAIN_MAX_SECONDS
        with anyio.move_on_after(DRAIN_MAX_SECONDS):
            while not self._body_done and drained < DRAIN_MAX_BYTES and time.monotonic() < deadline:
                message = await self.receive()
                drained += len(message.get("body", b""))
