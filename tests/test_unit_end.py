"""How a request's transaction ends: one that wrote nothing commits, so PostgreSQL keeps the connection's
prepared statements (psycopg forgets them all at a ROLLBACK) and a read is not planned afresh every time;
one that wrote and did not commit is rolled back as before (db.end_unit)."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, ExitStack
from typing import Any

import anyio
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from hazard_registry.db import SessionRoute, autocommit, dispose_loop_engine, is_postgres, pools
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.audit import verify_chains
from hazard_registry.hazards.models import Hazard
from tests.factories import hazard_body
from tests.flow import Flow
from tests.statements import engines, loop_engine_of, transaction_ends


def test_reads_end_without_a_rollback_and_keep_their_prepared_statements(client, world, app):
    """The hazard's read and its history run in autocommit on PostgreSQL (``reads_only``); its supervision
    measures are a GET in a transaction, which ends with COMMIT. None ends with a ROLLBACK, so their statements
    stay prepared."""
    flow = Flow(client, world)
    hazard = flow.report()
    app.state.engine.dispose()  # both pools: one request at a time from here, a pool's one or two connections serve
    loop = loop_engine_of(client)  # PostgreSQL: the hazard's reads run on it (db.on_loop), the measures do not
    if loop is not None:
        client.portal.call(dispose_loop_engine, loop)
    assert [pool.pool.checkedin() for pool in engines(app)] == [0] * len(engines(app))
    with transaction_ends(app) as seen:
        for _ in range(24):  # psycopg prepares a statement at its 5th run on a connection; the server plans it
            # generically at 5 more; a connection may serve every other request (the pool hands them out in turn)
            assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).status_code == 200
            assert client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=flow.h("officer")).status_code == 200
            assert client.get(f"/api/v1/hazards/{hazard['id']}/measures", headers=flow.h("officer")).status_code == 200
    assert seen["rollback"] == 0 and seen["commit"] >= 12
    if is_postgres(app.state.engine):
        ask = text("SELECT statement, generic_plans FROM pg_prepared_statements")
        with ExitStack() as stack:  # every idle connection of each pool at once, each asked what it has prepared
            idle = [
                stack.enter_context(pool.connect())
                for pool in pools(app.state.engine)  # the reads_only routes' autocommit twin too
                for _ in range(pool.pool.checkedin())
            ]
            prepared = [row for conn in idle for row in conn.execute(ask)]
        if loop is not None:
            prepared += client.portal.call(_prepared_on_loop, loop, ask)
        for table in ("FROM hazards JOIN enterprises", "JOIN hazard_events", "FROM supervision_measures"):
            plans = [generic for statement, generic in prepared if table in statement]
            assert plans and max(plans) > 0, (table, prepared)  # a generic plan: not planned again at each read


async def _prepared_on_loop(loop: Any, ask: Any) -> list[Any]:
    """What each idle connection of the loop engine and its twin has prepared, asked in the loop they belong to."""
    async with AsyncExitStack() as stack:
        idle = [
            await stack.enter_async_context(engine.connect())
            for engine in (loop, AsyncEngine(autocommit(loop.sync_engine)))
            for _ in range(engine.sync_engine.pool.checkedin())
        ]
        return [row for conn in idle for row in await conn.execute(ask)]


def _endpoint(change: Any) -> Any:
    """An endpoint run as SessionRoute runs it: it answers normally after ``change(session)``."""

    def endpoint(session: Any) -> Response:
        change(session)
        return Response(status_code=200)

    routed = SessionRoute("/t", endpoint).endpoint  # a coroutine function: the endpoint in the threadpool

    def call(**values: Any) -> Any:  # in an event loop of its own, in a thread that runs none (a browser test's may)
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(anyio.run, functools.partial(routed, **values)).result()

    return call


def test_a_request_that_wrote_and_did_not_commit_is_rolled_back(client, world, app):
    flow = Flow(client, world)
    hazard = flow.report()

    def by_statement(session: Any) -> None:
        session.execute(update(Hazard).where(Hazard.id == hazard["id"]).values(title="改了没提交"))

    def by_flush(session: Any) -> None:
        session.get(Hazard, hazard["id"]).title = "改了没提交"
        session.flush()

    for change in (by_statement, by_flush):
        session = app.state.sessionmaker(bind=app.state.read_engine)
        with transaction_ends(app) as seen:
            assert _endpoint(change)(session=session).status_code == 200
        assert seen == Counter(begin=1, rollback=1)
        with app.state.sessionmaker() as check:
            assert check.scalar(select(Hazard.title).where(Hazard.id == hazard["id"])) == hazard["title"]


def test_a_request_that_read_after_its_own_commit_ends_with_commit(client, world, app):
    flow = Flow(client, world)
    hazard = flow.report()

    def write_then_read(session: Any) -> None:
        session.execute(update(Hazard).where(Hazard.id == hazard["id"]).values(title="已提交的改动"))
        session.commit()
        session.scalar(select(Hazard.version).where(Hazard.id == hazard["id"]))

    session = app.state.sessionmaker()
    with transaction_ends(app) as seen:
        _endpoint(write_then_read)(session=session)
    assert seen == Counter(begin=2, commit=2)
    with app.state.sessionmaker() as check:
        assert check.scalar(select(Hazard.title).where(Hazard.id == hazard["id"])) == "已提交的改动"


def test_a_report_cancelled_mid_way_still_ends_its_transaction_whole(client, world, app, db, monkeypatch):
    """A request cancelled while its endpoint waits on the database (uvicorn cancels what is still in flight when
    a graceful shutdown times out): in a thread (SQLite) the endpoint runs on to its end; on the event loop
    (PostgreSQL, ``db.on_loop``) the greenlet is shielded so that it does too. So the report commits whole,
    never stops between two of its statements, and its connection goes back to the pool."""
    flow = Flow(client, world)
    headers = flow.h("ent_chem")
    flow.report()  # the caller and the rules cached: the endpoint is what runs when the request is cancelled
    started = threading.Event()
    real = hazards.report_detail

    def slow(session, *args, **kwargs):
        started.set()
        if is_postgres(db):
            session.execute(text("SELECT pg_sleep(0.3)"))  # waits on the loop: the cancel lands meanwhile
        else:
            time.sleep(0.3)  # in a worker thread: the loop is free to cancel
        return real(session, *args, **kwargs)

    monkeypatch.setattr(hazards, "report_detail", slow)
    before = db.scalar(select(func.count()).select_from(Hazard))
    body = json.dumps(hazard_body(world)).encode()
    assert client.portal.call(_cancelled, app, headers, body, started) == "cancelled"
    for _ in range(300):  # the endpoint goes on after the request is gone; wait for it, up to 3 s
        db.rollback()  # a fresh snapshot
        counted = db.scalar(select(func.count()).select_from(Hazard))
        db.rollback()  # and this test's own connection back in the pool
        if counted > before and not any(pool.pool.checkedout() for pool in engines(app)):
            break
        time.sleep(0.01)
    assert counted == before + 1
    assert [pool.pool.checkedout() for pool in engines(app)] == [0] * len(engines(app))
    assert list(verify_chains(db)) == []


async def _cancelled(app: Any, headers: dict[str, str], body: bytes, started: threading.Event) -> str:
    """POST a report straight into the ASGI app and cancel it once its endpoint has begun."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/v1/hazards", "raw_path": b"/api/v1/hazards", "query_string": b"", "root_path": "",
        "headers": raw, "client": ("127.0.0.1", 40000), "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(_message: dict[str, Any]) -> None:
        pass

    task = asyncio.ensure_future(app(scope, receive, send))
    while not started.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled"
    return "answered"
