"""What every request pays besides its own work: the garbage collector, the edge's layers (issue #12)."""

from __future__ import annotations

import asyncio
import gc
import threading

from anyio import to_thread

from hazard_registry import main
from hazard_registry.edge import Inbound
from tests.flow import Flow


def test_a_started_app_has_frozen_what_it_built_and_collects_young_objects_less_often(client):
    """After the lifespan's start-up (the client fixture runs it) the modules, mappers and routes are in the
    permanent generation, so a full collection no longer walks them, and the youngest generation is collected
    per 10,000 new objects, not 700."""
    assert gc.get_freeze_count() > 50_000
    assert gc.get_threshold() == main.GC_THRESHOLDS
    assert gc.isenabled()
    assert client.get("/healthz").status_code == 200


def test_settling_the_collector_happens_once_per_process(client, monkeypatch):
    """A second app in the same process (the tests make several) does not collect and freeze again."""
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda *a: collected.append(1) or 0)
    main.settle_gc()
    assert collected == []


def test_a_started_app_runs_as_many_endpoints_at_once_as_its_setting_says(client, settings):
    """HAZARD_THREADS bounds the threadpool sync endpoints run in (anyio's default limiter of the app's loop,
    40 unless set)."""
    assert settings.threads == 8
    tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == settings.threads
    assert client.get("/healthz").status_code == 200


def _run(coroutine) -> None:
    """In a thread of its own: an earlier test (the console's browser) may leave a loop running in this one."""
    done = threading.Thread(target=asyncio.run, args=(coroutine,))
    done.start()
    done.join(30)


def _scope(method: str, headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict:
    return {"type": "http", "method": method, "path": "/api/v1/x", "query_string": query, "headers": headers}


def test_a_request_without_a_body_crosses_the_edge_with_its_own_receive_and_send():
    """Size and NUL checks are one layer (edge.Inbound); a GET is not wrapped at all, a body is counted."""
    seen: list[tuple] = []

    async def inner(scope, receive, send):
        seen.append((receive, send))

    async def receive():
        return {"type": "http.request", "body": b"x" * 10, "more_body": False}

    async def send(message):
        pass

    layer = Inbound(inner, max_bytes=5)
    _run(layer(_scope("GET", [(b"host", b"x")], b"a=1"), receive, send))
    assert seen == [(receive, send)]
    seen.clear()
    _run(layer(_scope("POST", [(b"transfer-encoding", b"chunked")]), receive, send))
    assert len(seen) == 1 and seen[0] != (receive, send), "a chunked body is counted as it is received"


def test_the_app_has_one_edge_layer_for_size_and_nul(app):
    layers = [m.cls for m in app.user_middleware]
    assert layers.count(Inbound) == 1


def test_fastapis_telemetry_is_off_unless_asked_for(app, settings):
    """Off, FastAPI does not look for an OpenTelemetry provider at every request; HAZARD_OPENTELEMETRY turns
    its spans, metrics and logs back on for a process where one is configured."""
    assert not settings.opentelemetry and not app._native_telemetry.enabled()
    assert app._telemetry["tracing"] is app._telemetry["metrics"] is app._telemetry["logs"] is False
    on = main.create_app(settings.model_copy(update={"opentelemetry": True}))
    try:
        assert on._telemetry["tracing"] is on._telemetry["metrics"] is on._telemetry["logs"] is True
    finally:
        on.state.engine.dispose()


def test_the_chosen_router_matches_its_routes_once_per_request(app, client, world, monkeypatch):
    """FastAPI matched an included router's routes twice (to choose it, then to find the route); the second
    pass now takes the first's result, and what answers is unchanged."""
    hazards = next(r for r in app.router.routes if "/api/v1/hazards" in getattr(r.matches, "beginnings", ()))
    passes: list[str] = []
    real = hazards._match.inner  # FastAPI's own, wrapped by main._matched_once
    monkeypatch.setattr(hazards, "_match", main._matched_once(hazards, lambda s: passes.append(s["path"]) or real(s)))
    token = Flow(client, world).h("admin")
    assert client.get("/api/v1/hazards?limit=1", headers=token).status_code == 200
    assert passes == ["/api/v1/hazards"]
    passes.clear()
    assert client.get("/api/v1/hazards/999999", headers=token).status_code == 404
    assert client.put("/api/v1/hazards", headers=token).status_code == 405
    assert client.get("/api/v1/hazards/", headers=token).status_code in (200, 307, 404)
