"""``/docs``: Swagger UI served from this server's own assets, so it works with no internet.

The assets (Swagger UI 5, which renders OpenAPI 3.1) come from the ``fastapi-offline``
package, which vendors them; only its files are used, not its app factory.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
# No online validator badge: it would load an image from the validator's host.
_PARAMETERS = {"validatorUrl": None}


def install(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` and its assets under ``/docs/assets``."""
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS_URL, StaticFiles(directory=str(assets)), name="docs-assets")
    title = f"{app.title} - API documentation"
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=title,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=_PARAMETERS,
        )
