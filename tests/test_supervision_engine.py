"""Time travel: with a fixed `now`, hazards walk past each threshold and the right measure appears once,
on the right working day."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import delete, func, inspect, select
from sqlalchemy.exc import IntegrityError

from hazard_registry.auth.deps import actor_for_user
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.hazards import schemas as hs
from hazard_registry.hazards import service as hazards
from hazard_registry.supervision import service as sup
from hazard_registry.supervision.engine import run_once
from hazard_registry.supervision.models import EscalationRule, SupervisionMeasure, SupervisionTimer
from hazard_registry.workdays import WorkCalendar
from tests.factories import PLAN, PNG

CAL = WorkCalendar()
BODIES = {
    "assign": hs.AssignBody,
    "start_rectification": hs.StartRectificationBody,
    "request_verification": hs.RequestVerificationBody,
    "verify": hs.VerifyBody,
    "fail_verification": hs.FailVerificationBody,
    "close": hs.CloseBody,
}


def at(day: date) -> datetime:
    return datetime.combine(day, time(2), tzinfo=UTC)  # 10:00 in Beijing


class Register:
    """Drives hazards through the real services at chosen moments."""

    def __init__(self, app, world, settings):
        self.app, self.world, self.settings = app, world, settings

    def actor(self, session, name):
        return actor_for_user(session, session.scalar(select(User).where(User.username == name)))

    def report(self, day: date, who="ent_chem") -> int:
        with self.app.state.sessionmaker() as s:
            data = hs.HazardCreate(
                clause_id=self.world.clause_chem,
                title="储罐区紧急切断未投用",
                description="一级重大危险源罐区紧急切断阀处于手动。",
                found_at=day,
            )
            h = hazards.report(s, self.actor(s, who), data, at(day))
            s.commit()
            return h.id

    def act(self, hazard_id: int, day: date, who: str, action: str, **body) -> None:
        with self.app.state.sessionmaker() as s:
            h = s.get(hazards.Hazard, hazard_id)
            if action == "request_verification":
                link, _ = hazards.add_attachment(
                    s,
                    self.actor(s, who),
                    hazard_id,
                    kind="photo_after",
                    filename="after.png",
                    stream=io.BytesIO(PNG),
                    root=self.settings.effective_attachments_dir,
                    max_bytes=self.settings.attachment_max_bytes,
                    allowed_types=self.settings.attachment_types,
                    now=at(day),
                )
                body = {"report": "整改完成", "evaluated_by": "self", "evidence_ids": [link.id], **body}
            parsed = BODIES[action].model_validate({"action": action, "version": h.version, **body})
            hazards.transition(s, self.actor(s, who), hazard_id, parsed, expected_version=h.version, now=at(day))
            s.commit()

    def assign(self, hazard_id: int, day: date, deadline: date) -> None:
        self.act(
            hazard_id, day, "officer", "assign", officer_id=self.world.ids["officer"], deadline=deadline.isoformat()
        )

    def rectify(self, hazard_id: int, day: date, deadline: date) -> None:
        self.act(hazard_id, day, "ent_chem", "start_rectification", plan={**PLAN, "deadline": deadline.isoformat()})

    def sweep(self, day: date):
        return run_once(self.app.state.sessionmaker, at(day))

    def measures(self, hazard_id: int) -> list[SupervisionMeasure]:
        with self.app.state.sessionmaker() as s:
            return list(
                s.scalars(
                    select(SupervisionMeasure)
                    .where(SupervisionMeasure.hazard_id == hazard_id)
                    .order_by(SupervisionMeasure.id)
                )
            )


def test_not_started_letter_falls_on_the_fifth_working_day_counting_a_tiaoxiu_saturday(app, world, settings, db):
    reg = Register(app, world, settings)
    friday = date(2026, 2, 13)
    hid = reg.report(friday)
    reg.assign(hid, friday, deadline=date(2026, 4, 30))
    due = CAL.add_working_days(friday, 5)
    assert due == date(2026, 2, 27), "Sat 14th is worked, the 15th–23rd are Spring Festival"
    assert reg.sweep(date(2026, 2, 26)).proposed == 0
    result = reg.sweep(due)
    assert result.proposed == 1 and result.issued == 1
    [m] = reg.measures(hid)
    assert (m.measure, m.stall, m.target_kind, m.state) == ("warning_letter", "not_started", "enterprise", "issued")
    assert m.target_enterprise_id == world.ids["chem"] and m.document_number.endswith("督〔2026〕1号")
    assert m.rule_version == 1 and m.response_due == date(2026, 3, 9)
    assert reg.sweep(due).proposed == 0 and len(reg.measures(hid)) == 1, "the same stall never twice"


def test_a_regulator_that_does_not_assign_is_supervised_from_above(app, world, settings, db):
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))  # Monday
    reg.sweep(date(2026, 3, 5))  # 3 working days later
    [m] = reg.measures(hid)
    assert (m.stall, m.target_kind, m.target_department_id) == ("not_assigned", "department", world.ids["T-NS-YJ"])
    assert m.issuer == "higher_level" and m.issuer_region_code == "440300" and m.issuer_department_id is None
    assert "安委办督〔2026〕" in m.document_number


def test_overdue_climbs_the_ladder_and_closing_lifts_the_listing(app, world, settings, db):
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 1, 5))
    reg.assign(hid, date(2026, 1, 6), deadline=date(2026, 3, 31))
    reg.rectify(hid, date(2026, 1, 7), deadline=date(2026, 3, 31))
    deadline = date(2026, 3, 31)

    assert reg.sweep(deadline).proposed == 0, "the deadline day itself is not overdue"
    reg.sweep(date(2026, 4, 1))
    assert [(m.measure, m.state) for m in reg.measures(hid) if m.stall == "overdue"] == [("warning_letter", "issued")]

    notice_day = CAL.add_working_days(deadline, 10)
    reg.sweep(CAL.add_working_days(deadline, 9))
    assert not [m for m in reg.measures(hid) if m.measure == "circulated_notice"]
    reg.sweep(notice_day)
    notice = [m for m in reg.measures(hid) if m.measure == "circulated_notice"]
    assert len(notice) == 1 and notice[0].state == "proposed", "通报 waits for an officer's confirmation"

    listing_day = CAL.add_working_days(deadline, 30)
    reg.sweep(CAL.add_working_days(deadline, 29))
    assert not [m for m in reg.measures(hid) if m.measure == "listed_supervision"]
    reg.sweep(listing_day)
    exposure_day = CAL.add_working_days(deadline, 60)
    reg.sweep(exposure_day)
    by = {m.measure: m for m in reg.measures(hid)}
    assert set(by) == {"warning_letter", "circulated_notice", "summons", "listed_supervision", "public_exposure"}

    with app.state.sessionmaker() as s:
        city, chief = reg.actor(s, "city"), reg.actor(s, "chief")
        listing = s.get(SupervisionMeasure, by["listed_supervision"].id)
        assert not sup.can_issue(chief, listing), "挂牌督办 is issued by the level above"
        sup.issue(s, city, listing, at(listing_day), listing.version)
        exposure = s.get(SupervisionMeasure, by["public_exposure"].id)
        sup.issue(s, chief, exposure, at(exposure_day), exposure.version)
        s.commit()
        assert [e["enterprise_name"] for e in sup.public_exposures(s, None, 10, None)[0]] == ["南山测试化工有限公司"]

    later = date(2026, 7, 20)
    reg.act(hid, later, "ent_chem", "request_verification")
    reg.act(hid, later, "officer", "verify", check_record="现场核查合格")
    reg.act(hid, later, "chief", "close")
    after = {m.measure: m for m in reg.measures(hid)}
    assert after["listed_supervision"].state == "resolved" and "摘牌" in after["listed_supervision"].outcome
    assert after["public_exposure"].taken_down_at is not None
    assert after["circulated_notice"].state == "withdrawn", "an unconfirmed proposal dies with its stall"
    with app.state.sessionmaker() as s:
        assert sup.public_exposures(s, None, 10, None) == ([], None)


def test_a_hazard_assigned_and_never_started_climbs_the_overdue_ladder_too(app, world, settings, db):
    """The deadline runs from assignment: a hazard left in `assigned` past its deadline is overdue in the list
    and gets the overdue rungs on the same days as one being rectified (and starting late does not repeat them)."""
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 1, 5))
    deadline = date(2026, 3, 31)
    reg.assign(hid, date(2026, 1, 6), deadline=deadline)

    def overdue_rungs():
        return [(m.measure, m.state) for m in reg.measures(hid) if m.stall == "overdue"]

    reg.sweep(deadline)
    assert overdue_rungs() == [], "the deadline day itself is not overdue"
    reg.sweep(date(2026, 4, 1))
    assert overdue_rungs() == [("warning_letter", "issued")], "函告 the day after the deadline"
    with app.state.sessionmaker() as s:
        h = s.get(hazards.Hazard, hid)
        assert h.state == "assigned"
        assert hazards.to_out(h, reg.actor(s, "officer"), date(2026, 4, 1)).overdue is True

    reg.sweep(CAL.add_working_days(deadline, 9))
    assert [m for m, _ in overdue_rungs()] == ["warning_letter"]
    reg.sweep(CAL.add_working_days(deadline, 10))
    assert overdue_rungs() == [("warning_letter", "issued"), ("circulated_notice", "proposed")], "通报 on day 10"

    late_start = CAL.add_working_days(deadline, 12)
    reg.rectify(hid, late_start, deadline=deadline)
    reg.sweep(late_start)
    assert overdue_rungs() == [("warning_letter", "issued"), ("circulated_notice", "proposed")], (
        "starting late is the same overdue episode: nothing repeated, the 通报 proposal still stands"
    )
    reg.sweep(CAL.add_working_days(deadline, 20))
    assert [m for m, _ in overdue_rungs()] == ["warning_letter", "circulated_notice", "summons"]


def test_revising_a_rule_never_moves_deadlines_already_set(app, world, settings, db):
    reg = Register(app, world, settings)
    first = reg.report(date(2026, 5, 6))
    reg.assign(first, date(2026, 5, 6), deadline=date(2026, 6, 30))
    reg.rectify(first, date(2026, 5, 7), deadline=date(2026, 6, 30))
    with app.state.sessionmaker() as s:
        old = next(r for r in sup.list_rules(s, None, False) if r.key == "default.overdue.notice")
        new = sup.revise_rule(s, SYSTEM, old.id, {"threshold": 3}, at(date(2026, 5, 8)))
        s.commit()
    try:
        second = reg.report(date(2026, 5, 11))
        reg.assign(second, date(2026, 5, 11), deadline=date(2026, 6, 30))
        reg.rectify(second, date(2026, 5, 12), deadline=date(2026, 6, 30))
        with app.state.sessionmaker() as s:
            t1 = s.scalar(
                select(SupervisionTimer).where(SupervisionTimer.hazard_id == first, SupervisionTimer.rule_id == old.id)
            )
            t2 = s.scalar(
                select(SupervisionTimer).where(SupervisionTimer.hazard_id == second, SupervisionTimer.rule_id == new.id)
            )
            assert t1.due_on == CAL.add_working_days(date(2026, 6, 30), 10), "the old deadline stands"
            assert t2.due_on == CAL.add_working_days(date(2026, 6, 30), 3), "new stalls follow version 2"
        reg.sweep(CAL.add_working_days(date(2026, 6, 30), 3))
        [m] = [m for m in reg.measures(second) if m.measure == "circulated_notice"]
        assert m.rule_version == 2 and not [x for x in reg.measures(first) if x.measure == "circulated_notice"]
    finally:
        with app.state.sessionmaker() as s:
            s.execute(delete(SupervisionMeasure).where(SupervisionMeasure.rule_id == new.id))
            s.execute(delete(SupervisionTimer).where(SupervisionTimer.rule_id == new.id))
            s.execute(delete(EscalationRule).where(EscalationRule.id == new.id))
            s.get(EscalationRule, old.id).retired_at = None
            s.commit()


def test_concurrent_sweeps_make_each_measure_once(app, world, settings, db):
    from concurrent.futures import ThreadPoolExecutor

    reg = Register(app, world, settings)
    ids = [reg.report(date(2026, 3, 2)) for _ in range(6)]
    day = date(2026, 3, 20)  # past both not_assigned rungs (3 and 10 working days)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: reg.sweep(day), range(4)))
    assert sum(r.proposed for r in results) == 12
    for hid in ids:
        assert sorted(m.measure for m in reg.measures(hid)) == ["circulated_notice", "warning_letter"]
    numbers = [m.document_number for hid in ids for m in reg.measures(hid) if m.document_number]
    assert len(numbers) == 6 == len(set(numbers)), "each auto-issued letter has its own 文号"
    assert sorted(int(n.split("〕")[1].removesuffix("号")) for n in numbers) == [1, 2, 3, 4, 5, 6], numbers
    assert all(n.startswith("深圳市安委办督〔2026〕") for n in numbers), "the level above numbers what it issues"
    with app.state.sessionmaker() as s:
        letters = [m for hid in ids for m in reg.measures(hid) if m.document_number]
        for m in letters:
            assert [(e.action, e.actor_name, e.note) for e in sup.events(s, m)] == [
                ("issue", "system", m.document_number)
            ]
            assert m.response_due == date(2026, 3, 25) and m.version == 2


def test_measures_through_the_api_scope_and_the_public_list(client, app, world, settings):
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    reg.sweep(date(2026, 3, 20))
    officer = world.headers(client, "officer")
    rows = client.get(f"/api/v1/hazards/{hid}/measures", headers=officer).json()["items"]
    assert sorted(m["measure"] for m in rows) == ["circulated_notice", "warning_letter"]
    notice = next(m for m in rows if m["measure"] == "circulated_notice")
    assert notice["state"] == "proposed" and notice["allowed_actions"] == []
    url = f"/api/v1/measures/{notice['id']}/actions"
    r = client.post(url, headers=officer, json={"action": "issue", "version": notice["version"]})
    assert r.status_code == 403 and r.json()["code"] == "measure_forbidden"
    city = world.headers(client, "city")
    assert client.get(f"/api/v1/measures/{notice['id']}", headers=city).json()["allowed_actions"] == [
        "issue",
        "withdraw",
    ]
    issued = client.post(url, headers=city, json={"action": "issue", "version": notice["version"]})
    assert issued.status_code == 200 and issued.json()["document_number"]
    r = client.post(url, headers=city, json={"action": "issue", "version": notice["version"]})
    assert r.status_code == 409
    assert (
        client.get(f"/api/v1/measures/{notice['id']}", headers=world.headers(client, "futian_officer")).status_code
        == 404
    )
    assert client.get("/api/v1/measures", headers=world.headers(client, "ent_chem")).json()["items"] == [], (
        "a regulator's stall is not the enterprise's business"
    )
    r = client.post(url, headers=officer, json={"action": "acknowledge", "version": issued.json()["version"]})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert client.get("/api/v1/public/exposures").json() == {"items": [], "next_cursor": None}


def test_timers_have_no_foreign_keys_and_their_hazard_cannot_be_deleted(app, world, settings, db):
    """Migration 0021 dropped the timers' keys (each check locked a rule row every report shares, a MultiXact
    apiece under concurrent reports). What they guarded still holds: a hazard cannot be deleted (its events'
    key forbids it, and every hazard has its first event), and the sweep inner-joins rule and hazard."""
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    assert db.scalar(select(func.count()).where(SupervisionTimer.hazard_id == hid)) > 0
    assert inspect(db.get_bind()).get_foreign_keys("supervision_timers") == []
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(delete(hazards.Hazard).where(hazards.Hazard.id == hid))
    db.rollback()
    assert db.get(hazards.Hazard, hid) is not None
