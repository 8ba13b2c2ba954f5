"""Self-inspection duty, regions that lag, rules and holiday tables through the API, and a sweep that dies
half-way."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.reference.models import Enterprise
from hazard_registry.supervision import engine
from hazard_registry.supervision import service as sup
from hazard_registry.supervision.models import MeasureEvent, SupervisionMeasure
from tests.test_supervision_engine import CAL, Register, at


@pytest.fixture
def registered_this_year(app, world):
    """The world's enterprises were created today; the duty only covers periods they existed in."""
    with app.state.sessionmaker() as s:
        ours = [world.ids[k] for k in ("chem", "metal", "build", "futian")]  # other tests add enterprises
        real = dict(s.execute(select(Enterprise.id, Enterprise.created_at).where(Enterprise.id.in_(ours))).all())
        s.execute(
            update(Enterprise)
            .where(Enterprise.id.in_(ours))
            .values(created_at=datetime(2025, 12, 31, 16, tzinfo=UTC))  # 1 January in China
        )
        s.commit()
    yield
    with app.state.sessionmaker() as s:
        for eid, created in real.items():
            s.execute(update(Enterprise).where(Enterprise.id == eid).values(created_at=created))
        s.commit()


def _si_measures(app, enterprise_id: int) -> list[SupervisionMeasure]:
    with app.state.sessionmaker() as s:
        return list(
            s.scalars(
                select(SupervisionMeasure)
                .where(
                    SupervisionMeasure.target_enterprise_id == enterprise_id,
                    SupervisionMeasure.stall == "self_inspection_missed",
                )
                .order_by(SupervisionMeasure.id)
            )
        )


def inspect(client, world, user: str, day: date, principal: bool = True, **extra):
    body = {"inspected_on": day.isoformat(), "led_by": "张三", "led_by_principal": principal, "scope": "全厂"}
    return client.post("/api/v1/self-inspections", headers=world.headers(client, user), json=body | extra)


def test_missed_self_inspections_are_flagged_by_quarter_and_by_month_in_high_risk_industries(
    client, app, world, registered_this_year
):
    # Quarterly: 五金 (工贸) inspected in Q1 led by its principal; 建筑 (房屋市政) recorded nothing.
    # Monthly (危险化学品): 南山化工 led one each month; 福田化工 only one its principal did not lead.
    assert inspect(client, world, "ent_chem", date(2026, 1, 20)).status_code == 201
    assert inspect(client, world, "ent_metal", date(2026, 2, 10)).status_code == 201
    assert inspect(client, world, "ent_chem", date(2026, 2, 5)).status_code == 201
    assert inspect(client, world, "ent_chem", date(2026, 3, 3)).status_code == 201
    assert inspect(client, world, "ent_futian", date(2026, 2, 9), principal=False).status_code == 201
    sweep = lambda day: engine.run_once(app.state.sessionmaker, at(day))  # noqa: E731
    kinds = lambda key: sorted(  # noqa: E731
        (m.dedup_key.split(":")[2], m.measure, m.state) for m in _si_measures(app, world.ids[key])
    )

    assert CAL.add_working_days(date(2026, 2, 28), 10) == date(2026, 3, 13)
    sweep(date(2026, 3, 12))
    assert kinds("futian") == [("2026-01", "warning_letter", "issued")], "February's ten working days still run"
    sweep(date(2026, 3, 13))
    assert kinds("futian") == [("2026-01", "warning_letter", "issued"), ("2026-02", "warning_letter", "issued")]
    assert kinds("chem") == [] and kinds("build") == [] and kinds("metal") == []

    q1_due = CAL.add_working_days(date(2026, 3, 31), 10)
    assert q1_due == date(2026, 4, 15), "清明 (4–6 April) is not counted"
    sweep(q1_due - timedelta(days=1))
    assert kinds("build") == []
    before = len(_si_measures(app, world.ids["futian"]))
    sweep(q1_due)
    [letter] = _si_measures(app, world.ids["build"])
    assert (letter.measure, letter.state, letter.issuer_department_id) == (
        "warning_letter",
        "issued",
        world.ids["T-NS-ZJ"],
    ), "the department leading its sector issues the letter by itself"
    assert letter.reason.endswith("2026Q1未按规定由主要负责人组织开展季度重大事故隐患排查")
    assert kinds("metal") == [] and kinds("chem") == [], "principal-led inspections meet the duty"
    assert sweep(q1_due).proposed == 0, "never twice for one period"
    assert len(_si_measures(app, world.ids["futian"])) == before + 1, "only March's letter is new"

    # Thirty working days after February the summons is proposed (it needs an officer); a late inspection for
    # February withdraws it, and leaves the letter already issued alone.
    assert ("2026-02", "summons", "proposed") in kinds("futian")
    assert inspect(client, world, "ent_futian", date(2026, 2, 27)).status_code == 201
    after = kinds("futian")
    assert ("2026-02", "summons", "withdrawn") in after and ("2026-02", "warning_letter", "issued") in after


