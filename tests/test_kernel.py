"""The workflow kernel: one version contract for every life-cycle, chained histories for all of them, the
append-only guard in the database itself, and the seam between hazards and supervision."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry import workflow as kernel
from hazard_registry.complaints.models import ComplaintEvent
from hazard_registry.complaints.workflow import CHAIN as COMPLAINTS
from hazard_registry.db import make_engine
from hazard_registry.errors import Forbidden, WrongState
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.audit import CHAIN as HAZARDS
from hazard_registry.hazards.audit import verify_chains
from hazard_registry.hazards.models import Hazard, HazardEvent
from hazard_registry.hazards.workflow import WORKFLOW as HAZARD_WORKFLOW
from hazard_registry.migrate import alembic_config
from hazard_registry.supervision import listeners
from hazard_registry.supervision.models import MeasureEvent, SupervisionMeasure, SupervisionTimer
from hazard_registry.supervision.workflow import CHAIN as MEASURES
from hazard_registry.supervision.workflow import WORKFLOW as MEASURE_WORKFLOW
from hazard_registry.workflow import GENESIS, audit
from tests.flow import Flow
from tests.guards import guard_off
from tests.test_complaints import Desk
from tests.test_supervision_engine import Register, at


def _a_notice(client, app, world, settings) -> dict:
    """A 通报 the sweep proposed for a hazard its department left unassigned; the city issues it."""
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    reg.sweep(date(2026, 3, 20))
    rows = client.get(f"/api/v1/hazards/{hid}/measures", headers=world.headers(client, "officer")).json()["items"]
    return next(m for m in rows if m["measure"] == "circulated_notice")


def _if_match(headers: dict, version: int) -> dict:
    return {**headers, "If-Match": f'"{version}"'}


def test_a_measure_action_without_its_version_is_428_and_a_stale_one_409(client, app, world, settings):
    notice = _a_notice(client, app, world, settings)
    url = f"/api/v1/measures/{notice['id']}/actions"
    city, officer = world.headers(client, "city"), world.headers(client, "officer")

    r = client.post(url, headers=city, json={"action": "issue"})
    assert r.status_code == 428 and r.json()["code"] == "version_required"
    assert client.get(f"/api/v1/measures/{notice['id']}", headers=city).json()["state"] == "proposed"
    r = client.post(url, headers=_if_match(city, notice["version"] + 1), json={"action": "issue"})
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    issued = client.post(url, headers=_if_match(city, notice["version"]), json={"action": "issue"})
    assert issued.status_code == 200 and issued.json()["document_number"]

    r = client.post(url, headers=officer, json={"action": "acknowledge", "note": "收到"})
    assert r.status_code == 428
    r = client.post(url, headers=officer, json={"action": "acknowledge", "version": notice["version"]})
    assert r.status_code == 409 and r.json()["code"] == "version_conflict", "issuing moved the version"
    acked = client.post(url, headers=officer, json={"action": "acknowledge", "version": issued.json()["version"]})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    # Who is checked before the version: the target may not resolve, whatever it sends.
    r = client.post(url, headers=officer, json={"action": "resolve"})
    assert r.status_code == 403 and r.json()["code"] == "measure_forbidden"
    done = client.post(url, headers=_if_match(city, acked.json()["version"]), json={"action": "resolve"})
    assert done.status_code == 200 and done.json()["outcome"] == "已整改到位"


def test_a_measure_history_is_a_chain_whose_head_the_measure_keeps(client, app, world, settings, db):
    notice = _a_notice(client, app, world, settings)
    url = f"/api/v1/measures/{notice['id']}/actions"
    city = world.headers(client, "city")
    issued = client.post(url, headers=_if_match(city, notice["version"]), json={"action": "issue"}).json()
    client.post(url, headers=_if_match(city, issued["version"]), json={"action": "withdraw", "note": "另案处理"})

    events = db.scalars(select(MeasureEvent).where(MeasureEvent.measure_id == notice["id"]).order_by(MeasureEvent.seq))
    events = list(events)
    assert [(e.seq, e.action) for e in events] == [(1, "issue"), (2, "withdraw")]
    assert events[0].prev_hash == GENESIS and events[1].prev_hash == events[0].hash
    assert events[0].note == issued["document_number"]
    m = db.get(SupervisionMeasure, notice["id"])
    assert (m.chain_seq, m.chain_head) == (2, events[1].hash)
    # The sweep's own set-based issue chains its events too.
    auto = db.scalars(select(MeasureEvent).where(MeasureEvent.measure_id != notice["id"])).all()
    assert auto and all(e.seq == 1 and e.prev_hash == GENESIS for e in auto)
    assert list(audit.verify(db, MEASURES)) == []

    with guard_off_conn(app) as conn:
        conn.execute(text("DELETE FROM supervision_measure_events WHERE measure_id = :m AND seq = 2"),
                     {"m": notice["id"]})  # fmt: skip
    db.rollback()  # a new snapshot: the test's session read before the edit
    [b] = audit.verify(db, MEASURES)
    assert (b.chain, b.owner_id) == ("measure", notice["id"]) and "removed" in b.reason


class guard_off_conn:
    def __init__(self, app):
        self.engine = app.state.engine

    def __enter__(self):
        self._tx = self.engine.begin()
        conn = self._tx.__enter__()
        self._guard = guard_off(conn)
        return self._guard.__enter__()

    def __exit__(self, *exc):
        self._guard.__exit__(*exc)
        return self._tx.__exit__(*exc)


# What differs between two hazards walked alike: ids, numbers, the hashes (which cover the hazard's id).
_OWN_IDS = ("evidence_ids", "attachment_id", "duplicate_of_id")


def _timers(db, hazard_id: int) -> list[dict]:
    db.rollback()  # a new snapshot (SQLite keeps the read transaction's)
    rows = db.execute(select(SupervisionTimer.__table__).where(SupervisionTimer.hazard_id == hazard_id))
    timers = [{k: v for k, v in row._mapping.items() if k not in ("id", "hazard_id")} for row in rows]
    return sorted(timers, key=lambda t: (t["rule_id"], t["basis"]))


def _stored(db, hazard_id: int) -> tuple[dict, list[dict]]:
    """The hazard's row and its events as stored, less what differs between two hazards walked alike."""
    db.rollback()
    hazard = dict(db.execute(select(Hazard.__table__).where(Hazard.id == hazard_id)).one()._mapping)
    for key in ("id", "number", "chain_head", "duplicate_of_id"):
        hazard.pop(key)
    hazard["completion"] = {k: v for k, v in (hazard["completion"] or {}).items() if k not in _OWN_IDS}
    events = []
    for row in db.execute(
        select(HazardEvent.__table__).where(HazardEvent.hazard_id == hazard_id).order_by(HazardEvent.seq)
    ):
        ev = dict(row._mapping)
        for key in ("id", "hazard_id", "prev_hash", "hash"):
            ev.pop(key)
        ev["data"] = {k: v for k, v in ev["data"].items() if k not in _OWN_IDS}
        events.append(ev)
    return hazard, events


