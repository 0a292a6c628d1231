"""S3-style XML errors of the storage endpoints (S3 clients parse these, not our JSON)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from starlette.responses import Response


class S3Error(Exception):
    """An error the storage endpoints answer the way S3 does."""

    def __init__(self, code: str, message: str, status: int, **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra


def s3_error_response(error: S3Error, request_id: str, *, head: bool = False) -> Response:
    """``<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>``."""
    parts = [f"<Code>{escape(error.code)}</Code>", f"<Message>{escape(error.message)}</Message>"]
    parts += [f"<{name}>{escape(value)}</{name}>" for name, value in error.extra.items()]
    parts.append(f"<RequestId>{escape(request_id)}</RequestId>")
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    # HEAD answers carry no body, as in S3; the status says it all.
    return Response(
        b"" if head else body.encode("utf-8"),
        status_code=error.status,
        media_type="application/xml",
    )


def access_denied(message: str = "Access Denied") -> S3Error:
    """403 ``AccessDenied``."""
    return S3Error("AccessDenied", message, 403)
