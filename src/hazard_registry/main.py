"""create_app(): routers, error handlers, and the database the app talks to."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.routing import Match, get_route_path
from starlette.types import Scope

from hazard_registry import __version__, cache, docs, logs, openapi, web
from hazard_registry.auth.router import router as auth_router
from hazard_registry.complaints import router as complaints
from hazard_registry.config import Settings, get_settings
from hazard_registry.db import (
    autocommit,
    autocommit_reader,
    dispose_loop_engine,
    make_engine,
    make_loop_engine,
    make_sessionmaker,
    reader,
)
from hazard_registry.documents.router import router as documents_router
from hazard_registry.edge import Inbound, Liveness
from hazard_registry.errors import DatabaseUnavailable, install_handlers
from hazard_registry.hazards.router import router as hazards_router
from hazard_registry.imports.router import router as imports_router
from hazard_registry.ledgers.router import router as ledgers_router
from hazard_registry.notices.router import router as notices_router
from hazard_registry.open311 import router as open311
from hazard_registry.ratelimit import Limiter, make_storage, parse_networks
from hazard_registry.reference.router import router as reference_router
from hazard_registry.statistics.router import filings_router
from hazard_registry.statistics.router import router as statistics_router
from hazard_registry.supervision import listeners
from hazard_registry.supervision.router import public as public_router
from hazard_registry.supervision.router import router as supervision_router
from hazard_registry.upward import router as upward
from hazard_registry.web import security as page_headers
from hazard_registry.worker import Worker

HEALTH = {"status": "ok", "version": __version__}
# FastAPI's OpenTelemetry instrumentation, off unless HAZARD_OPENTELEMETRY (config.Settings.opentelemetry).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

# The cyclic collector's thresholds once the app is up (see settle_gc). CPython's 700 for the youngest
# generation dates from 2000, when few types were tracked: a read allocates a few hundred tracked objects, so
# eight requests in flight passed 700 and started a collection that freed nothing (their objects are freed by
# reference counting as each request ends). At 10,000 reads start none; the ~30 objects a list page leaves in
# cycles are collected once per ~300 pages, in pauses of a few milliseconds (50,000 saved no more CPU and
# paused ~30 ms).
GC_THRESHOLDS = (10_000, 10, 10)
_gc_settled = False


def settle_gc() -> None:
    """Once per process, when the app is built and started: collect what start-up left, move every object that
    is still alive (modules, mappers, routes, schemas, compiled statements: ~290,000 objects) to the permanent
    generation, which no collection walks again (``gc.freeze``), and raise the thresholds (``GC_THRESHOLDS``).

    Each collection of the oldest generation walked all of them, ~150 ms of CPU that fell on whichever requests
    were in flight; frozen, it walks what requests left behind (a few ms). What is frozen is never freed if it
    later becomes cyclic garbage: only what lives as long as the process is alive at this point. Run by the
    lifespan (``serve``'s workers, each a process of its own, the tests' app and the benchmarks go through it);
    a second app in the same process (tests) changes nothing."""
    global _gc_settled
    if _gc_settled:
        return
    _gc_settled = True
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def settle_threads(threads: int) -> None:
    """In the running event loop, at start-up: how many endpoints run at once (``Settings.threads``), as the
    size of anyio's default limiter, the threadpool FastAPI runs sync endpoints and dependencies in (one per
    event loop; 40 unless set)."""
    to_thread.current_default_thread_limiter().total_tokens = threads


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On the embedded default the escalation sweep runs in this process (see Settings.serve_sweep). Then the
    collector is settled (``settle_gc``): everything built so far lives as long as the process."""
    worker = None
    if app.state.settings.sweeps_in_serve:
        worker = Worker(app.state.sessionmaker, app.state.settings, app.state.settings.sweep_interval_seconds)
        worker.start_thread()
    settle_gc()
    settle_threads(app.state.settings.threads)
    settings, loop = app.state.settings, asyncio.get_running_loop()
    engine = None
    if settings.database_loop:
        engine = make_loop_engine(
            settings.effective_database_url,
            settings.database_pool_size,
            settings.database_max_overflow,
            settings.database_pool_timeout,
        )
    if engine is not None:
        app.state.loop_engines[loop] = engine
    try:
        yield
    finally:
        app.state.loop_engines.pop(loop, None)
        await dispose_loop_engine(engine)
        if worker:
            worker.stop()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    listeners.install()
    logs.install()
    app = FastAPI(
        lifespan=_lifespan,
        docs_url=None,  # served by docs.install from vendored assets, not from a CDN
        redoc_url=None,
        title="hazard-registry",
        version=__version__,
        summary="Register of major accident hazards (重大事故隐患) and their closure (销号)",
        description="Every major hazard, from every channel, entered once and driven through "
        "reported → assigned → rectifying → verification_requested → verified → closed, each step taken "
        "only by the role allowed to take it and recorded in a tamper-evident history. "
        "Errors are application/problem+json with a stable `code`.",
        telemetry=None if settings.opentelemetry else NO_TELEMETRY,
    )
    app.state.settings = settings
    cache.configure(settings.cache_seconds)
    app.state.engine = make_engine(
        settings.effective_database_url,
        settings.database_pool_size,
        settings.database_max_overflow,
        settings.database_pool_timeout,
    )
    app.state.read_engine = reader(app.state.engine)  # made once: GET requests and exports bind to it
    app.state.autocommit_engine = autocommit_reader(app.state.engine)  # the API's routes marked reads_only
    app.state.sessionmaker = make_sessionmaker(app.state.engine, settings)
    # The lifespan's, one per event loop serving the app (db.make_loop_engine, db.loop_engine).
    app.state.loop_engines = weakref.WeakKeyDictionary()
    app.state.limiter = Limiter(make_storage(settings.rate_limit_storage, autocommit(app.state.engine)))
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    install_handlers(app)
    docs.install(app)
    openapi.install(app)

    app.add_middleware(
        Inbound,
        max_bytes=settings.attachment_max_bytes + 1024 * 1024,
        skip_nul_prefixes=(open311.router.prefix,),  # Open311 answers in its own format
    )
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
    app.include_router(imports_router)
    app.include_router(notices_router)
    app.include_router(documents_router)
    app.include_router(open311.partners)
    app.include_router(open311.router)
    upward.install(app)

    @app.get("/healthz", tags=["meta"], operation_id="health", summary="Liveness: the process answers")
    async def health() -> dict[str, str]:
        return dict(HEALTH)  # what Liveness (below) answers first; this is the document's, and a fallback

    @app.get(
        "/readyz",
        tags=["meta"],
        operation_id="readiness",
        summary="Readiness: the database answers (take the instance out of rotation on 503)",
    )
    def ready(request: Request) -> dict[str, str]:
        try:
            with request.app.state.read_engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except DBAPIError as exc:
            raise DatabaseUnavailable("the database cannot be reached") from exc
        return {"status": "ready", "version": __version__}

    web.install(app)  # the console: pages, its session and static files (after the API's routes)
    _skip_by_prefix(app)
    # Added last, so outermost: a probe costs no middleware, route matching or serialisation.
    app.add_middleware(Liveness, path="/healthz", body=HEALTH, extra_headers=page_headers.ALWAYS)
    return app


