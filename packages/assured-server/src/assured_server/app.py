"""``create_app(settings)``: the ASGI application. Nothing happens at import time."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from assured_server.api import (
    auth_routes,
    docs,
    files_v1,
    files_v3,
    handlers,
    link_page,
    ops,
    presign_v1,
    providers_v1,
    tus,
    upload_limits,
    upload_links,
)
from assured_server.api.cors import CorsPolicy
from assured_server.api.login_gate import LoginGate
from assured_server.api.middleware import EdgeMiddleware
from assured_server.config import Settings, load_settings
from assured_server.db.migrate import migrate
from assured_server.files.sweeper import Sweeper
from assured_server.s3_protocol import routes as storage_routes
from assured_server.services import Services

log = logging.getLogger(__name__)
# How often a worker process checks that the process supervising it is still there.
PARENT_CHECK_SECONDS = 1.0


def create_app(
    settings: Settings,
    *,
    run_migrations: bool = True,
    sweep: bool = True,
    parent_pid: int | None = None,
) -> FastAPI:
    """Build the app; the lifespan opens the database and storage and runs the sweeper.

    ``parent_pid``: a worker of ``serve --workers N`` shuts down when that process is gone.
    """
    services = Services.build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_migrations:
            await migrate(services.db)
        await services.start_encryption()
        await services.storage.start()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(services.revocations.run)
            if sweep:
                sweeper = Sweeper(
                    services.db,
                    services.storage,
                    settings.sweep_interval,
                    max_upload_bytes=settings.max_upload_bytes,
                    upload_window=settings.upload_url_ttl,
                    safety=services.safety,
                )
                tasks.start_soon(sweeper.run)
            if parent_pid is not None:
                tasks.start_soon(_exit_with_parent, parent_pid)
            _settle_heap()
            try:
                yield
            finally:
                services.shutting_down = True
                tasks.cancel_scope.cancel()
        await services.close()

    app = FastAPI(
        title="Assured",
        version="0.1.0",
        summary="Document uploads: the Assured API (v1), the Files API (v3), embedded S3 storage.",
        lifespan=lifespan,
        docs_url=None,  # served by api.docs from local assets
        redoc_url=None,
    )
    app.state.services = services
    handlers.install(app)
    docs.install(app)
    for module in (
        ops,
        auth_routes,
        files_v1,
        files_v3,
        tus,
        upload_limits,
        presign_v1,
        providers_v1,
        upload_links,
        link_page,
        storage_routes,
    ):
        app.include_router(module.router)
    origins = settings.cors_origin_list
    # Inside the edge (request id, access log, metrics), before routing.
    app.add_middleware(LoginGate, throttle=services.login_throttle)
    app.add_middleware(
        EdgeMiddleware, cors=CorsPolicy(origins, app.router.routes) if origins else None
    )
    return app


def create_worker_app() -> FastAPI:
    """The app of one worker of ``serve --workers N`` (uvicorn imports it by name).

    The supervising ``serve`` process has migrated the schema, made the data dir's secrets and
    put its command-line options in the environment; the worker reads the same settings.
    """
    from assured_server import logs

    settings = load_settings()
    logs.configure(settings.log_level)
    # The pid the supervisor had when it spawned us: if it died before this line, getppid()
    # would already name our new parent.
    supervisor = multiprocessing.parent_process()
    parent_pid = supervisor.pid if supervisor is not None else None
    return create_app(
        settings, run_migrations=False, parent_pid=parent_pid if parent_pid else os.getppid()
    )


def _settle_heap() -> None:
    """Move everything built at start out of the garbage collector's sight.

    The app, its routes, SQLAlchemy's mappers and compiled caches are tens of thousands of
    long-lived objects; every full collection under load walked them all again (tail latency).
    """
    gc.collect()
    gc.freeze()


async def _exit_with_parent(parent_pid: int) -> None:
    # A worker whose supervisor was killed (SIGKILL leaves no time to stop the workers) would
    # otherwise keep serving the shared socket on its own, forever.
    while True:
        await anyio.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            log.warning("the supervising serve process is gone; this worker stops")
            os.kill(os.getpid(), signal.SIGTERM)
            return
