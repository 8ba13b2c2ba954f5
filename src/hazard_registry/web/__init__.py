"""The web console: server-rendered pages (Jinja2, htmx) over the same services as the API.

``install(app)`` adds the session and header middleware, serves ``web/static`` at ``/static``, includes every
router in ``PAGE_ROUTERS`` and makes errors on page paths render as pages (the API keeps problem+json).
A new page module adds its router to ``PAGE_ROUTERS`` below; see ``web/pages.py`` for the seams.
"""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from hazard_registry.auth.router import OIDC_SESSION_PATHS
from hazard_registry.errors import DomainError, VersionConflict
from hazard_registry.web import (
    admin,
    auth,
    campaign,
    complaints,
    documents,
    filings,
    hazards,
    home,
    imports,
    measures,
    partners,
    pickers,
    public,
    sso,
    waiting,
)
from hazard_registry.web.pages import CsrfFailed, SignInRequired, render, sign_in_redirect
from hazard_registry.web.security import PageHeaders
from hazard_registry.web.session import ConsoleSession
from hazard_registry.web.templating import STATIC_DIR

# Paths that are not the console's: the API and its documents keep problem+json and no session cookie.
API_PREFIXES = ("/api/", "/open311/", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz")

# Every page router, in order. Other page modules append theirs here (one line each).
# Imported for what it registers: the other domains' panels on the 工作台 (web.home.HOME_PANELS).
HOME_PANEL_MODULES = (waiting,)

PAGE_ROUTERS = [
    auth.router,
    home.router,
    hazards.router,
    pickers.router,
    campaign.router,
    measures.router,
    complaints.router,
    filings.router,
    admin.router,
    partners.router,
    sso.router,
    imports.router,
    public.router,
    documents.router,
    public.api,  # the public desk's regions lookup (an API route: problem+json, in the OpenAPI document)
]


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES) and not request.url.path.startswith("/static/")


def _error_page(request: Request, status: int, code: str, detail: str | None = None) -> Response:
    return render(request, "errors/error.html", {"status": status, "code": code, "detail": detail}, status_code=status)


def _install_error_pages(app: FastAPI) -> None:
    api = dict(app.exception_handlers)

    async def domain(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api[DomainError](request, exc)
        assert isinstance(exc, DomainError)
        return _error_page(request, exc.status, exc.code)

    async def http(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api[StarletteHTTPException](request, exc)
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed", 403: "forbidden"}.get(exc.status_code, "http_error")
        return _error_page(request, exc.status_code, code)

    async def validation(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api[RequestValidationError](request, exc)
        return _error_page(request, 422, "invalid_input")

    async def stale(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api[StaleDataError](request, exc)
        return _error_page(request, 409, VersionConflict.code)

    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return sign_in_redirect(request, exc)

    async def csrf(request: Request, _exc: Exception) -> Response:
        return _error_page(request, 403, "csrf_failed")

    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StaleDataError, stale)
    app.add_exception_handler(SignInRequired, sign_in)
    app.add_exception_handler(CsrfFailed, csrf)


def install(app: FastAPI) -> None:
    settings = app.state.settings
    secret = hashlib.sha256(("console-session:" + settings.effective_jwt_secret).encode()).hexdigest()
    skip = (*API_PREFIXES, "/static/")
    app.add_middleware(PageHeaders, skip_prefixes=("/api/",))
    app.add_middleware(
        ConsoleSession,
        secret=secret,
        max_age_seconds=settings.console_session_minutes * 60,
        skip_prefixes=skip,
        keep_paths=OIDC_SESSION_PATHS,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
    _install_error_pages(app)