def test_self_inspection_records_are_validated_and_scoped(client, app, world):
    tomorrow = clock.today_in_china().replace(year=clock.today_in_china().year + 1)
    r = inspect(client, world, "ent_chem", tomorrow)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = inspect(client, world, "ent_chem", date(2026, 5, 6), hazards_found=0, hazard_ids=[1])
    assert r.status_code == 422, "hazard_ids larger than hazards_found"
    reg = Register(app, world, None)
    theirs = reg.report(date(2026, 5, 6), who="ent_futian")
    r = inspect(client, world, "ent_chem", date(2026, 5, 6), hazards_found=1, hazard_ids=[theirs])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hazard_ids"
    assert inspect(client, world, "officer", date(2026, 5, 6)).status_code == 403
    mine = inspect(client, world, "ent_chem", date(2026, 5, 6)).json()
    url = f"/api/v1/self-inspections/{mine['id']}"
    assert client.get(url, headers=world.headers(client, "officer")).status_code == 200
    assert client.get(url, headers=world.headers(client, "admin")).status_code == 200
    for outsider in ("ent_metal", "futian_officer", "builder", "admin_futian"):
        assert client.get(url, headers=world.headers(client, outsider)).status_code == 404, outsider
        listed = client.get("/api/v1/self-inspections", headers=world.headers(client, outsider)).json()["items"]
        assert mine["id"] not in [x["id"] for x in listed], outsider


def test_a_county_with_too_many_overdue_hazards_is_supervised_by_the_city(client, app, world, settings):
    reg = Register(app, world, settings)
    for _ in range(2):
        hid = reg.report(date(2026, 3, 2))
        reg.assign(hid, date(2026, 3, 3), deadline=date(2026, 3, 10))
    day = date(2026, 3, 20)
    engine.run_once(app.state.sessionmaker, at(day))
    assert engine.run_once(app.state.sessionmaker, at(day)).proposed == 0
    with app.state.sessionmaker() as s:
        rows = s.scalars(select(SupervisionMeasure).where(SupervisionMeasure.target_kind == "region")).all()
        county = {m.target_region_code: m for m in rows}["440305"]
        assert (county.stall, county.measure, county.state) == ("region_overdue_share", "warning_letter", "proposed")
        assert county.issuer_region_code == "440300" and county.sector_code is None
        assert "逾期未整改占比100%（2/2项）" in county.reason
        assert {m.target_region_code for m in rows} == {"440305", "440300"}, "the city lags too, for Guangdong"
    admin = world.headers(client, "admin")  # 南山区 administrator: the target, not the issuer
    seen = client.get(f"/api/v1/measures/{county.id}", headers=admin).json()
    assert (seen["target_kind"] == "region" and seen["allowed_actions"] == ["withdraw"]) or seen[
        "allowed_actions"
    ] == []
    assert client.get(f"/api/v1/measures/{county.id}", headers=world.headers(client, "officer")).status_code == 404
    with app.state.sessionmaker() as s:
        m = s.get(SupervisionMeasure, county.id)
        sup.issue(s, SYSTEM, m, at(day), m.version)
        s.commit()
    r = client.post(
        f"/api/v1/measures/{county.id}/actions",
        headers={**admin, "If-Match": f'"{m.version}"'},
        json={"action": "acknowledge"},
    )
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"


