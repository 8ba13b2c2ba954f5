"""Public complaints (举报): a complaint's whole life through the API, and the paths that leave it early."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hazard_registry import clock
from hazard_registry.auth.models import User
from hazard_registry.complaints.crypto import ALPHABET
from hazard_registry.complaints.models import Complaint
from tests.factories import NANSHAN, World, uscc

CHEM_USCC = uscc("91440300MA5T00001")


def complaint_body(**over: Any) -> dict[str, Any]:
    body = {
        "title": "化工厂夜间偷偷进料，联锁被拆",
        "description": "晚上十点后硝化车间仍在进料，温度联锁被短接，工人说报警器一直响。",
        "region_code": NANSHAN,
        "enterprise_uscc": CHEM_USCC,
        "address": "南山区测试路1号",
        "observed_on": (clock.today_in_china() - timedelta(days=2)).isoformat(),
    }
    body.update(over)
    return body


class Desk:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world

    def h(self, username: str) -> dict[str, str]:
        return self.world.headers(self.client, username)

    def submit(self, **over: Any) -> str:
        r = self.client.post("/api/v1/complaints", json=complaint_body(**over))
        assert r.status_code == 201, r.text
        return r.json()["receipt_code"]

    def mine(self, receipt: str) -> dict[str, Any]:
        r = self.client.get("/api/v1/complaints/mine", headers={"X-Complaint-Receipt": receipt})
        assert r.status_code == 200, r.text
        return r.json()

    def only(self, username: str = "officer") -> dict[str, Any]:
        r = self.client.get("/api/v1/complaints", headers=self.h(username))
        assert r.status_code == 200, r.text
        return r.json()["items"][0]

    def act(self, c: dict[str, Any], action: str, username: str = "officer", **body: Any):
        payload = {"action": action, "version": c["version"], **body}
        return self.client.post(f"/api/v1/complaints/{c['id']}/transitions", json=payload, headers=self.h(username))

    def ok(self, c: dict[str, Any], action: str, username: str = "officer", **body: Any) -> dict[str, Any]:
        r = self.act(c, action, username, **body)
        assert r.status_code == 200, r.text
        return r.json()


def test_whole_life_anonymous_to_reward_paid(client, world):
    d = Desk(client, world)
    receipt = d.submit()
    assert re.fullmatch(rf"[{ALPHABET}]{{4}}(-[{ALPHABET}]{{4}}){{3}}", receipt)
    assert d.mine(receipt)["status"] == "received"

    c = d.only()  # routed to the Nanshan emergency bureau: chemicals, 南山
    assert c["department_id"] == world.ids["T-NS-YJ"] and c["anonymous"] is True and c["channel"] == "web"
    assert c["enterprise_id"] == world.ids["chem"]
    c = d.ok(c, "accept")
    assert c["handling_due_on"] == (clock.today_in_china() + timedelta(days=60)).isoformat()

    r = client.post(
        f"/api/v1/complaints/{c['id']}/messages",
        json={"kind": "question", "body": "请问进料大约几点开始？"},
        headers=d.h("officer"),
    )
    assert r.status_code == 201
    client.post(
        f"/api/v1/complaints/{c['id']}/messages", json={"kind": "note", "body": "内部：先暗访"}, headers=d.h("officer")
    )
    seen = d.mine(receipt)
    assert seen["status"] == "in_progress"
    assert [m["body"] for m in seen["messages"]] == ["请问进料大约几点开始？"]  # the internal note is not shown
    assert "officer" not in str(seen)
    r = client.post(
        "/api/v1/complaints/mine/messages", json={"body": "晚上十点左右"}, headers={"X-Complaint-Receipt": receipt}
    )
    assert r.status_code == 200
    msgs = client.get(f"/api/v1/complaints/{c['id']}/messages", headers=d.h("officer")).json()["items"]
    assert msgs[-1]["direction"] == "from_reporter" and msgs[-1]["body"] == "晚上十点左右"

    hazard = {
        "enterprise_id": world.ids["chem"],
        "clause_id": world.clause_chem,
        "title": "硝化工艺联锁被短接",
        "description": "现场核查：温度与进料联锁被短接。",
        "found_at": clock.today_in_china().isoformat(),
    }
    c = d.ok(c, "conclude", outcome="substantiated", finding="查实", hazard=hazard)
    assert c["state"] == "concluded" and c["hazard_id"]
    assert d.mine(receipt)["status"] == "in_progress"  # concluded internally, not yet told
    h = client.get(f"/api/v1/hazards/{c['hazard_id']}", headers=d.h("officer")).json()
    assert h["source"] == "public_report" and h["state"] == "reported"
    events = client.get(f"/api/v1/hazards/{c['hazard_id']}/events", headers=d.h("officer")).json()["items"]
    assert events[0]["action"] == "report"

    c = d.ok(c, "reply", reply="经核查情况属实，已立案并责令整改。")
    seen = d.mine(receipt)
    assert seen["status"] == "answered" and seen["messages"][-1]["body"].startswith("经核查情况属实")

    r = client.post(
        f"/api/v1/complaints/{c['id']}/reward", json={"basis": "fine", "fine_yuan": "100000"}, headers=d.h("officer")
    )
    assert r.status_code == 201, r.text
    assert r.json()["amount_fen"] == 1_500_000 and r.json()["amount_yuan"] == "15000.00"
    assert client.post(f"/api/v1/complaints/{c['id']}/reward/approval", headers=d.h("officer")).status_code == 403
    r = client.post(f"/api/v1/complaints/{c['id']}/reward/approval", headers=d.h("chief"))
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert d.mine(receipt)["reward"] == {"amount_yuan": "15000.00", "status": "approved"}

    claim = {"payee_name": "王五", "bank": "中国银行深圳分行", "account": "6217000000000001"}
    r = client.post("/api/v1/complaints/mine/reward-claim", json=claim, headers={"X-Complaint-Receipt": receipt})
    assert r.status_code == 200 and r.json()["reward"]["status"] == "claimed"
    queue = client.get("/api/v1/complaints/rewards/to-pay", headers=d.h("admin")).json()["items"]
    assert len(queue) == 1 and queue[0]["payee"] == claim
    assert "description" not in queue[0] and "title" not in queue[0]
    r = client.post(
        f"/api/v1/complaints/rewards/{queue[0]['id']}/payment",
        json={"payment_reference": "PAY-2026-0001"},
        headers=d.h("admin"),
    )
    assert r.status_code == 200 and r.json()["state"] == "paid"
    assert d.mine(receipt)["reward"]["status"] == "paid"


def test_refusal_is_told_to_the_reporter_with_its_reason(client, world):
    d = Desk(client, world)
    receipt = d.submit()
    c = d.only()
    r = d.act(c, "refuse", reason="because", reply="x")
    assert r.status_code == 422
    c = d.ok(c, "refuse", reason="outside_scope", reply="不属于安全生产举报范围，请向市场监管部门反映。")
    assert c["state"] == "refused" and c["refusal_reason"] == "outside_scope"
    seen = d.mine(receipt)
    assert seen["status"] == "not_accepted" and "市场监管" in seen["messages"][-1]["body"]
    assert seen["can_answer"] is False
    assert d.act(c, "accept").status_code == 409


def test_transfer_moves_the_complaint_to_another_department(client, world):
    d = Desk(client, world)
    d.submit()
    c = d.only()
    c = d.ok(c, "transfer", department_id=world.ids["T-NS-ZJ"])
    assert c["department_id"] == world.ids["T-NS-ZJ"]
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=d.h("officer")).status_code == 404
    assert client.get(f"/api/v1/complaints/{c['id']}", headers=d.h("builder")).status_code == 200


def test_merge_into_an_earlier_complaint_suggested_as_duplicate(client, world):
    d = Desk(client, world)
    d.submit()
    second = d.submit(title="化工厂晚上偷偷进料", enterprise_uscc=None, enterprise_name="南山测试化工有限公司")
    items = client.get("/api/v1/complaints", headers=d.h("officer")).json()["items"]
    newer, older = items[0], items[1]
    sugg = client.get(f"/api/v1/complaints/{newer['id']}/duplicates", headers=d.h("officer")).json()["items"]
    assert [s["id"] for s in sugg] == [older["id"]] and sugg[0]["same_address"]
    assert d.act(older, "merge", into_id=newer["id"]).status_code == 409  # only into an earlier one
    c = d.ok(newer, "merge", into_id=older["id"])
    assert c["state"] == "merged" and c["merged_into_id"] == older["id"]
    assert d.mine(second)["status"] == "handled_with_another_report"


def test_recheck_once_after_the_answer(client, world):
    d = Desk(client, world)
    receipt = d.submit()
    c = d.ok(d.only(), "accept")
    rh = {"X-Complaint-Receipt": receipt}
    assert client.post("/api/v1/complaints/mine/recheck", json={"reason": "还没答复"}, headers=rh).status_code == 409
    c = d.ok(c, "conclude", outcome="unsubstantiated", finding="现场未发现进料")
    c = d.ok(c, "reply", reply="经核查，未发现所反映问题。")
    assert d.mine(receipt)["can_request_recheck"] is True
    r = client.post("/api/v1/complaints/mine/recheck", json={"reason": "他们白天停、晚上开"}, headers=rh)
    assert r.status_code == 200 and r.json()["status"] == "recheck_requested"
    c = client.get(f"/api/v1/complaints/{c['id']}", headers=d.h("officer")).json()
    c = d.ok(c, "start_recheck")
    assert c["state"] == "accepted" and c["rechecks"] == 1 and c["outcome"] is None
    c = d.ok(c, "conclude", outcome="general_violation", finding="夜查发现违规进料，一般违法行为")
    c = d.ok(c, "reply", reply="复查发现违规行为，已依法处理。")
    assert d.mine(receipt)["can_request_recheck"] is False
    r = client.post("/api/v1/complaints/mine/recheck", json={"reason": "再查"}, headers=rh)
    assert r.status_code == 409 and r.json()["code"] == "recheck_limit"


def test_employee_of_the_target_must_give_a_name(client, world):
    r = client.post("/api/v1/complaints", json=complaint_body(reporter={"employee_of_target": True}))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = client.post("/api/v1/complaints", json=complaint_body(region_code="999999"))
    assert r.status_code == 422
    r = client.post("/api/v1/complaints", json=complaint_body(enterprise_uscc=None, address=None))
    assert r.status_code == 422 and r.json()["code"] == "target_required"
    r = client.post("/api/v1/complaints", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_intake_staff_enter_hotline_complaints_with_channel(client, world, db):
    d = Desk(client, world)
    body = complaint_body(channel="hotline_12350", reporter={"phone": "13900000000"})
    r = client.post("/api/v1/complaints/intake", json=body, headers=d.h("officer2"))
    assert r.status_code == 403 and r.json()["code"] == "intake_right_required"
    r = client.post("/api/v1/complaints/intake", json=body, headers=d.h("ent_chem"))
    assert r.status_code == 403
    db.execute(update(User).where(User.username == "officer2").values(can_take_complaints=True))
    db.commit()
    try:
        r = client.post("/api/v1/complaints/intake", json=body, headers=d.h("officer2"))
        assert r.status_code == 201, r.text
        assert d.mine(r.json()["receipt_code"])["status"] == "received"
        c = d.only()
        assert c["channel"] == "hotline_12350" and c["anonymous"] is False
        assert "13900000000" not in str(c)
    finally:
        db.execute(update(User).where(User.username == "officer2").values(can_take_complaints=False))
        db.commit()


def test_deadlines_sixty_days_one_extension(client, world, db):
    d = Desk(client, world)
    d.submit()
    c = d.ok(d.only(), "accept")
    r = d.act(c, "extend", days=31, reason="需要检测")
    assert r.status_code == 422
    c = d.ok(c, "extend", days=30, reason="需要第三方检测")
    assert c["handling_due_on"] == (clock.today_in_china() + timedelta(days=90)).isoformat()
    r = d.act(c, "extend", days=5, reason="再延")
    assert r.status_code == 409 and r.json()["code"] == "already_extended"
    row = db.scalar(select(Complaint))
    assert row.handling_due_on == clock.today_in_china() + timedelta(days=90)
