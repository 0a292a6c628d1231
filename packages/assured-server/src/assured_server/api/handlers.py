"""Exception handlers: every error leaves as the contract's one JSON shape (or S3 XML)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from assured_server.api.middleware import request_id_of
from assured_server.api.route_methods import methods_of
from assured_server.db.errors import UNAVAILABLE, QueryFailed, connection_lost, driver_error_name
from assured_server.errors import ApiError, ErrorCode
from assured_server.s3_protocol.errors import S3Error, s3_error_response
from assured_server.storage.base import StorageUnavailable

log = logging.getLogger(__name__)


def error_response(request: Request, error: ApiError) -> JSONResponse:
    """Render an :class:`ApiError` for this request."""
    return JSONResponse(
        error.body(request_id_of(request.scope)),
        status_code=error.status,
        headers=error.headers,
        media_type="application/json; charset=utf-8",
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # noqa: S101 - registered for ApiError only
    return error_response(request, exc)


async def _s3_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, S3Error)  # noqa: S101 - registered for S3Error only
    return s3_error_response(exc, request_id_of(request.scope), head=request.method == "HEAD")


def _allowed_methods(request: Request, exc: HTTPException) -> dict[str, str]:
    """The ``Allow`` header of a 405: every method some route serves on this path."""
    methods = methods_of(request.app.router.routes, request.scope)
    headers = dict(exc.headers or {})
    if methods:
        headers["Allow"] = ", ".join(methods)
    return headers


def _storage_http_error(request: Request, exc: HTTPException) -> Response:
    # S3 clients parse XML errors, whatever layer answers under /storage/.
    if exc.status_code == 405:
        error = S3Error(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            405,
            Method=request.method,
        )
    elif exc.status_code == 404:
        error = S3Error("NoSuchKey", "The specified key does not exist.", 404)
    else:
        error = S3Error("InvalidRequest", str(exc.detail), 400)
    response = s3_error_response(error, request_id_of(request.scope), head=request.method == "HEAD")
    if exc.status_code == 405:
        response.headers.update(_allowed_methods(request, exc))
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if request.scope["path"].startswith("/storage/"):
        return _storage_http_error(request, exc)
    if exc.status_code == 404:
        error = ApiError(ErrorCode.NOT_FOUND)
    elif exc.status_code == 405:
        error = ApiError(
            ErrorCode.METHOD_NOT_ALLOWED,
            f"Method {request.method} is not allowed here.",
            headers=_allowed_methods(request, exc),
        )
    else:
        error = ApiError(ErrorCode.INVALID_REQUEST, str(exc.detail))
    return error_response(request, error)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body")]
    field = loc[0] if loc else None
    return error_response(
        request,
        ApiError(
            ErrorCode.INVALID_REQUEST, f"Invalid parameter: {field or 'request'}.", field=field
        ),
    )


def _unavailable(request: Request, code: ErrorCode) -> Response:
    """503 with ``Retry-After``: S3 XML on the storage endpoints, the JSON shape elsewhere."""
    if request.url.path.startswith("/storage/"):
        error = S3Error("ServiceUnavailable", "Please reduce your request rate.", 503)
        response = s3_error_response(error, request_id_of(request.scope))
        response.headers["Retry-After"] = "5"
        return response
    return error_response(request, ApiError(code, headers={"Retry-After": "5"}))


async def _storage_down(request: Request, exc: Exception) -> Response:
    log.warning("storage unavailable: %s", type(exc).__name__)
    return _unavailable(request, ErrorCode.STORAGE_UNAVAILABLE)


async def _database_down(request: Request, exc: Exception) -> Response:
    # Only the exception type: driver messages can carry connection strings.
    log.warning("database unavailable: %s", type(exc).__name__)
    return _unavailable(request, ErrorCode.SERVICE_UNAVAILABLE)


async def _database_error(request: Request, exc: Exception) -> Response:
    if connection_lost(exc):  # the connection died under the query
        return await _database_down(request, exc)
    log.error(
        "database error (%s)",
        driver_error_name(exc),
        extra={"request_id": request_id_of(request.scope)},
    )
    return error_response(request, ApiError(ErrorCode.INTERNAL_ERROR))


async def _client_gone(_request: Request, _exc: Exception) -> Response:
    # Nobody is left to read an answer; this only keeps a hang-up out of the error log.
    return Response(status_code=400)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(StorageUnavailable, _storage_down)
    # Connection failures and lock timeouts; integrity errors are bugs and stay 500s.
    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_down)
    app.add_exception_handler(QueryFailed, _database_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(S3Error, _s3_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
