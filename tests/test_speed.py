"""The API at the speed of its framework: statements per request, the list's index, the county counter, the
per-worker caches and the serve options (issue #12).

Budgets are counted in the steady state the benchmark measures: the caller has made a request before, so its
rights, the region's rules and the year's holiday table are in the worker's cache (cache.py). A cold cache
adds the reads it saves: the caller (1), the rules (1), a holiday year (1 per year a count reaches).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import re
import threading
from collections import Counter
from datetime import date

import anyio.to_thread
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text
from starlette.routing import Match

from hazard_registry import __version__, cache, clock
from hazard_registry.auth.deps import ACTORS, admin_actor, current_actor
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.cli import serve_options
from hazard_registry.config import Settings
from hazard_registry.db import SessionRoute, get_session, is_postgres
from hazard_registry.hazards import schemas as hs
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.audit import verify_chains
from hazard_registry.hazards.models import Hazard
from hazard_registry.hazards.router import hazard_filters
from hazard_registry.main import create_app
from hazard_registry.supervision import engine
from hazard_registry.supervision.models import CalendarDay, CalendarYear, SupervisionTimer
from tests.factories import FUTIAN, NANSHAN, SHENZHEN, hazard_body
from tests.flow import Flow
from tests.statements import count_round_trips, count_statements, engines, loop_engine_of, transaction_ends
from tests.test_supervision_engine import Register, at

READ, LIST, REPORT, TRANSITION = 2, 2, 5, 6
# On PostgreSQL the hazard's UPDATE and its event are one statement, and so are the timers' DELETE and INSERT with
# the question whether any measure is to be settled (the SELECT of them only when some are): three. A transition's
# round trips: its statements and its transaction's BEGIN and COMMIT (one transaction, no ROLLBACK: the answer is
# built before the commit).
TRANSITION_PG = 3


def _steady(flow: Flow, *users: str) -> None:
    """One request per caller first, as on a server that has been up for a minute."""
    for user in users:
        assert flow.client.get("/api/v1/hazards?limit=1", headers=flow.h(user)).status_code == 200


def test_reading_one_hazard_is_at_most_two_statements(client, world, app):
    flow = Flow(client, world)
    hazard = flow.report()
    _steady(flow, "officer")
    with count_statements(app) as sql:
        r = client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer"))
    assert r.status_code == 200 and r.json()["enterprise"]["id"] == world.ids["chem"]
    assert r.headers["ETag"] == '"1"'
    assert len(sql) <= READ, sql.listing()
    cache.clear_all()  # a worker that has never seen the caller: one more, and still within the budget
    with count_statements(app) as sql:
        assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).status_code == 200
    assert len(sql) <= READ, sql.listing()


def test_a_read_is_one_round_trip_on_postgresql(client, world, app, db):
    """The API's reads run in autocommit on PostgreSQL (``db.reads_only``): the SELECT alone, no BEGIN before
    it nor ROLLBACK after. On SQLite nothing crosses a network; the statements are the same."""
    flow = Flow(client, world)
    hazard = flow.report()
    _steady(flow, "officer")
    reads = (f"/api/v1/hazards/{hazard['id']}", f"/api/v1/hazards?region={SHENZHEN}&state=reported&limit=2")
    for url in reads:
        with count_statements(app) as sql:
            assert client.get(url, headers=flow.h("officer")).status_code == 200
        assert len(sql) == 1, sql.listing()
        if is_postgres(db):
            with count_round_trips(app) as trips:
                assert client.get(url, headers=flow.h("officer")).status_code == 200
            assert trips == ["Sync"], trips


def test_a_list_page_is_at_most_two_statements(client, world, app):
    flow = Flow(client, world)
    for _ in range(3):
        flow.report()
    _steady(flow, "admin")
    with count_statements(app) as sql:
        r = client.get(f"/api/v1/hazards?region={SHENZHEN}&state=reported&limit=2", headers=flow.h("admin"))
    assert r.status_code == 200 and len(r.json()["items"]) == 2 and r.json()["next_cursor"]
    assert len(sql) <= LIST, sql.listing()


def test_reporting_a_hazard_is_at_most_five_statements_timers_and_audit_included(client, world, app, db):
    """The references (one SELECT), the county's number with the new id, the hazard with its chain's head, its
    first event (on PostgreSQL one statement with the hazard's INSERT), its timers. The head is in the hazard's
    own INSERT: no UPDATE follows."""
    flow = Flow(client, world)
    flow.report()  # the caller, the rules of Nanshan and this year's holiday table are now cached
    with count_statements(app) as sql:
        hazard = flow.report()
    assert len(sql) <= REPORT - is_postgres(db), sql.listing()
    assert not [s for s in sql.sql if s.lstrip().upper().startswith("UPDATE")], sql.listing()
    row = db.get(Hazard, hazard["id"])
    assert (row.chain_seq, row.version, row.number) == (1, 1, hazard["number"])
    unset = db.scalar(select(Hazard.plan.is_(None) & Hazard.completion.is_(None)).where(Hazard.id == hazard["id"]))
    assert unset, "an unset JSON column is SQL NULL, as a flush leaves it, not JSON 'null'"
    assert list(verify_chains(db, hazard["id"])) == []
    assert hazard["department_id"] == world.ids["T-NS-YJ"] and hazard["allowed_actions"] == []
    assert hazard["clause"]["standard"]["document_number"]
    timers = db.scalars(select(SupervisionTimer).where(SupervisionTimer.hazard_id == hazard["id"])).all()
    assert timers and {t.watch_state for t in timers} == {"reported"}, "the not-assigned timers, same transaction"
    events = client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=flow.h("ent_chem")).json()["items"]
    assert [(e["seq"], e["action"]) for e in events] == [(1, "report")]


def test_a_keyed_report_is_two_statements_more_and_its_replay_one(client, world, app, db):
    """An Idempotency-Key adds its lookup and its row (Core, no ORM flush at commit); a retry with the key reads
    the stored answer and nothing else."""
    flow = Flow(client, world)
    flow.report()
    headers = {**flow.h("ent_chem"), "Idempotency-Key": "report-0001-abcdef"}
    with count_statements(app) as sql:
        first = client.post("/api/v1/hazards", json=hazard_body(world), headers=headers)
    assert first.status_code == 201 and len(sql) <= REPORT - is_postgres(db) + 2, sql.listing()
    with count_statements(app) as sql:
        again = client.post("/api/v1/hazards", json=hazard_body(world), headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true", again.text
    assert again.json() == first.json() and len(sql) == 1, sql.listing()
    other = client.post("/api/v1/hazards", json=hazard_body(world, title="另一处隐患"), headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused", other.text


def test_a_transition_stays_within_its_current_count(client, world, app):
    """A worker that has not yet read the holiday table of the year the new deadline's timers reach: that one
    read more than the steady transition of the next test."""
    flow = Flow(client, world)
    _steady(flow, "officer", "ent_chem")
    hazard = flow.report()
    with count_statements(app) as sql:
        assigned = flow.ok(hazard, "officer", "assign", **flow.body_for("assign", hazard))
    assert assigned["state"] == "assigned" and assigned["version"] == 2
    assert len(sql) <= TRANSITION + 1, sql.listing()


def test_a_transition_is_at_most_six_statements_in_one_transaction(client, world, app):
    """A transition on a warm worker (the caller, the rules and the holiday tables of the years a deadline
    reaches are cached): the hazard (locked) with the detail's enterprise and clause and the gate's answer on the
    officer, the versioned UPDATE carrying the chain's head, the event, the open measures to settle, the timers'
    DELETE and INSERT (the entry into the state is the event just written, not read back); on PostgreSQL the
    UPDATE and the event are one statement, the timers and whether any measure is to be settled another (the
    measures are read only when some are): three, and one BEGIN and one COMMIT."""
    flow = Flow(client, world)
    _steady(flow, "officer", "ent_chem")
    warm = flow.report()
    flow.ok(warm, "officer", "assign", **flow.body_for("assign", warm))  # the deadline's years, as a server has
    hazard = flow.report()
    with count_statements(app) as sql, transaction_ends(app) as ends:
        assigned = flow.ok(hazard, "officer", "assign", **flow.body_for("assign", hazard))
    assert assigned["state"] == "assigned"
    assert assigned["enterprise"]["id"] == world.ids["chem"] and assigned["clause"]["standard"]["document_number"]
    statements = TRANSITION_PG if is_postgres(app.state.engine) else TRANSITION
    # the enterprise, the clause and the officer's check come with the hazard; only the hazard is locked
    locking = next(s for s in sql.sql if "FOR UPDATE" in s or "users" in s)
    assert "enterprises" in locking and "users" in locking, locking
    assert not [s for s in sql.sql if "users" in s and s is not locking], sql.listing()
    if is_postgres(app.state.engine):
        assert " FOR UPDATE OF hazards" in locking, locking
    assert len(sql) <= statements, sql.listing()
    assert ends == Counter(begin=1, commit=1), ends  # one transaction: BEGIN, the statements, COMMIT
    if is_postgres(app.state.engine):
        again = flow.report()
        with count_round_trips(app) as trips:
            flow.ok(again, "officer", "assign", **flow.body_for("assign", again))
        assert len(trips) <= TRANSITION_PG + 2, trips


def test_a_wrong_officer_is_refused_by_the_answer_the_locking_select_brought(client, world, app):
    """The assign's gate asks no statement of its own: a regulator of another department, an enterprise user and
    no such user are each ``officer_invalid``, from the answer the locking SELECT brought; nothing is written."""
    flow = Flow(client, world)
    _steady(flow, "officer")
    hazard = flow.report()
    deadline = flow.body_for("assign", hazard)["deadline"]
    for officer in (world.ids["builder"], world.ids["ent_chem"], 999_999):
        with count_statements(app) as sql:
            r = flow.act(hazard, "officer", "assign", officer_id=officer, deadline=deadline)
        assert r.status_code == 409 and r.json()["code"] == "officer_invalid", r.text
        assert len(sql) == 1 and "users" in sql.sql[0], sql.listing()
    r = flow.act(hazard, "officer", "assign", officer_id=world.ids["officer2"], deadline=deadline)
    assert r.status_code == 200 and r.json()["officer_id"] == world.ids["officer2"], r.text


def test_the_list_by_region_and_state_reads_its_own_index(app, db, world):
    """Prefecture + state, newest first, is served by (state, prefecture prefix, id): the page comes out of the
    index in order, with no other state's or prefecture's rows read and nothing sorted."""
    if is_postgres(db):  # the planner needs a register to choose from: 20,000 hazards, 1 in 20 in Shenzhen
        with app.state.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO hazards (number, grade, state, source, enterprise_id, industry_code, sector_code,"
                    " region_code, department_id, clause_id, title, description, found_at, production_suspended,"
                    " reported_by_role, failed_verifications, created_at, updated_at, version)"
                    " SELECT 'T-' || g, 'major', CASE WHEN g % 10 = 0 THEN 'reported' ELSE 'closed' END,"
                    " 'self_report', :ent, '26', 'hazardous_chemicals',"
                    " CASE WHEN g % 20 = 1 THEN '440305' ELSE '110101' END, :dept, :clause, 't', 'd', '2026-01-05',"
                    " false, 'enterprise', 0, now(), now(), 1 FROM generate_series(1, 20000) AS g"
                ),
                {"ent": world.ids["chem"], "dept": world.ids["T-NS-YJ"], "clause": world.clause_chem},
            )
        with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE hazards"))
    stmt = (
        hazards.filtered(SYSTEM, hazards.HazardFilters(state=["reported"], region=SHENZHEN), clock.today_in_china())
        .with_only_columns(Hazard.id)
        .order_by(Hazard.id.desc())
        .limit(51)
    )
    sql = str(stmt.compile(db.get_bind(), compile_kwargs={"literal_binds": True}))
    if is_postgres(db):
        # On 20,000 rows a sort of the 100 candidates is as cheap as anything; forbid it, and see which index
        # gives the page in order (main had none: only the primary key or (state, id) walked backwards).
        db.execute(text("SET LOCAL enable_sort = off"))
        plan = "\n".join(db.scalars(text(f"EXPLAIN {sql}")))
    else:
        plan = "\n".join(str(row[-1]) for row in db.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_hazards_state_prefecture_id" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, "the page comes out of the index newest first"


def _report_in(app, world, session_open: threading.Event, release: threading.Event) -> None:
    with app.state.sessionmaker() as s:
        actor = Register(app, world, None).actor(s, "ent_chem")
        data = hs.HazardCreate(
            clause_id=world.clause_chem, title="甲", description="乙", found_at=clock.today_in_china()
        )
        hazards.report(s, actor, data, clock.now())
        session_open.set()
        release.wait(30)
        s.commit()


def test_a_report_holds_no_lock_on_its_county_counter_until_it_commits(app, world, db):
    """Reports of one county run side by side on PostgreSQL: the number is taken in its own short transaction.
    (SQLite has one writer at a time; there the counter moves inside the report's transaction, and a report
    that rolls back leaves no gap.)"""
    if not is_postgres(db):
        reg = Register(app, world, None)
        data = hs.HazardCreate(clause_id=world.clause_chem, title="甲", description="乙", found_at=date(2026, 1, 5))
        with app.state.sessionmaker() as s:
            hazards.report(s, reg.actor(s, "ent_chem"), data, at(date(2026, 1, 5)))
            s.rollback()
        with app.state.sessionmaker() as s:
            number = hazards.report(s, reg.actor(s, "ent_chem"), data, at(date(2026, 1, 5))).number
            s.commit()
        assert number == f"{NANSHAN}-2026-000001"
        return
    session_open, release = threading.Event(), threading.Event()
    other = threading.Thread(target=_report_in, args=(app, world, session_open, release))
    other.start()
    try:
        assert session_open.wait(30), "the first report did not get going"
        with app.state.sessionmaker() as s:
            s.execute(text("SET LOCAL lock_timeout = '2s'"))
            reg = Register(app, world, None)
            data = hs.HazardCreate(
                clause_id=world.clause_chem, title="丙", description="丁", found_at=clock.today_in_china()
            )
            second = hazards.report(s, reg.actor(s, "ent_chem"), data, clock.now())
            s.commit()
    finally:
        release.set()
        other.join(30)
    numbers = sorted(db.scalars(select(Hazard.number)))
    assert len(numbers) == 2 and second.number in numbers and len(set(numbers)) == 2
    assert all(n.startswith(f"{NANSHAN}-") for n in numbers)


def test_a_revoked_right_or_a_deactivation_applies_to_the_very_next_request(client, world):
    flow = Flow(client, world)
    hazard = flow.to_state("verified")
    _steady(flow, "chief2", "officer2")
    assert "close" in client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("chief2")).json()["allowed_actions"]
    admin = flow.h("admin")
    r = client.patch(f"/api/v1/users/{world.ids['chief2']}", headers=admin, json={"can_close": False})
    assert r.status_code == 200, r.text
    try:
        seen = client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("chief2")).json()
        assert "close" not in seen["allowed_actions"], "the worker's cached rights were not dropped"
        assert client.patch(f"/api/v1/users/{world.ids['officer2']}", headers=admin, json={"active": False})
        r = client.get("/api/v1/hazards", headers=flow.h("officer2"))
        assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    finally:
        client.patch(f"/api/v1/users/{world.ids['chief2']}", headers=admin, json={"can_close": True})
        client.patch(f"/api/v1/users/{world.ids['officer2']}", headers=admin, json={"active": True})
        world.tokens.pop("officer2", None)


def test_a_department_that_leads_a_new_sector_widens_its_officers_view_at_once(client, world):
    flow = Flow(client, world)
    hazard = flow.report("ent_metal")  # metal products: industry_trade, led by the Nanshan bureau
    builder = flow.h("builder")  # the housing bureau: construction only
    assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=builder).status_code == 404
    dept = world.ids["T-NS-ZJ"]
    r = client.patch(
        f"/api/v1/departments/{dept}", headers=flow.h("admin"), json={"sectors": ["construction", "industry_trade"]}
    )
    assert r.status_code == 200, r.text
    try:
        assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=builder).status_code == 200
    finally:
        client.patch(f"/api/v1/departments/{dept}", headers=flow.h("admin"), json={"sectors": ["construction"]})


def test_a_holiday_table_another_worker_loaded_reaches_waiting_timers_at_the_next_sweep(app, world, settings, db):
    """A worker whose cached calendar had not seen a new table builds a waiting timer; the sweep heals it."""
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 11, 2))
    reg.assign(hid, date(2026, 11, 3), deadline=date(2026, 12, 31))
    cache.configure(60)  # this worker has read 2027 (unknown) and keeps it for a minute, however slow the machine
    try:
        with app.state.sessionmaker() as s:
            assert not engine.load_calendar(s).knows(2027)
        # Another worker loads 2027 (this process's session events never see it) ...
        with app.state.engine.begin() as conn:
            conn.execute(CalendarYear.__table__.insert().values(year=2027, source="另一进程", loaded_at=clock.now()))
            conn.execute(CalendarDay.__table__.insert().values(day=date(2027, 1, 1), year=2027, is_workday=False))
        # ... while this one still holds "2027: unknown" and rebuilds the timers with it.
        reg.rectify(hid, date(2026, 11, 4), deadline=date(2026, 12, 31))
        waiting = db.scalars(
            select(SupervisionTimer).where(SupervisionTimer.hazard_id == hid, SupervisionTimer.missing_year == 2027)
        ).all()
        assert waiting
        cache.clear_all()  # the cache entry expires
        reg.sweep(date(2026, 11, 5))
    finally:
        cache.configure(app.state.settings.cache_seconds)
    db.rollback()  # a new snapshot: the sweep committed after this session's first read
    timers = db.scalars(select(SupervisionTimer).where(SupervisionTimer.hazard_id == hid)).all()
    assert all(t.missing_year is None and t.due_on is not None for t in timers), [
        (t.basis, t.missing_year, t.due_on, t.fired_at) for t in timers
    ]
    overdue = {t.due_on for t in timers if t.basis.startswith("deadline:")}
    assert date(2027, 1, 15) in overdue, "10 working days after 31 Dec, 1 Jan 2027 a holiday by the table"


def test_the_caches_can_be_turned_off(client, world, app):
    flow = Flow(client, world)
    hazard = flow.report()
    cache.configure(0)
    try:
        _steady(flow, "officer")
        with count_statements(app) as sql:
            assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).status_code == 200
        assert len(sql) == 2, "the caller read again"
        assert ACTORS.get((world.ids["officer"], 0)) is None
    finally:
        cache.configure(app.state.settings.cache_seconds)


def test_serve_writes_an_access_log_unless_told_not_to():
    args = argparse.Namespace(host="127.0.0.1", port=8000, workers=2, no_access_log=False)
    assert serve_options(args, Settings())["access_log"] is True
    assert serve_options(args, Settings(access_log=False))["access_log"] is False
    assert serve_options(argparse.Namespace(**{**vars(args), "no_access_log": True}), Settings())["access_log"] is False
    assert serve_options(args, Settings())["workers"] == 2


def test_health_and_cheap_dependencies_run_on_the_event_loop(app):
    """No threadpool hop for /healthz, for the session, or for a caller already known to the worker."""
    health = next(r for r in app.routes if getattr(r, "path", None) == "/healthz")
    for fn in (health.endpoint, current_actor, admin_actor, hazard_filters):
        assert inspect.iscoroutinefunction(fn), fn
    assert inspect.iscoroutinefunction(get_session), "a plain coroutine: no generator machinery per request"


def test_a_region_filter_and_the_callers_region_meet_as_before(client, world):
    """The list writes region and scope as prefix equalities now; what each caller sees is unchanged."""
    flow = Flow(client, world)
    nanshan, futian = flow.report("ent_chem"), flow.report("ent_futian")

    def listed(user: str, region: str) -> set[int]:
        r = client.get(f"/api/v1/hazards?region={region}&state=reported", headers=flow.h(user))
        assert r.status_code == 200, r.text
        return {h["id"] for h in r.json()["items"]}

    assert listed("admin", SHENZHEN) == {nanshan["id"]}, "a district admin asking for the city sees its district"
    assert listed("admin", NANSHAN) == {nanshan["id"]}
    assert listed("admin", FUTIAN) == set(), "another district is outside the scope"
    assert listed("admin_futian", SHENZHEN) == {futian["id"]}
    assert listed("admin", "440000") == {nanshan["id"]}, "the province contains the district"
    assert listed("admin", "110000") == set()
    assert listed("ent_futian", SHENZHEN) == {futian["id"]}
    assert listed("ent_futian", NANSHAN) == set()


def test_liveness_is_answered_before_any_middleware_or_route_and_says_what_the_route_says(app, client):
    """/healthz is answered by the outermost layer: no route matched, no middleware run; the answer is byte
    for byte the route's (asked with a query string, which that layer leaves to the route)."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "headers": [],
        "http_version": "1.1",
        "scheme": "http",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    # In a thread of its own: an earlier test (the console's browser) may leave a loop running in this one.
    probe = threading.Thread(target=lambda: asyncio.run(app(scope, receive, send)))
    probe.start()
    probe.join(30)
    assert "endpoint" not in scope and "route" not in scope and "session" not in scope, "it went through the app"
    fast = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    routed = client.get("/healthz?from=route")
    assert sent[0]["status"] == routed.status_code == 200
    assert sent[1]["body"] == routed.content and routed.json() == {"status": "ok", "version": __version__}
    assert fast == {k: v for k, v in routed.headers.items()}


def test_a_checkout_from_the_pool_is_not_a_round_trip_to_the_database(client, world, app, monkeypatch):
    """pool_pre_ping sent a SELECT 1 before every request's first statement (twice for a report: its own
    connection and the county counter's); a closed connection is now noticed from its socket instead."""
    flow = Flow(client, world)
    hazard = flow.report()
    pings: list[int] = []
    for pool in engines(app):  # on PostgreSQL the counter and the read use an autocommit twin
        ping = pool.dialect.do_ping
        monkeypatch.setattr(pool.dialect, "do_ping", lambda conn, ping=ping: pings.append(1) or ping(conn))
    flow.report()
    assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).status_code == 200
    assert pings == []