def _skip_by_prefix(app: FastAPI) -> None:
    """Route matching that passes over a whole included router at the cost of one ``str.startswith``.

    FastAPI matches a request against every route of every included router before the right one (and then
    once more inside it): a read of a hazard tried ~40 routes (the docs, the auth and reference routers)
    each time, ~20 % of its event-loop time. A router whose routes are all API routes cannot match a path
    that starts with none of their literal beginnings (the path up to its first parameter), so its ``matches``
    answers NONE for such a path without trying them; any other path is matched as before, in the same order,
    so which route answers, the 404s and 405s, and the OpenAPI document are unchanged. The router that is
    chosen finds its route once (``_matched_once``). Done once the app's routes are all in place (a route added
    to a router later would need this to run again)."""
    for route in app.router.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            continue
        found = list(contexts())
        if not found or not all(
            isinstance(c.original_route, APIRoute) and isinstance(getattr(c, "path_format", None), str) for c in found
        ):
            continue  # mounts, static files, frontends: matched as FastAPI does
        beginnings = tuple(sorted({c.path_format.split("{", 1)[0] for c in found}))
        route.matches = _prefiltered(route.matches, beginnings)
        if callable(getattr(route, "_match", None)):
            route._match = _matched_once(route, route._match)


def _prefiltered(matches: Any, beginnings: tuple[str, ...]) -> Any:
    def prefiltered(scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and not get_route_path(scope).startswith(beginnings):
            return Match.NONE, {}
        return matches(scope)

    prefiltered.beginnings = beginnings  # type: ignore[attr-defined]
    return prefiltered


MATCHED = "hazard_registry.matched"  # the scope's key for an included router's last match (_matched_once)


def _matched_once(router: Any, match_routes: Any) -> Any:
    """An included router's routes matched once per request, not twice.

    FastAPI matches a path against the included router's routes to answer ``matches`` (is this router the one?),
    keeps only the verdict, and matches them all again in ``handle`` to find the route: ~4 % of a read's
    event-loop time for the second pass. The first result is kept in the request's scope, beside the router,
    path and method it was found for, and the second call takes it (once); any other call (another router,
    the redirect FastAPI tries with or without a trailing slash, a changed path) matches as before."""

    def matched(scope: Scope) -> Any:
        kept = scope.pop(MATCHED, None)
        path, method = scope.get("path"), scope.get("method")
        if kept is not None and kept[0] is router and kept[1] == path and kept[2] == method:
            return kept[3]
        result = match_routes(scope)
        scope[MATCHED] = (router, path, method, result)
        return result

    matched.inner = match_routes  # type: ignore[attr-defined]
    return matched


def document() -> dict[str, Any]:
    """The OpenAPI document as committed in openapi/openapi.json (a test fails when they drift). An in-memory
    database: generating the document must not touch anyone's data."""
    return create_app(Settings(database_url="sqlite://", jwt_secret="openapi")).openapi()