def test_an_action_writes_by_core_the_rows_the_orm_flush_wrote(client, world, db, monkeypatch):
    """An action's versioned UPDATE and its event are Core statements (one on PostgreSQL, ``audit.append(moved=
    True)``); the ORM flush they replaced stays the way when more than the row's columns wait in the session. A
    hazard walked through every action both ways, at the same instants, leaves the same hazard row, the same
    events and, after each step, the same timers, column by column; both chains verify."""
    flow = Flow(client, world)
    steps = [
        ("assign", "officer"),
        ("start_rectification", "ent_chem"),
        ("request_verification", "ent_chem"),
        ("fail_verification", "officer"),
        ("request_verification", "ent_chem"),
        ("verify", "officer"),
        ("close", "chief"),
    ]

    def walk() -> tuple[tuple[int, int], list[list[dict]]]:
        """Each step a minute after the one before, from the same instant."""
        start = datetime(2026, 11, 28, 1, 0, 7, 123456, tzinfo=UTC)
        monkeypatch.setattr(clock, "now", lambda: start)
        hazard, rejected = flow.report(), flow.report()
        flow.ok(rejected, "officer", "reject", reason="duplicate", duplicate_of_id=hazard["id"], note="重复上报")
        timers = []
        for minute, (action, who) in enumerate(steps, 1):
            body = flow.body_for(action, hazard)
            monkeypatch.setattr(clock, "now", lambda minute=minute: start + timedelta(minutes=minute))
            hazard = flow.ok(hazard, who, action, **body)
            timers.append(_timers(db, hazard["id"]))
        return (hazard["id"], rejected["id"]), timers

    core = []
    write_moved = audit._write_moved
    monkeypatch.setattr(audit, "_write_moved", lambda *a: core.append(a[3].action) or write_moved(*a))
    by_core, core_timers = walk()
    assert core == ["reject", *(action for action, _ in steps)], core
    monkeypatch.setattr(audit, "_moved_columns", lambda *a: None)  # main's way: the ORM flush
    by_flush, flush_timers = walk()
    assert len(core) == 1 + len(steps), "the second walk flushed"
    assert core_timers == flush_timers and core_timers[0], "the timers of each state, as the flush left them"
    for new, old in zip(by_core, by_flush, strict=True):
        (hazard, events), (was_hazard, was_events) = _stored(db, new), _stored(db, old)
        assert {k: (v, was_hazard[k]) for k, v in hazard.items() if v != was_hazard[k]} == {}
        assert len(events) == len(was_events)
        for ev, was in zip(events, was_events, strict=True):
            assert {k: (v, was[k]) for k, v in ev.items() if v != was[k]} == {}, ev["action"]
        assert list(verify_chains(db, new)) == [] and list(verify_chains(db, old)) == []
    for hazard_id, rejected_id in (by_core, by_flush):
        assert db.get(Hazard, rejected_id).duplicate_of_id == hazard_id