def test_a_worker_with_one_connection_per_pool_reports_and_reads(settings, world, db):
    """An endpoint holds at most one connection of each of a worker's pools at once: a report's county counter
    and a read-only route take theirs from the autocommit twin (PostgreSQL), never a second one of the
    transactions' pool. With one connection per pool and none in a burst, a report and a read both answer
    (a second checkout from one pool would wait for the first, which its own request holds, until the pool
    gives up)."""
    app = create_app(settings.model_copy(update={"database_pool_size": 1, "database_max_overflow": 0}))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            flow = Flow(client, world)
            hazard = flow.report()
            assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).status_code == 200
            assert flow.report()["number"] != hazard["number"]
    finally:
        app.state.engine.dispose()  # and its autocommit twin's pool


def test_an_api_request_hops_into_the_threadpool_at_most_once(client, world, monkeypatch):
    """A sync endpoint runs in the threadpool; the session it used is closed in that same thread, and the
    caller (cached), the filters and the session are made on the event loop: one hop per request."""
    flow = Flow(client, world)
    _steady(flow, "officer", "ent_chem", "admin")
    hazard = flow.report()
    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func, *args, **kwargs):
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)

    def hops_of(request) -> list[str]:
        hops.clear()
        r = request()
        assert r.status_code < 300, r.text
        return list(hops)

    assert len(hops_of(lambda: client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")))) <= 1, hops
    listing = hops_of(lambda: client.get(f"/api/v1/hazards?region={SHENZHEN}&state=reported", headers=flow.h("admin")))
    assert len(listing) <= 1, listing
    report = hops_of(lambda: client.post("/api/v1/hazards", json=hazard_body(world), headers=flow.h("ent_chem")))
    assert len(report) <= 1, report
    assign = flow.body_for("assign", hazard)
    assert len(hops_of(lambda: flow.act(hazard, "officer", "assign", **assign))) <= 1, hops
    assert hops_of(lambda: client.get("/healthz")) == []


def _routes(routes):
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router
        yield from _routes(inner.routes) if inner is not None else (route,)


def test_every_api_route_closes_its_session_in_the_endpoints_thread(app):
    api = [r for r in _routes(app.routes) if isinstance(r, APIRoute) and r.path.startswith("/api/")]
    assert len(api) > 50
    assert [r.path for r in api if not isinstance(r, SessionRoute)] == [], (
        "make the router with route_class=SessionRoute"
    )


def test_a_state_under_newer_rows_of_another_state_comes_from_its_index_too(client, app, db, world):
    """`closed` in Shenzhen while the 4,000 newest hazards are `reported`: the page's ids come from (state,
    region prefix, id), newest first, not from walking the primary key back past every newer hazard (the
    planner's bet when most of the register is closed; 14 ms at 1,000,000 hazards, 0.05 from the index)."""
    flow = Flow(client, world)
    _steady(flow, "admin")
    if is_postgres(db):
        with app.state.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO hazards (number, grade, state, source, enterprise_id, industry_code, sector_code,"
                    " region_code, department_id, clause_id, title, description, found_at, production_suspended,"
                    " reported_by_role, failed_verifications, created_at, updated_at, version)"
                    " SELECT 'T-' || g, 'major', CASE WHEN g > 16000 THEN 'reported' ELSE 'closed' END,"
                    " 'self_report', :ent, '26', 'hazardous_chemicals',"
                    " CASE WHEN g > 16000 OR g % 2 = 0 THEN '440305' ELSE '110101' END, :dept, :clause, 't', 'd',"
                    " '2026-01-05', false, 'enterprise', 0, now(), now(), 1 FROM generate_series(1, 20000) AS g"
                ),
                {"ent": world.ids["chem"], "dept": world.ids["T-NS-YJ"], "clause": world.clause_chem},
            )
        with app.state.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE hazards"))
    else:
        for _ in range(3):
            flow.report()
    sent: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_rest):
        sent.append((statement, parameters))

    for pool in engines(app):  # the list reads through an autocommit twin on PostgreSQL
        event.listen(pool, "before_cursor_execute", record)
    try:
        state = "closed" if is_postgres(db) else "reported"
        r = client.get(f"/api/v1/hazards?region={SHENZHEN}&state={state}&limit=50", headers=flow.h("admin"))
    finally:
        for pool in engines(app):
            event.remove(pool, "before_cursor_execute", record)
    assert r.status_code == 200 and r.json()["items"], r.text
    assert all(h["state"] == state for h in r.json()["items"])
    statement, parameters = next((s, p) for s, p in sent if "FROM hazards" in s and "LIMIT" in s)
    explain = "EXPLAIN " if is_postgres(db) else "EXPLAIN QUERY PLAN "
    loop = loop_engine_of(client)
    if loop is not None:  # sent by asyncpg ($1 placeholders), explained through it
        rows = client.portal.call(_driver_sql, loop, explain + statement, parameters)
    else:
        rows = db.connection().exec_driver_sql(explain + statement, parameters).all()
    plan = "\n".join(str(row[-1]) for row in rows)
    assert re.search(r"ix_hazards_state_(province|prefecture|county)_id", plan), plan  # the district admin's: county
    assert "Index Scan Backward using pk_hazards" not in plan, plan