@pytest.fixture
def rules_restored(app):
    """Rules are not wiped between tests: remove what a test added."""
    from hazard_registry.supervision.models import EscalationRule

    with app.state.sessionmaker() as s:
        before = set(s.scalars(select(EscalationRule.id)))
    yield
    with app.state.sessionmaker() as s:
        s.execute(EscalationRule.__table__.delete().where(EscalationRule.id.not_in(before)))
        s.commit()


def test_rules_through_the_api(client, world, rules_restored):
    admin = world.headers(client, "admin")
    body = {
        "key": "nanshan.overdue.letter",
        "region_code": "440305",
        "stall": "overdue",
        "threshold": 3,
        "measure": "warning_letter",
        "needs_confirmation": False,
    }
    r = client.post("/api/v1/escalation-rules", headers=admin, json=body)
    assert r.status_code == 201 and r.json()["version"] == 1, r.text
    rid = r.json()["id"]
    assert client.post("/api/v1/escalation-rules", headers=admin, json=body).status_code == 409
    r = client.post("/api/v1/escalation-rules", headers=admin, json=body | {"key": "x.y.z", "region_code": "440304"})
    assert r.status_code == 403, "another district's rules are not this administrator's"
    r = client.post("/api/v1/escalation-rules", headers=world.headers(client, "chief"), json=body | {"key": "a.b.c"})
    assert r.status_code == 403
    r = client.post(
        "/api/v1/escalation-rules", headers=admin, json=body | {"stall": "region_overdue_share", "threshold": 150}
    )
    assert r.status_code == 422
    assert client.get("/api/v1/escalation-rules", headers=world.headers(client, "ent_chem")).status_code == 403
    r = client.post(f"/api/v1/escalation-rules/{rid}/revisions", headers=admin, json={"threshold": 5})
    assert r.status_code == 201 and (r.json()["version"], r.json()["threshold"]) == (2, 5)
    assert (
        client.post(f"/api/v1/escalation-rules/{rid}/revisions", headers=admin, json={"threshold": 6}).status_code
        == 409
    )
    listed = client.get("/api/v1/escalation-rules?region=440305", headers=world.headers(client, "officer")).json()[
        "items"
    ]
    mine = [x for x in listed if x["key"] == "nanshan.overdue.letter"]
    assert [x["version"] for x in mine] == [2], "retired versions only on request"
    assert any(x["region_code"] is None and x["stall"] == "self_inspection_missed" for x in listed)


def test_holiday_tables_through_the_api(client, app, world, settings):
    admin = world.headers(client, "admin")
    y2026 = client.get("/api/v1/calendar/2026", headers=admin).json()
    assert y2026["source"] == "chinese-calendar"
    assert date(2026, 2, 14).isoformat() in y2026["workdays"] and "2026-10-01" in y2026["holidays"]
    r = client.get("/api/v1/calendar/2027", headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "calendar_year_unknown"
    # A hazard rectifying towards a 2027 deadline waits for the table, then gets its due days.
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 11, 2))
    reg.assign(hid, date(2026, 11, 3), deadline=date(2026, 12, 31))
    reg.rectify(hid, date(2026, 11, 4), deadline=date(2026, 12, 31))
    table = {
        "holidays": ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
        "workdays": ["2027-02-06"],
        "source": "测试用假日安排",
    }
    assert client.put("/api/v1/calendar/2027", headers=world.headers(client, "chief"), json=table).status_code == 403
    # The holiday table moves deadlines in every province: a district's administrator may not replace it.
    r = client.put("/api/v1/calendar/2027", headers=admin, json=table)
    assert r.status_code == 403 and r.json()["code"] == "national_admin_required"
    national = world.headers(client, "national")
    bad = client.put("/api/v1/calendar/2027", headers=national, json=table | {"workdays": ["2026-02-06"]})
    assert bad.status_code == 422 and bad.json()["code"] == "calendar_invalid"
    r = client.put("/api/v1/calendar/2027", headers=national, json=table)
    assert r.status_code == 200 and r.json()["timers_updated"] >= 1 and r.json()["source"] == "测试用假日安排"
    assert client.get("/api/v1/calendar/2027", headers=admin).json()["workdays"] == ["2027-02-06"]