def test_removing_a_hazards_last_event_is_reported(client, world, app, db, audit_cli):
    hazard = Flow(client, world).to_state("rectifying")
    last = db.scalar(
        select(HAZARDS.event.seq).where(HAZARDS.event.hazard_id == hazard["id"]).order_by(HAZARDS.event.seq.desc())
    )
    assert audit_cli() == (0, "all event chains are intact\n")
    with guard_off_conn(app) as conn:
        conn.execute(
            text("DELETE FROM hazard_events WHERE hazard_id = :h AND seq = :s"), {"h": hazard["id"], "s": last}
        )
    db.rollback()  # a new snapshot: the test's session read before the edit
    [b] = verify_chains(db)
    assert b.hazard_id == hazard["id"] and "removed" in b.reason
    code, out = audit_cli()
    assert code == 1 and f"BROKEN hazard {hazard['id']} " in out


def test_complaint_events_are_chained_and_verified(client, world, app, db, audit_cli):
    desk = Desk(client, world)
    desk.submit()
    c = desk.only()
    c = desk.ok(c, "accept")
    desk.ok(c, "extend", days=10, reason="需补充调查")
    events = list(
        db.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == c["id"]).order_by(ComplaintEvent.seq))
    )
    assert [(e.seq, e.action) for e in events] == [(1, "submit"), (2, "accept"), (3, "extend")]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert list(audit.verify(db, COMPLAINTS)) == []
    with guard_off_conn(app) as conn:
        conn.execute(text("UPDATE complaint_events SET note = 'changed' WHERE id = :e"), {"e": events[1].id})
    db.rollback()  # a new snapshot: the test's session read before the edit
    [b] = audit.verify(db, COMPLAINTS)
    assert (b.owner_id, b.seq) == (c["id"], 2) and "edited" in b.reason
    code, out = audit_cli()
    assert code == 1 and f"BROKEN complaint {c['id']} event {events[1].id}" in out


def test_every_chain_is_verified_by_the_command():
    assert {"hazard", "measure", "complaint"} <= set(audit.CHAINS)


def test_the_database_refuses_to_edit_or_delete_any_event(client, app, world, settings):
    Flow(client, world).to_state("assigned")
    Desk(client, world).submit()
    _a_notice(client, app, world, settings)  # the sweep issued the warning letter: an event
    for table in ("hazard_events", "complaint_events", "supervision_measure_events"):
        with pytest.raises(DBAPIError, match="append-only"), app.state.engine.begin() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() > 0
            conn.execute(text(f"UPDATE {table} SET note = 'rewritten'"))
        with pytest.raises(DBAPIError, match="append-only"), app.state.engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {table}"))