async def _driver_sql(engine, statement: str, parameters) -> list:
    async with engine.connect() as conn:
        return (await conn.exec_driver_sql(statement, parameters)).all()


def _chosen(app, path: str, method: str, *, prefiltered: bool) -> tuple[int, str] | None:
    """The top-level route the app's router hands ``method path`` to (the first FULL, else the first PARTIAL)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}
    partial = None
    for i, route in enumerate(app.router.routes):
        match, _ = route.matches(scope) if prefiltered else type(route).matches(route, scope)
        if match is Match.FULL:
            return i, "full"
        if match is Match.PARTIAL and partial is None:
            partial = (i, "partial")
    return partial


def test_routing_by_prefix_chooses_the_route_fastapi_would(app):
    """main._skip_by_prefix passes over an included router whose routes cannot match a path; every route's own
    path (parameters filled), with and without a trailing slash, under every method, and paths no route has,
    reach the same route (or none) as FastAPI's own matching."""
    paths = {"/", "/nothing", "/api/v1/nothing", "/api/v1/hazards/1/nothing", "/static/x.css", "/docs"}
    every = []
    for route in app.router.routes:
        every += list(route.effective_route_contexts()) if hasattr(route, "effective_route_contexts") else [route]
    for route in every:
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        if isinstance(path, str):
            filled = re.sub(r"\{[^}]+\}", "1", path)
            paths |= {filled, filled.rstrip("/") + "/", filled.rstrip("/") or "/"}
    assert len(paths) > 300 and any("prefiltered" in getattr(r.matches, "__qualname__", "") for r in app.router.routes)
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            assert _chosen(app, path, method, prefiltered=True) == _chosen(app, path, method, prefiltered=False), (
                method,
                path,
            )