def test_a_sweep_killed_half_way_is_finished_by_the_next_one_with_nothing_doubled(
    app, world, settings, db, monkeypatch
):
    reg = Register(app, world, settings)
    ids = [reg.report(date(2026, 3, 2)) for _ in range(4)]
    day = date(2026, 3, 6)  # the 3-working-day letters are due and issue by themselves
    real, calls = engine.issue_many, []

    def dies_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "issue_many", dies_on_the_second_batch)
    monkeypatch.setattr(engine, "_auto_issue", lambda f, now, batch=1, _orig=engine._auto_issue: _orig(f, now, 1))
    with pytest.raises(KeyboardInterrupt):
        engine.run_once(app.state.sessionmaker, at(day))
    monkeypatch.setattr(engine, "issue_many", real)
    again = engine.run_once(app.state.sessionmaker, at(day))
    assert (again.proposed, again.issued) == (0, 3), "proposals survived; the batches that died are issued now"
    with app.state.sessionmaker() as s:
        letters = s.scalars(select(SupervisionMeasure).where(SupervisionMeasure.hazard_id.in_(ids))).all()
        assert len(letters) == 4 and {m.state for m in letters} == {"issued"}
        numbers = sorted(int(m.document_number.split("〕")[1][:-1]) for m in letters)
        assert numbers == [1, 2, 3, 4], "no 文号 lost or given twice"
        events = s.scalars(select(MeasureEvent.measure_id).where(MeasureEvent.action == "issue")).all()
        assert sorted(events) == sorted(m.id for m in letters)


def test_activity_figures_measures_by_rung_inspection_compliance_and_complaints(
    client, app, world, settings, registered_this_year
):
    from tests.test_complaints import Desk

    # Q1 2026: 南山化工 (high-risk) led one every month, 五金 one in the quarter, 建筑 none; 福田化工 one only.
    for user, day in [("ent_chem", 1), ("ent_chem", 2), ("ent_chem", 3), ("ent_metal", 2), ("ent_futian", 2)]:
        assert inspect(client, world, user, date(2026, day, 10)).status_code == 201
    reg = Register(app, world, settings)
    reg.report(date(2026, 3, 2))
    engine.run_once(app.state.sessionmaker, at(date(2026, 3, 20)))  # not assigned: 函告 issued, 通报 proposed
    d = Desk(client, world)
    for _ in range(2):
        d.submit()
    first = d.ok(d.only(), "accept")
    hazard = {"enterprise_id": world.ids["chem"], "clause_id": world.clause_chem, "title": "联锁被短接",
              "description": "现场核查属实。", "found_at": clock.today_in_china().isoformat()}  # fmt: skip
    d.ok(first, "conclude", outcome="substantiated", finding="查实", hazard=hazard)

    def activity(user: str, **params):
        r = client.get("/api/v1/statistics/activity", headers=world.headers(client, user), params=params)
        assert r.status_code == 200, r.text
        return r.json()

    a = activity("officer", as_of="2026-04-20")
    rungs = {m["measure"]: m for m in a["measures"]}
    assert (rungs["warning_letter"]["issued"], rungs["warning_letter"]["standing"]) == (1, 1)
    assert rungs["circulated_notice"]["awaiting_confirmation"] == 1 and rungs["summons"]["issued"] == 0
    assert activity("officer", as_of="2026-03-19")["measures"][0]["issued"] == 0, "as of before the sweep"
    si = a["self_inspection"]
    assert (si["quarter"], si["obliged"], si["complied"]) == ("2026Q1", 2, 2), "化工 and 五金: the sectors it leads"
    nanshan = activity("admin", as_of="2026-04-20")["self_inspection"]
    assert (nanshan["obliged"], nanshan["complied"], nanshan["rate"]) == (3, 2, 0.6667), "建筑 recorded none"
    futian = activity("admin_futian", as_of="2026-04-20")["self_inspection"]
    assert (futian["obliged"], futian["complied"]) == (1, 0), "high-risk: one month of three is not enough"
    assert activity("ent_chem", as_of="2026-04-20")["self_inspection"]["obliged"] == 1
    today = activity("officer")["complaints"]
    assert (today["received"], today["accepted"], today["substantiated"]) == (2, 1, 1)
    assert activity("ent_chem")["complaints"]["received"] == 0, "complaints are never the enterprise's to count"
    assert activity("admin_futian")["complaints"]["received"] == 0


