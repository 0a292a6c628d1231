"""Responses that carry a credential or a signed URL: no cache may keep them.

Tokens, the signed POST policy of an upload and pre-signed download URLs grant access by
themselves, so their responses say ``Cache-Control: no-store`` (RFC 9111 5.2.2.5; OAuth 2.0
requires it of token responses, RFC 6749 5.1). A route declares it once: JSON routes with
``response_class=NoStoreJSONResponse``, keyed creates by passing :data:`NO_STORE` to
:func:`~assured_server.api.idempotency.run_json`, which also puts it on replays. Errors carry
no credential and keep the usual headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import JSONResponse

NO_STORE: Mapping[str, str] = {"Cache-Control": "no-store"}


class NoStoreJSONResponse(JSONResponse):
    """A JSON response with ``Cache-Control: no-store``."""

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(
            content, status_code, {**NO_STORE, **(headers or {})}, media_type, background
        )
