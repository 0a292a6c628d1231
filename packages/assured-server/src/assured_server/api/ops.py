"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from assured_server.api import schemas
from assured_server.api.deps import services
from assured_server.api.schemas import answers
from assured_server.metrics import render

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz", summary="The process is alive", **answers(schemas.Health))
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database, the storage and the scanner (when configured) answer",
    response_model=None,
    responses={
        200: {"model": schemas.Readiness, "description": "Ready"},
        503: {"model": schemas.Readiness, "description": "Not ready (with Retry-After)"},
    },
)
async def readyz(request: Request) -> JSONResponse:
    """200 when both dependencies answer, else 503 naming the failing one."""
    svc = services(request)
    checks: dict[str, str] = {}
    for name, probe in (("database", svc.db.ping), ("storage", svc.storage.ping)):
        try:
            await probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; the reason goes to the log
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks[name] = "unavailable"
    clamd = svc.safety.clamd
    if clamd is not None:
        # Fail closed: without the scanner no upload can become available, so the server is
        # not ready; it is again as soon as clamd answers (asked anew on every probe).
        checks["scanner"] = "ok" if await clamd.ping() else "unavailable"
        if checks["scanner"] != "ok":
            log.warning(
                "readiness check scanner failed: clamd at %s does not answer", clamd.address
            )
    ready = all(value == "ok" for value in checks.values()) and not svc.shutting_down
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    headers = {} if ready else {"Retry-After": "5"}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    """Text exposition format 0.0.4."""
    return Response(render(), media_type=PROMETHEUS_TEXT)