def test_late_quarterly_statistics_are_a_stall_of_the_enterprise(client, app, world, registered_this_year):
    body = {"period": "2026Q1", "confirmed_by_name": "张三"}
    r = client.post("/api/v1/filings", json=body, headers=world.headers(client, "ent_chem"))
    assert r.status_code == 201, r.text

    def late():
        with app.state.sessionmaker() as s:
            return s.scalars(select(SupervisionMeasure).where(SupervisionMeasure.stall == "filing_late")).all()

    due = CAL.add_working_days(date(2026, 4, 15), 5)  # Q1 is due on 15 April; the rule waits 5 working days
    assert due == date(2026, 4, 22)
    engine.run_once(app.state.sessionmaker, at(due - timedelta(days=1)))
    assert late() == []
    engine.run_once(app.state.sessionmaker, at(due))
    first = late()
    owing = sorted(world.ids[k] for k in ("metal", "build", "futian"))
    assert sorted(m.target_enterprise_id for m in first) == owing, "南山化工 filed"
    assert all(m.state == "issued" and "未按期报送2026Q1季度重大事故隐患统计报表" in m.reason for m in first)
    engine.run_once(app.state.sessionmaker, at(due))
    assert len(late()) == 3


def test_a_complaint_past_its_sixty_days_is_a_stall_of_the_department(client, app, world):
    from tests.test_complaints import Desk

    d = Desk(client, world)
    d.submit(reporter={"name": "李四", "phone": "13900139000"})
    c = d.ok(d.only(), "accept")
    due = date.fromisoformat(c["handling_due_on"])
    engine.run_once(app.state.sessionmaker, at(due))
    with app.state.sessionmaker() as s:
        stalled = select(SupervisionMeasure).where(SupervisionMeasure.stall == "complaint_late")
        assert s.scalars(stalled).all() == [], "the 60th day is not late"
    engine.run_once(app.state.sessionmaker, at(due + timedelta(days=1)))
    with app.state.sessionmaker() as s:
        [m] = s.scalars(select(SupervisionMeasure).where(SupervisionMeasure.stall == "complaint_late")).all()
        assert (m.target_kind, m.target_department_id, m.issuer_region_code) == (
            "department",
            world.ids["T-NS-YJ"],
            "440300",
        )
        assert m.state == "issued" and f"第{c['id']}号" in m.reason and "李四" not in m.reason


def test_two_authorities_of_the_same_name_each_number_their_own_documents(app, world, db):
    # 重庆市 is the name of two prefecture-level regions (500100, 500200): each 安委办 starts at 1号.
    with app.state.sessionmaker() as s:
        ids = []
        for code in ("500100", "500200"):
            m = SupervisionMeasure(
                dedup_key=f"r{code}:test", measure="warning_letter", rung=1, stall="region_overdue_share",
                target_kind="region", target_region_code=code, issuer="higher_level", issuer_region_code=code,
                reason="测试", proposed_at=at(date(2026, 5, 6)), needs_confirmation=False,
            )  # fmt: skip
            s.add(m)
            s.flush()
            ids.append(m.id)
        assert sup.issue_many(s, SYSTEM, ids, at(date(2026, 5, 6))) == 2
        s.commit()
        s.expire_all()
        issued = [s.get(SupervisionMeasure, i) for i in ids]
        assert [m.document_number for m in issued] == ["重庆市安委办督〔2026〕1号"] * 2
        assert [m.document_authority for m in issued] == ["R500100", "R500200"]