def test_supervision_listens_to_hazards_once_however_often_it_is_installed(client, world, db):
    listeners.install()
    listeners.install()
    assert HAZARD_WORKFLOW.listeners.count(listeners.rebuild_timers) == 1
    # Reporting a hazard rebuilds its timers in the same transaction, through the listener alone.
    hazard = Flow(client, world).report()
    timers = db.execute(text("SELECT count(*) FROM supervision_timers WHERE hazard_id = :h"), {"h": hazard["id"]})
    assert timers.scalar_one() > 0
    assert "supervision" not in " ".join(hazards.__dict__.keys())


USERS = ("ent_chem", "officer", "chief", "builder", "futian_officer", "city", "admin", "admin_futian")


def test_allowed_actions_are_exactly_what_the_kernel_accepts(client, app, world, settings):
    """For every kind of caller and every state a measure passes through, the buttons ``allowed_actions``
    offers are the actions ``act`` lets through its who-checks and state, and no other."""
    notice = _a_notice(client, app, world, settings)
    reg = Register(app, world, settings)
    judged: list[tuple[str, str, frozenset[str]]] = []
    for step, who in (("issue", "city"), ("acknowledge", "officer"), ("resolve", "city")):
        with app.state.sessionmaker() as s:
            m = s.get(SupervisionMeasure, notice["id"])
            for name in USERS:
                actor = reg.actor(s, name)
                if not s.scalar(select(SupervisionMeasure.id).where(SupervisionMeasure.id == m.id,
                                                                    MEASURE_WORKFLOW.scope(actor))):  # fmt: skip
                    continue
                offered = set(MEASURE_WORKFLOW.allowed_actions(m, actor))
                accepted = set()
                for action in ("issue", "acknowledge", "resolve", "withdraw"):
                    try:
                        with s.begin_nested():
                            kernel.act(s, MEASURE_WORKFLOW, actor, m.id, action, expected_version=m.version,
                                       now=at(date(2026, 3, 20)), note="理由")  # fmt: skip
                            raise _Undo
                    except _Undo:
                        accepted.add(action)
                    except (Forbidden, WrongState):
                        pass
                    s.expire_all()
                    m = s.get(SupervisionMeasure, notice["id"])
                assert offered == accepted, (m.state, name)
                judged.append((m.state, name, frozenset(offered)))
            actor = reg.actor(s, who)
            kernel.act(s, MEASURE_WORKFLOW, actor, m.id, step, expected_version=m.version, now=at(date(2026, 3, 20)))
            s.commit()
    assert {st for st, _n, offered in judged if offered} == {"proposed", "issued", "acknowledged"}
    assert any(not offered for _s, _n, offered in judged), "someone who sees a measure may still not act on it"


class _Undo(Exception):
    """Leaves the savepoint after an accepted action, so the next one is tried on the same state."""


def test_migration_0011_chains_the_measure_and_complaint_events_already_written(tmp_path):
    """Events written before the kernel (no seq, no hash) become chains that verify, with their heads."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0009")
    old = create_engine(url)
    at_ = "2026-03-02 02:00:00.000000"
    with old.begin() as conn:  # foreign keys are not enforced on this bare connection: the rows stand alone
        conn.execute(text(
            "INSERT INTO complaints (id, receipt_hash, channel, state, region_code, sector_code, department_id, "
            "title, description, anonymous, rechecks, created_at, updated_at, version) VALUES (7, 'x', 'web', "
            "'accepted', '440305', 'other', 1, 't', 'd', 1, 0, :at, :at, 2)"), {"at": at_})  # fmt: skip
        for action in ("submit", "accept"):
            conn.execute(text(
                "INSERT INTO complaint_events (complaint_id, action, from_state, to_state, actor_name, at, data) "
                "VALUES (7, :a, 'received', 'accepted', 'officer', :at, '{}')"), {"a": action, "at": at_})  # fmt: skip
    old.dispose()
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with Session(engine) as s:
        assert list(audit.verify(s, COMPLAINTS)) == [] and list(audit.verify(s, MEASURES)) == []
        assert s.execute(text("SELECT chain_seq FROM complaints WHERE id = 7")).scalar_one() == 2
        with pytest.raises(DBAPIError, match="append-only"):
            s.execute(text("DELETE FROM complaint_events"))
    engine.dispose()
