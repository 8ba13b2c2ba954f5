"""Many clients race the same transition: exactly one wins, the rest get 409, the history stays whole."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import text

from hazard_registry.hazards.audit import verify_chains
from hazard_registry.hazards.service import _COUNT_PG
from tests.factories import hazard_body
from tests.flow import Flow

RACERS = 12


def _race(app, url: str, payloads: list[tuple[dict, dict]]) -> list:
    barrier = threading.Barrier(len(payloads))

    def go(args):
        headers, body = args
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            return c.post(url, json=body, headers=headers)

    with ThreadPoolExecutor(len(payloads)) as pool:
        return list(pool.map(go, payloads))


def test_racing_the_same_transition_has_one_winner(client, world, app, db):
    flow = Flow(client, world)
    hazard = flow.to_state("verification_requested")
    url = f"/api/v1/hazards/{hazard['id']}/transitions"
    verify = {"action": "verify", "version": hazard["version"], **flow.body_for("verify", hazard)}
    fail = {"action": "fail_verification", "version": hazard["version"], **flow.body_for("fail_verification", hazard)}
    officers = [flow.h("officer"), flow.h("officer2")]
    payloads = [(officers[i % 2], verify if i % 3 else fail) for i in range(RACERS)]

    responses = _race(app, url, payloads)

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (RACERS - 1), [r.text for r in responses if r.status_code not in (200, 409)]
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {"version_conflict", "wrong_state"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    events = client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=flow.h("officer")).json()["items"]
    decided = [e for e in events if e["from_state"] == "verification_requested"]
    assert len(decided) == 1 and decided[0] is events[-1] and decided[0]["to_state"] == winner["state"]
    assert list(verify_chains(db, hazard["id"])) == []


def test_racing_reports_with_one_idempotency_key_make_one_hazard(client, world, app):
    flow = Flow(client, world)
    headers = {**flow.h("ent_chem"), "Idempotency-Key": "retry-storm-1"}
    responses = _race(app, "/api/v1/hazards", [(headers, hazard_body(world))] * 6)
    ok = [r for r in responses if r.status_code == 201]
    assert ok and all(r.status_code in (201, 409) for r in responses), [r.text for r in responses]
    assert len({r.json()["id"] for r in ok}) == 1
    listed = client.get("/api/v1/hazards", headers=flow.h("ent_chem")).json()
    assert len(listed["items"]) == 1


def test_racing_reports_of_one_county_take_consecutive_numbers(client, world, app):
    flow = Flow(client, world)
    responses = _race(app, "/api/v1/hazards", [(flow.h("ent_chem"), hazard_body(world))] * RACERS)
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    assert len({tuple(r.json()["number"].split("-")[:2]) for r in responses}) == 1  # one county, one year
    seqs = sorted(int(r.json()["number"].rsplit("-", 1)[1]) for r in responses)
    assert seqs == list(range(seqs[0], seqs[0] + RACERS)), seqs
    assert len({r.json()["id"] for r in responses}) == RACERS


def test_the_counter_commits_asynchronously_for_its_own_transaction_only(app):
    """The county counter's short transaction does not wait for its WAL flush (the report's commit flushes it);
    the setting is local to that transaction, so the pool's connections keep committing synchronously."""
    engine = app.state.engine
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.execute(_COUNT_PG, {"region_code": "999999", "year": 2099}).one()
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
        conn.rollback()
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(_COUNT_PG, {"region_code": "999999", "year": 2099}).one()
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
        conn.execute(text("DELETE FROM hazard_counters WHERE region_code = '999999'"))
