from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from hazard_registry import clock
from tests.factories import PLAN, hazard_body
from tests.flow import Flow


def test_full_life_from_report_to_closure(client, world):
    flow = Flow(client, world)
    hazard = flow.report()
    assert hazard["state"] == "reported"
    assert hazard["number"].startswith("440305-")
    assert hazard["source"] == "self_report"
    assert hazard["department_id"] == world.ids["T-NS-YJ"]  # the district bureau leads chemicals
    assert hazard["enterprise"]["name"] == "南山测试化工有限公司"
    assert hazard["clause"]["standard"]["document_number"]

    deadline = (clock.today_in_china() + timedelta(days=30)).isoformat()
    hazard = flow.ok(hazard, "officer", "assign", officer_id=world.ids["officer"], deadline=deadline)
    assert hazard["deadline"] == deadline and hazard["officer_id"] == world.ids["officer"]
    hazard = flow.ok(hazard, "ent_chem", "start_rectification", plan={**PLAN, "deadline": deadline})
    assert hazard["plan"]["responsible_person"] == "李四"
    evidence = flow.attach(hazard).json()
    hazard = flow.ok(
        hazard, "ent_chem", "request_verification", report="done", evaluated_by="expert", evidence_ids=[evidence["id"]]
    )
    hazard = flow.ok(hazard, "officer", "fail_verification", reasons="联锁未投用")
    assert hazard["state"] == "rectifying" and hazard["failed_verifications"] == 1
    hazard = flow.ok(
        hazard,
        "ent_chem",
        "request_verification",
        report="fixed again",
        evaluated_by="self",
        evidence_ids=[evidence["id"]],
    )
    hazard = flow.ok(hazard, "officer", "verify", check_record="现场核查合格")
    hazard = flow.ok(hazard, "chief", "close", note="同意销号")
    assert hazard["state"] == "closed" and hazard["closed_by_id"] == world.ids["chief"]

    events = client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=flow.h("ent_chem")).json()["items"]
    assert [e["action"] for e in events] == [
        "report",
        "assign",
        "start_rectification",
        "attach",
        "request_verification",
        "fail_verification",
        "request_verification",
        "verify",
        "close",
    ]
    assert [e["seq"] for e in events] == list(range(1, 10))
    assert all(b["prev_hash"] == a["hash"] for a, b in pairwise(events))
    assert events[-1]["actor_name"] == "chief" and events[-1]["note"] == "同意销号"
    assert events[5]["data"]["reasons"] == "联锁未投用"


def test_regulator_reports_an_inspection_finding(client, world):
    flow = Flow(client, world)
    hazard = flow.report("officer", enterprise_id=world.ids["metal"], clause_id=world.clause_trade)
    assert hazard["source"] == "inspection" and hazard["sector_code"] == "industry_trade"
    r = client.post(
        "/api/v1/hazards", headers=flow.h("officer"), json=hazard_body(world, enterprise_id=world.ids["futian"])
    )
    assert r.status_code == 404 and r.json()["code"] == "enterprise_not_found"


def test_construction_hazard_goes_to_the_department_that_leads_construction(client, world):
    flow = Flow(client, world)
    hazard = flow.report("officer", enterprise_id=world.ids["build"], clause_id=world.clause_trade)
    assert hazard["department_id"] == world.ids["T-NS-ZJ"]
    assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("builder")).status_code == 200
    # The reporting emergency bureau does not lead construction, so the hazard is not theirs to see.
    assert client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).status_code == 404


def test_report_gates(client, world):
    flow = Flow(client, world)
    h = flow.h("ent_chem")
    future = (clock.today_in_china() + timedelta(days=1)).isoformat()
    r = client.post("/api/v1/hazards", headers=h, json=hazard_body(world, found_at=future))
    assert r.status_code == 422 and r.json()["code"] == "found_at_in_future"
    r = client.post("/api/v1/hazards", headers=h, json=hazard_body(world, clause_id=world.clause_old))
    assert r.status_code == 422 and r.json()["code"] == "clause_not_in_force"
    old_day = (world.old_until - timedelta(days=1)).isoformat()
    r = client.post("/api/v1/hazards", headers=h, json=hazard_body(world, clause_id=world.clause_old, found_at=old_day))
    assert r.status_code == 201, "a clause of the edition in force on the found-at date is accepted"
    r = client.post("/api/v1/hazards", headers=h, json=hazard_body(world, clause_id=999999))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "clause_id"
    r = client.post("/api/v1/hazards", headers=h, json=hazard_body(world, enterprise_id=world.ids["metal"]))
    assert r.status_code == 404, "an enterprise reports only for itself"
    r = client.post("/api/v1/hazards", headers=h, json=hazard_body(world, source="inspection"))
    assert r.status_code == 422 and r.json()["code"] == "source_not_allowed"
    r = client.post(
        "/api/v1/hazards", headers=flow.h("admin"), json=hazard_body(world, enterprise_id=world.ids["chem"])
    )
    assert r.status_code == 403


