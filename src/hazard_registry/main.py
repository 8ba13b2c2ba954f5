"""create_app(): routers, error handlers, and the database the app talks to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from hazard_registry import __version__, cache
from hazard_registry.auth.router import router as auth_router
from hazard_registry.complaints import router as complaints
from hazard_registry.config import Settings, get_settings
from hazard_registry.db import make_engine, make_sessionmaker, reader
from hazard_registry.errors import install_handlers, problem
from hazard_registry.hazards.router import router as hazards_router
from hazard_registry.ledgers.router import router as ledgers_router
from hazard_registry.notices.router import router as notices_router
from hazard_registry.reference.router import router as reference_router
from hazard_registry.statistics.router import filings_router
from hazard_registry.statistics.router import router as statistics_router
from hazard_registry.supervision import listeners
from hazard_registry.supervision.router import public as public_router
from hazard_registry.supervision.router import router as supervision_router
from hazard_registry.worker import Worker


class BodyLimit:
    """Refuses a request whose declared body is larger than the service ever accepts, before reading it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    resp = problem(
                        413, "payload_too_large", "Payload too large", f"requests are limited to {self.max_bytes} bytes"
                    )
                    await resp(scope, receive, send)
                    return
        await self.app(scope, receive, send)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On the embedded default the escalation sweep runs in this process (see Settings.serve_sweep)."""
    worker = None
    if app.state.settings.sweeps_in_serve:
        worker = Worker(app.state.sessionmaker, app.state.settings, app.state.settings.sweep_interval_seconds)
        worker.start_thread()
    yield
    if worker:
        worker.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    listeners.install()
    app = FastAPI(
        lifespan=_lifespan,
        title="hazard-registry",
        version=__version__,
        summary="Register of major accident hazards (重大事故隐患) and their closure (销号)",
        description="Every major hazard, from every channel, entered once and driven through "
        "reported → assigned → rectifying → verification_requested → verified → closed, each step taken "
        "only by the role allowed to take it and recorded in a tamper-evident history. "
        "Errors are application/problem+json with a stable `code`.",
    )
    app.state.settings = settings
    cache.configure(settings.cache_seconds)
    app.state.engine = make_engine(settings.effective_database_url, settings.database_pool_size)
    app.state.read_engine = reader(app.state.engine)  # made once: GET requests and exports bind to it
    app.state.sessionmaker = make_sessionmaker(app.state.engine, settings)
    install_handlers(app)

    @app.exception_handler(OperationalError)
    async def _busy(_req: Request, exc: OperationalError) -> JSONResponse:
        if "locked" in str(exc.orig).lower():  # SQLite's single writer; PostgreSQL waits on row locks instead
            resp = problem(503, "database_busy", "Database busy", "another write is in progress; retry shortly")
            resp.headers["Retry-After"] = "1"
            return resp
        raise exc

    app.add_middleware(BodyLimit, max_bytes=settings.attachment_max_bytes + 1024 * 1024)
    app.include_router(auth_router)
    app.include_router(reference_router)
    app.include_router(hazards_router)
    app.include_router(supervision_router)
    app.include_router(public_router)
    complaints.install(app)
    app.include_router(complaints.router)
    app.include_router(statistics_router)
    app.include_router(filings_router)
    app.include_router(ledgers_router)
    app.include_router(notices_router)

    @app.get("/healthz", tags=["meta"], operation_id="health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