def test_the_hot_routes_run_on_the_event_loop_through_asyncpg_on_postgresql(client, world, app, db):
    """The report, the transition, a hazard's read and history and a list page (``db.on_loop``): on PostgreSQL
    every statement they send goes through asyncpg from the thread that runs the event loop (a greenlet), none
    through psycopg from a worker thread; on SQLite all of them run in the threadpool, as every other route.
    A route left unmarked (the hazard's supervision measures) runs in a thread on either."""
    flow = Flow(client, world)
    _steady(flow, "officer", "ent_chem")
    hazard = flow.report()
    sent: list[tuple[str, bool]] = []

    def record(conn, *_rest) -> None:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        sent.append((conn.dialect.driver, on_loop))

    def drivers(call) -> set[tuple[str, bool]]:
        sent.clear()
        listened = engines(app)
        for pool in listened:
            event.listen(pool, "before_cursor_execute", record)
        try:
            call()
        finally:
            for pool in listened:
                event.remove(pool, "before_cursor_execute", record)
        return set(sent)

    officer, hot = flow.h("officer"), {("asyncpg", True)} if is_postgres(db) else {("pysqlite", False)}
    assert drivers(flow.report) == hot
    assert drivers(lambda: flow.ok(hazard, "officer", "assign", **flow.body_for("assign", hazard))) == hot
    for url in (f"/api/v1/hazards/{hazard['id']}", f"/api/v1/hazards/{hazard['id']}/events", "/api/v1/hazards"):
        assert drivers(lambda url=url: client.get(url, headers=officer).raise_for_status()) == hot, url
    cold = {("psycopg", False)} if is_postgres(db) else {("pysqlite", False)}
    measures = f"/api/v1/hazards/{hazard['id']}/measures"
    assert drivers(lambda: client.get(measures, headers=officer).raise_for_status()) == cold