def test_validation_errors_name_the_field_and_never_500(client, world):
    h = Flow(client, world).h("ent_chem")
    r = client.post("/api/v1/hazards", headers=h, json={"title": "", "found_at": "not-a-date"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"title", "found_at", "clause_id", "description"} <= fields
    for bad in [b"{", b"[]", b'"x"', b"null", '{"title": "\u0000"}'.encode(), b'{"clause_id": 1e400}']:
        r = client.post("/api/v1/hazards", headers={**h, "content-type": "application/json"}, content=bad)
        assert r.status_code == 422, (bad, r.text)
    assert client.get("/api/v1/hazards/notanumber", headers=h).status_code == 422
    assert client.get("/api/v1/hazards/99999999999999999999999", headers=h).status_code in (404, 422)
    assert client.get("/api/v1/hazards?cursor=%%%", headers=h).json()["code"] == "invalid_cursor"
    assert client.get("/api/v1/hazards?limit=100000", headers=h).status_code == 422
    r = client.post("/api/v1/hazards/1/transitions", headers=h, json={"action": "explode"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"


def test_idempotency_key_returns_the_first_result(client, world):
    flow = Flow(client, world)
    h = {**flow.h("ent_chem"), "Idempotency-Key": "retry-0001-abcdef"}
    first = client.post("/api/v1/hazards", headers=h, json=hazard_body(world))
    again = client.post("/api/v1/hazards", headers=h, json=hazard_body(world))
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = client.get("/api/v1/hazards", headers=flow.h("ent_chem")).json()["items"]
    assert len(listed) == 1
    other = client.post("/api/v1/hazards", headers=h, json=hazard_body(world, title="另一个"))
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Keys belong to their user: another user's same key is a different request.
    h2 = {**flow.h("officer"), "Idempotency-Key": "retry-0001-abcdef"}
    r = client.post("/api/v1/hazards", headers=h2, json=hazard_body(world, enterprise_id=world.ids["chem"]))
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]


def test_stale_version_is_409_and_missing_version_is_428(client, world):
    flow = Flow(client, world)
    hazard = flow.report()
    body = {"action": "assign", **flow.body_for("assign", hazard)}
    url = f"/api/v1/hazards/{hazard['id']}/transitions"
    r = client.post(url, json=body, headers=flow.h("officer"))
    assert r.status_code == 428 and r.json()["code"] == "version_required"
    r = client.post(url, json=body, headers={**flow.h("officer"), "If-Match": '"7"'})
    assert r.status_code == 409 and r.json()["code"] == "version_conflict" and r.json()["current_version"] == 1
    r = client.post(url, json=body, headers={**flow.h("officer"), "If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    r = client.post(url, json={**body, "version": 1}, headers=flow.h("officer"))
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"


def test_gates(client, world):
    flow = Flow(client, world)
    hazard = flow.report()
    past = (clock.today_in_china() - timedelta(days=1)).isoformat()
    r = flow.act(hazard, "officer", "assign", officer_id=world.ids["officer"], deadline=past)
    assert r.status_code == 409 and r.json()["code"] == "deadline_in_past"
    r = flow.act(
        hazard,
        "officer",
        "assign",
        officer_id=world.ids["builder"],
        deadline=(clock.today_in_china() + timedelta(days=9)).isoformat(),
    )
    assert r.json()["code"] == "officer_invalid"
    r = flow.act(hazard, "officer", "reject", reason="duplicate")
    assert r.json()["code"] == "duplicate_link_required"

    assigned = flow.to_state("assigned")
    r = flow.act(
        assigned, "ent_chem", "start_rectification", plan={**PLAN, "funds": "", "deadline": assigned["deadline"]}
    )
    assert r.status_code == 409 and r.json()["code"] == "plan_incomplete" and "funds" in r.json()["detail"]
    late = (date.fromisoformat(assigned["deadline"]) + timedelta(days=1)).isoformat()
    r = flow.act(assigned, "ent_chem", "start_rectification", plan={**PLAN, "deadline": late})
    assert r.json()["code"] == "plan_deadline_too_late"

    rect = flow.to_state("rectifying")
    r = flow.act(rect, "ent_chem", "request_verification", report="done", evaluated_by="self", evidence_ids=[])
    assert r.json()["code"] == "evidence_required"
    foreign = flow.attach(flow.to_state("rectifying")).json()
    r = flow.act(
        rect, "ent_chem", "request_verification", report="done", evaluated_by="self", evidence_ids=[foreign["id"]]
    )
    assert r.json()["code"] == "evidence_unknown"

    # The verifier is not the reporter: a hazard the officer found on inspection needs another officer.
    own = flow.report("officer", enterprise_id=world.ids["chem"])
    own = flow.ok(
        own,
        "officer2",
        "assign",
        officer_id=world.ids["officer2"],
        deadline=(clock.today_in_china() + timedelta(days=20)).isoformat(),
    )
    own = flow.ok(own, "ent_chem", "start_rectification", plan={**PLAN, "deadline": own["deadline"]})
    own = flow.ok(
        own, "ent_chem", "request_verification", **{k: v for k, v in flow.body_for("request_verification", own).items()}
    )
    r = flow.act(own, "officer", "verify", check_record="ok")
    assert r.status_code == 409 and r.json()["code"] == "verifier_is_reporter"
    own = flow.ok(own, "chief", "verify", check_record="ok")
    r = flow.act(own, "chief", "close")
    assert r.status_code == 409 and r.json()["code"] == "closer_is_verifier"
    assert flow.ok(own, "chief2", "close")["state"] == "closed"


def test_list_filters_scope_and_keyset_pages(client, world):
    flow = Flow(client, world)
    made = [flow.report() for _ in range(5)]
    flow.report("ent_futian", clause_id=world.clause_chem)
    metal = flow.report("ent_metal", clause_id=world.clause_trade, title="抛光除尘未设泄爆")
    assigned = flow.ok(
        made[0],
        "officer",
        "assign",
        officer_id=world.ids["officer"],
        deadline=(clock.today_in_china() + timedelta(days=5)).isoformat(),
    )

    mine = client.get("/api/v1/hazards", headers=flow.h("ent_chem")).json()["items"]
    assert {h["id"] for h in mine} == {h["id"] for h in made}
    page1 = client.get("/api/v1/hazards?limit=2", headers=flow.h("officer")).json()
    page2 = client.get(f"/api/v1/hazards?limit=2&cursor={page1['next_cursor']}", headers=flow.h("officer")).json()
    page3 = client.get(f"/api/v1/hazards?limit=2&cursor={page2['next_cursor']}", headers=flow.h("officer")).json()
    ids = [h["id"] for p in (page1, page2, page3) for h in p["items"]]
    assert len(ids) == len(set(ids)) == 6 and ids == sorted(ids, reverse=True)
    assert page3["next_cursor"] is None
    futian_ids = {h["id"] for h in client.get("/api/v1/hazards", headers=flow.h("futian_officer")).json()["items"]}
    assert futian_ids.isdisjoint(ids)
    city = client.get("/api/v1/hazards?limit=200", headers=flow.h("city")).json()["items"]
    assert len(city) == 7, "the city bureau sees both districts"

    def q(query: str, who: str = "officer") -> list[int]:
        return [h["id"] for h in client.get(f"/api/v1/hazards?{query}", headers=flow.h(who)).json()["items"]]

    assert q("state=assigned") == [assigned["id"]]
    assert len(q("state=assigned&state=reported")) == 6
    assert q("q=泄爆") == [metal["id"]]
    assert q(f"enterprise_id={world.ids['metal']}") == [metal["id"]]
    assert q("industry_code=33") == [metal["id"]]
    assert q("region=440304", "city") != [] and q("region=440304") == []
    assert q("overdue=true") == []
    assert q(f"found_from={clock.today_in_china().isoformat()}") == []
    assert len(q("source=self_report")) == 6


def test_overdue_is_computed_on_the_deadline(client, world, db):
    from hazard_registry.hazards.models import Hazard

    flow = Flow(client, world)
    hazard = flow.to_state("assigned")
    db.get(Hazard, hazard["id"]).deadline = clock.today_in_china() - timedelta(days=1)
    db.commit()
    got = client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("officer")).json()
    assert got["overdue"] is True
    assert [h["id"] for h in client.get("/api/v1/hazards?overdue=true", headers=flow.h("officer")).json()["items"]] == [
        hazard["id"]
    ]


def test_attachments_are_checked_by_content_and_stored_once(client, world, settings):
    flow = Flow(client, world)
    hazard = flow.report()
    r = flow.attach(hazard, name="photo.jpg")  # a PNG named .jpg: the content decides
    assert r.status_code == 201 and r.json()["media_type"] == "image/png"
    again = flow.attach(hazard, name="copy.png")
    assert again.json()["sha256"] == r.json()["sha256"]
    stored = list(settings.effective_attachments_dir.rglob(r.json()["sha256"]))
    assert len(stored) == 1
    r = flow.attach(hazard, content=b"#!/bin/sh\nrm -rf /\n", name="evidence.pdf")
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    r = flow.attach(hazard, content=b"%PDF-1.4\n" + b"0" * (300 * 1024), name="big.pdf")
    assert r.status_code == 413
    r = flow.attach(hazard, "ent_metal")
    assert r.status_code == 404
    r = flow.attach(hazard, "admin")
    assert r.status_code == 403
    listed = client.get(f"/api/v1/hazards/{hazard['id']}/attachments", headers=flow.h("officer")).json()["items"]
    assert len(listed) == 2
    body = client.get(
        f"/api/v1/hazards/{hazard['id']}/attachments/{listed[0]['id']}/content", headers=flow.h("officer")
    )
    assert body.status_code == 200 and body.content.startswith(b"\x89PNG")
    assert (
        client.get(
            f"/api/v1/hazards/{hazard['id']}/attachments/{listed[0]['id']}/content", headers=flow.h("ent_metal")
        ).status_code
        == 404
    )


def test_extension_request_and_decision(client, world):
    flow = Flow(client, world)
    hazard = flow.to_state("rectifying")
    url = f"/api/v1/hazards/{hazard['id']}/extensions"
    later = (date.fromisoformat(hazard["deadline"]) + timedelta(days=15)).isoformat()
    r = client.post(url, headers=flow.h("ent_chem"), json={"requested_deadline": hazard["deadline"], "reason": "x"})
    assert r.status_code == 422 and r.json()["code"] == "extension_not_later"
    assert (
        client.post(url, headers=flow.h("officer"), json={"requested_deadline": later, "reason": "x"}).status_code
        == 403
    )
    ext = client.post(url, headers=flow.h("ent_chem"), json={"requested_deadline": later, "reason": "设备到货延迟"})
    assert ext.status_code == 201 and ext.json()["state"] == "pending"
    r = client.post(url, headers=flow.h("ent_chem"), json={"requested_deadline": later, "reason": "again"})
    assert r.status_code == 409 and r.json()["code"] == "extension_pending"
    decide = f"{url}/{ext.json()['id']}/decision"
    assert client.post(decide, headers=flow.h("ent_chem"), json={"decision": "approve"}).status_code == 403
    assert client.post(decide, headers=flow.h("futian_officer"), json={"decision": "approve"}).status_code == 404
    r = client.post(decide, headers=flow.h("officer"), json={"decision": "approve", "note": "同意"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert client.post(decide, headers=flow.h("officer"), json={"decision": "refuse"}).status_code == 409
    got = client.get(f"/api/v1/hazards/{hazard['id']}", headers=flow.h("ent_chem")).json()
    assert got["deadline"] == later and got["version"] == hazard["version"] + 1
    events = client.get(f"/api/v1/hazards/{hazard['id']}/events", headers=flow.h("ent_chem")).json()["items"]
    assert events[-1]["action"] == "extension_approved"
    assert events[-1]["data"] == {"extension_id": ext.json()["id"], "from": hazard["deadline"], "to": later}
