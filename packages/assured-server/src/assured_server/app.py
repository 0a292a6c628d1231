"""``create_app(settings)``: the ASGI application. Nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from assured_server.api import (
    auth_routes,
    files_v1,
    files_v3,
    handlers,
    ops,
    presign_v1,
    providers_v1,
    storage_routes,
)
from assured_server.api.middleware import EdgeMiddleware
from assured_server.config import Settings
from assured_server.db.migrate import migrate
from assured_server.files.sweeper import Sweeper
from assured_server.services import Services

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, run_migrations: bool = True, sweep: bool = True) -> FastAPI:
    """Build the app; the lifespan opens the database and storage and runs the sweeper."""
    services = Services.build(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_migrations:
            await migrate(services.db)
        await services.storage.start()
        async with anyio.create_task_group() as tasks:
            if sweep:
                sweeper = Sweeper(
                    services.db,
                    services.storage,
                    settings.sweep_interval,
                    max_upload_bytes=settings.max_upload_bytes,
                )
                tasks.start_soon(sweeper.run)
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
        redoc_url=None,
    )
    app.state.services = services
    handlers.install(app)
    for module in (ops, auth_routes, files_v1, files_v3, presign_v1, providers_v1, storage_routes):
        app.include_router(module.router)
    app.add_middleware(EdgeMiddleware)
    return app
