"""CORS for browser clients: ``ASSURED_CORS_ORIGINS`` on ``/api``, ``/v3``, ``/u``, ``/storage``.

Starlette's ``CORSMiddleware`` does not do what the contract says, so this is our own:
- it refuses a preflight with a plain-text 400; here a refused preflight is a 403 with the
  JSON error body (under ``/storage`` S3's XML ``AccessForbidden``, as S3 answers it);
- it allows one list of methods everywhere; here a preflight is told the methods of its path;
- it allows the whole list of headers; here only the requested ones are echoed;
- as an inner middleware it would miss the answers the edge renders itself (431, the last
  500), and an outer one would answer preflights without a request id, log line or metric.
So the edge middleware consults a :class:`CorsPolicy`: it answers preflights there and adds
the headers to every response under the prefixes there. With no origins configured the edge
has no policy and nothing here runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute
from starlette.types import Scope

from assured_server.api.route_methods import methods_of
from assured_server.errors import ApiError, ErrorCode
from assured_server.s3_protocol.errors import S3Error

PREFIXES = ("/api", "/v3", "/u", "/storage")
MAX_AGE = 600
# The request headers a browser may ask to send: ours, then the tus protocol's.
ALLOWED_REQUEST_HEADERS = frozenset(
    {
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
        "tus-resumable",
        "upload-length",
        "upload-offset",
        "upload-metadata",
        "upload-checksum",
        "upload-defer-length",
        "upload-concat",
        "x-http-method-override",
    }
)
# The response headers a page may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = (
    "ETag, Location, X-Request-ID, Retry-After, Tus-Resumable, Tus-Version, Tus-Extension, "
    "Tus-Max-Size, Tus-Checksum-Algorithm, Upload-Offset, Upload-Length, Upload-Expires, "
    "Upload-Metadata"
)
_VARY = (b"vary", b"Origin")
_EXPOSE = (b"access-control-expose-headers", EXPOSED_HEADERS.encode("ascii"))
_S3_FORBIDDEN = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evaluation "
    "of Origin, request method / Access-Control-Request-Method or "
    "Access-Control-Request-Headers are not allowed by the resource's CORS configuration."
)


@dataclass(frozen=True, slots=True)
class Preflight:
    """The answer to a preflight: 204 with ``headers``, or ``error`` (403)."""

    headers: list[tuple[bytes, bytes]]
    error: ApiError | S3Error | None = None


class CorsPolicy:
    """Which origins may call, and the headers and preflight answers that follow from it."""

    def __init__(self, origins: Sequence[str], routes: Sequence[BaseRoute]) -> None:
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)
        self.routes = routes

    @staticmethod
    def applies(path: str) -> bool:
        """Whether ``path`` is under one of the prefixes (``/u/x`` is, ``/uploads`` is not)."""
        return any(path == prefix or path.startswith(prefix + "/") for prefix in PREFIXES)

    def allowed(self, origin: bytes | None) -> bool:
        """Whether a page of ``origin`` may read the answers."""
        if not origin:
            return False
        return self.any_origin or origin.decode("latin-1") in self.origins

    @staticmethod
    def response_headers(origin: bytes | None) -> list[tuple[bytes, bytes]]:
        """What a response under the prefixes gets: ``Vary``, and for an allowed origin more."""
        if origin is None:
            return [_VARY]
        return [(b"access-control-allow-origin", origin), _VARY, _EXPOSE]

    def preflight(self, scope: Scope, origin: bytes) -> Preflight | None:
        """The answer to ``scope`` if it is a preflight (``OPTIONS`` asking for a method)."""
        wanted_method = wanted_headers = None
        for name, value in scope["headers"]:
            if name == b"access-control-request-method":
                wanted_method = value.decode("latin-1").strip()
            elif name == b"access-control-request-headers":
                wanted_headers = value.decode("latin-1")
        if wanted_method is None:
            return None  # a plain OPTIONS request: the app answers it
        headers = [h.strip().lower() for h in (wanted_headers or "").split(",") if h.strip()]
        methods = methods_of(self.routes, scope)
        if (
            not self.allowed(origin)
            or wanted_method not in methods
            or not all(h in ALLOWED_REQUEST_HEADERS for h in headers)
        ):
            return Preflight([], _refusal(scope, wanted_method))
        answer = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-methods", ", ".join(methods).encode("ascii")),
            (b"access-control-max-age", str(MAX_AGE).encode("ascii")),
        ]
        if headers:
            answer.append((b"access-control-allow-headers", ", ".join(headers).encode("ascii")))
        return Preflight(answer)


def origin_of(scope: Scope) -> bytes | None:
    """The request's ``Origin`` header, if it has one."""
    for name, value in scope["headers"]:
        if name == b"origin":
            return bytes(value)
    return None


def _refusal(scope: Scope, method: str) -> ApiError | S3Error:
    path: str = scope["path"]
    if path.startswith("/storage/"):
        _, _, rest = path[len("/storage/") :].partition("/")
        return S3Error(
            "AccessForbidden",
            _S3_FORBIDDEN,
            403,
            Method=method,
            ResourceType="OBJECT" if rest else "BUCKET",
        )
    return ApiError(ErrorCode.FORBIDDEN, "This cross-origin request is not allowed.")


def with_cors(
    headers: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """``headers`` plus ``extra``; ``Origin`` joins a ``Vary`` the response already has."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"origin" not in value.lower() and value.strip() != b"*":
                headers[index] = (name, value + b", Origin")
            return headers + [h for h in extra if h[0] != b"vary"]
    return headers + extra
