"""Exception handlers: every error leaves as the contract's one JSON shape (or S3 XML)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from assured_server.api.middleware import request_id_of
from assured_server.api.s3errors import S3Error, s3_error_response
from assured_server.errors import ApiError, ErrorCode


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


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if exc.status_code == 404:
        error = ApiError(ErrorCode.NOT_FOUND)
    elif exc.status_code == 405:
        error = ApiError(
            ErrorCode.METHOD_NOT_ALLOWED,
            f"Method {request.method} is not allowed here.",
            headers=dict(exc.headers or {}),
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


async def _client_gone(_request: Request, _exc: Exception) -> Response:
    # Nobody is left to read an answer; this only keeps a hang-up out of the error log.
    return Response(status_code=400)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(S3Error, _s3_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
