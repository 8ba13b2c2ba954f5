"""Many clients race the same transition: exactly one wins, the rest get 409, the history stays whole."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from hazard_registry.hazards.audit import verify_chains
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
