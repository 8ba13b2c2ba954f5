"""/docs (Swagger UI) and /redoc from assets vendored in the package (static/docs, see VENDORED.md): the
service runs on intranets with no internet access, where pages that load their scripts from a CDN are blank."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "docs"
PREFIX = "/static/docs"


def install(app: FastAPI) -> None:
    """Serve the two documentation pages; create the app with ``docs_url=None, redoc_url=None``."""
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — 接口文档 API docs",
            swagger_js_url=f"{PREFIX}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/swagger-ui/favicon-32x32.png",
            oauth2_redirect_url=oauth2_redirect,
            swagger_ui_parameters={"validatorUrl": None},  # else a badge is fetched from validator.swagger.io
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — 接口文档 API reference",
            redoc_js_url=f"{PREFIX}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{PREFIX}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )
