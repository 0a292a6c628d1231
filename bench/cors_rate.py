"""Row 11: v3 create-upload with ``ASSURED_CORS_ORIGINS`` set, against the same without it.

Two servers of the same deployment run side by side; wrk alternates between them run by run,
so that both see the same machine. The CORS server is sent what a browser sends (an ``Origin``
that is allowed), so its answers carry the CORS headers the comparison is about.
"""

from __future__ import annotations

from bench import wrk
from bench.api_rate import CONCURRENCY, CREATE_BODY
from bench.common import BenchServer

ORIGIN = "https://app.example.com"
"""The allowed origin the CORS server is started with and the requests carry."""
CORS_ENV = {"ASSURED_CORS_ORIGINS": ORIGIN}


def _create(server: BenchServer, origin: str | None) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    if origin is not None:
        headers["Origin"] = origin
    return server.base_url + server.files_path(), wrk.request_script("POST", headers, CREATE_BODY)


def check_cors(server: BenchServer) -> None:
    """Fail unless the CORS server really answers the origin (else the row measures nothing)."""
    with server.client() as client:
        response = client.post(
            server.files_path(),
            content=CREATE_BODY,
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
        )
    response.raise_for_status()
    if response.headers.get("access-control-allow-origin") != ORIGIN:
        raise RuntimeError("the CORS server did not answer the allowed origin")


def run(
    binary: str, plain: BenchServer, cors: BenchServer, *, seconds: float, runs: int
) -> dict[str, wrk.WrkResult]:
    """Medians over ``runs`` of create-upload on each server (after a one-second warm-up)."""
    check_cors(cors)
    targets = {"plain": _create(plain, None), "cors": _create(cors, ORIGIN)}
    return wrk.alternate(binary, targets, connections=CONCURRENCY, seconds=seconds, runs=runs)
