# ruff: noqa: F811 (the fixtures imported from test_notices are parameters here)
"""Reminders before a deadline, at fixed dates: each rule's own offset, once per deadline, nearest region wins."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select

from hazard_registry import clock
from hazard_registry.hazards.models import Hazard
from hazard_registry.notices.deliver import deliver_due
from hazard_registry.notices.models import Notice, ReminderRule
from hazard_registry.notices.outbox import Channels
from hazard_registry.notices.reminders import queue_reminders
from hazard_registry.statistics.periods import quarter_containing
from hazard_registry.supervision import inspections
from hazard_registry.workdays import WorkCalendar
from tests.test_complaints import Desk
from tests.test_notices import OFFICER, PRINCIPAL, channels_on, contacts, hook, smtp  # noqa: F401 (fixtures)
from tests.test_supervision_engine import Register, at

BOTH = Channels(email=True, webhook=True)
CAL = WorkCalendar()
DEADLINE = date(2026, 4, 30)  # a Thursday before the Labour Day holiday

TAGS = {
    "rectification": "【整改期限提醒】",
    "filing": "【报表提醒】",
    "inspection": "【自查提醒】",
    "complaint": "【举报办理提醒】",
}


def first_day(deadline: date, working_days: int) -> date:
    """The first day from which ``deadline`` is within ``working_days`` working days."""
    day = deadline
    while CAL.add_working_days(day - timedelta(days=1), working_days) >= deadline:
        day -= timedelta(days=1)
    return day


def reminders(app, kind: str) -> list[Notice]:
    with app.state.sessionmaker() as s:
        stmt = select(Notice).where(Notice.action == "remind", Notice.subject.startswith(TAGS[kind]))
        return list(s.scalars(stmt.order_by(Notice.id)))


def remind(app, day: date, kind: str) -> int:
    """Queue what is due on ``day`` (every kind, as the worker does); how many new reminders of ``kind``."""
    before = len(reminders(app, kind))
    with app.state.sessionmaker() as s:
        queue_reminders(s, at(day), BOTH)
        s.commit()
    return len(reminders(app, kind)) - before


@pytest.fixture
def regional_rule(app):
    """A rule of Nanshan's own, removed after the test (rules are reference data, not wiped)."""
    made: list[int] = []

    def make(**values) -> None:
        with app.state.sessionmaker() as s:
            rule = ReminderRule(**values)
            s.add(rule)
            s.commit()
            made.append(rule.id)

    yield make
    with app.state.sessionmaker() as s:
        s.execute(delete(Notice).where(Notice.action == "remind"))
        s.execute(delete(ReminderRule).where(ReminderRule.id.in_(made)))
        s.commit()


def test_a_rectification_deadline_is_reminded_five_working_days_ahead_once(app, world, settings, db, contacts):
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    reg.assign(hid, date(2026, 3, 2), deadline=DEADLINE)
    # 26 April 2026 is a Sunday worked for Labour Day (调休): five working days before the 30th is the 23rd.
    first = date(2026, 4, 23)
    assert CAL.add_working_days(first, 5) >= DEADLINE > CAL.add_working_days(first - timedelta(days=1), 5)
    assert remind(app, first - timedelta(days=1), "rectification") == 0
    assert first_day(DEADLINE, 5) == first
    assert remind(app, first, "rectification") == 4, "principal and officer, by e-mail and webhook"
    assert remind(app, first, "rectification") == 0, "once per deadline"
    assert remind(app, date(2026, 4, 29), "rectification") == 0
    notes = reminders(app, "rectification")
    principal = next(n for n in notes if n.recipient_role == "enterprise_principal" and n.channel == "email")
    assert principal.address == PRINCIPAL and principal.measure_id is None
    assert "整改期限 2026-04-30" in principal.subject
    assert "南山测试化工有限公司的重大事故隐患" in principal.body and "整改期限为 2026-04-30" in principal.body
    officer = next(n for n in notes if n.recipient_role == "officer")
    assert officer.address == OFFICER and "抄送" in officer.body
    assert remind(app, date(2026, 5, 6), "rectification") == 0, "nothing once the deadline has passed"


def test_an_extended_deadline_is_reminded_again(app, world, settings, db, contacts):
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    reg.assign(hid, date(2026, 3, 2), deadline=DEADLINE)
    assert remind(app, date(2026, 4, 23), "rectification") == 4
    with app.state.sessionmaker() as s:
        h = s.get(Hazard, hid)
        h.deadline = date(2026, 5, 29)  # as an approved extension leaves it
        s.commit()
    assert remind(app, date(2026, 4, 24), "rectification") == 0
    assert remind(app, first_day(date(2026, 5, 29), 5) - timedelta(days=1), "rectification") == 0
    assert remind(app, first_day(date(2026, 5, 29), 5), "rectification") == 4


def test_a_regions_own_rule_replaces_the_national_one(app, world, settings, db, contacts, regional_rule):
    regional_rule(key="440305.rectification.10wd", region_code="440305", kind="rectification_deadline",
                  days_before=10, working_days=True, active=True)  # fmt: skip
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    reg.assign(hid, date(2026, 3, 2), deadline=DEADLINE)
    ten = first_day(DEADLINE, 10)
    assert ten == date(2026, 4, 16)
    assert remind(app, ten - timedelta(days=1), "rectification") == 0
    assert remind(app, ten, "rectification") == 4, "ten working days ahead in Nanshan"
    assert remind(app, date(2026, 4, 23), "rectification") == 0, "the national five-day rule does not apply to Nanshan"
    keys = {n.dedup_key.split(":")[0] for n in reminders(app, "rectification")}
    assert len(keys) == 1


def test_a_quarterly_filing_due_is_reminded_to_each_enterprise_not_yet_filed(
    app, world, settings, db, contacts, regional_rule
):
    # The quarter the world's enterprises were registered in; Nanshan reminds ten calendar days ahead.
    regional_rule(key="440305.filing.10d", region_code="440305", kind="filing_due", days_before=10,
                  working_days=False, active=True)  # fmt: skip
    quarter = quarter_containing(clock.today_in_china())
    first = quarter.due_on - timedelta(days=10)
    assert remind(app, first - timedelta(days=1), "filing") == 0
    queued = remind(app, first, "filing")
    notes = reminders(app, "filing")
    assert queued >= 4, "Nanshan's enterprises by webhook (their phones), chem also by e-mail"
    assert {n.region_code for n in notes} == {"440305"}, "Futian keeps the national five working days"
    chem = [n for n in notes if n.address == PRINCIPAL and n.channel == "email"]
    assert len(chem) == 1 and quarter.code in chem[0].subject and quarter.due_on.isoformat() in chem[0].body
    assert remind(app, first + timedelta(days=1), "filing") == 0


def test_a_self_inspection_period_ending_is_reminded_unless_one_is_recorded(app, world, settings, db, contacts):
    with app.state.sessionmaker() as s:
        inspections.record(
            s,
            Register(app, world, settings).actor(s, "ent_chem"),
            inspections.SelfInspectionCreate(
                inspected_on=date(2026, 3, 10), led_by="张三", led_by_principal=True, scope="全厂"
            ),
            at(date(2026, 3, 10)),
        )
        s.commit()
    assert remind(app, date(2026, 3, 20), "inspection") == 0, "ten calendar days before the period ends on 31 March"
    assert remind(app, date(2026, 3, 21), "inspection") > 0
    notes = reminders(app, "inspection")
    assert notes and all("自查" in n.subject for n in notes)
    assert not [n for n in notes if n.address == PRINCIPAL], "chem's principal led one this period"


def test_a_complaints_handling_deadline_is_reminded_to_the_handling_department(
    client, app, world, contacts, regional_rule
):
    # Sixty days from today may fall in a year whose holiday table is not out yet: a calendar-day rule.
    regional_rule(key="440305.complaint.7d", region_code="440305", kind="complaint_due", days_before=7,
                  working_days=False, active=True)  # fmt: skip
    d = Desk(client, world)
    d.submit()
    c = d.ok(d.only(), "accept")
    due = date.fromisoformat(c["handling_due_on"])
    first = due - timedelta(days=7)
    assert remind(app, first - timedelta(days=1), "complaint") == 0
    assert remind(app, first, "complaint") == 2, "the department head by e-mail and webhook"
    [mail, _hook] = reminders(app, "complaint")
    assert mail.recipient_role == "department_head" and f"举报件第{c['id']}号" in mail.subject
    assert "化工厂" not in mail.body, "the text names the case, not what the reporter wrote"


def test_a_reminder_is_delivered_through_the_webhook(app, world, settings, db, channels_on, contacts, hook):
    reg = Register(app, world, settings)
    hid = reg.report(date(2026, 3, 2))
    reg.assign(hid, date(2026, 3, 2), deadline=DEADLINE)
    with app.state.sessionmaker() as s:
        queued = queue_reminders(s, at(date(2026, 4, 23)))  # the channels the app's settings turn on
        s.commit()
    result = deliver_due(app.state.sessionmaker, settings, at(date(2026, 4, 23)))
    assert result.sent == queued and queued >= 3
    payloads = [(h, json.loads(b)) for h, b in hook.accepted]
    [(headers, payload)] = [
        (h, p)
        for h, p in payloads
        if p["subject"].startswith(TAGS["rectification"]) and p["recipient"]["role"] == "enterprise_principal"
    ]
    assert payload["action"] == "remind" and payload["measure"] is None
    assert payload["recipient"]["email"] == PRINCIPAL and "2026-04-30" in payload["body"]
    assert headers["X-Hazard-Notice-Id"] == payload["notice_id"] and payload["notice_id"].startswith("r")
    assert {n.status for n in reminders(app, "rectification")} == {"sent"}


def test_an_administrator_sets_reminder_rules_for_their_own_region_only(client, app, world):
    admin = world.headers(client, "admin")
    body = {"key": "440305.filing.3wd", "region_code": "440305", "kind": "filing_due", "days_before": 3}
    try:
        r = client.post("/api/v1/reminder-rules", json=body, headers=world.headers(client, "admin_futian"))
        assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
        r = client.post("/api/v1/reminder-rules", json=body, headers=admin)
        assert r.status_code == 201 and r.json()["working_days"] is True
        rid = r.json()["id"]
        assert client.post("/api/v1/reminder-rules", json=body, headers=admin).status_code == 409
        r = client.patch(f"/api/v1/reminder-rules/{rid}", json={"active": False}, headers=admin)
        assert r.status_code == 200 and r.json()["active"] is False
        listed = client.get("/api/v1/reminder-rules?region=440305", headers=world.headers(client, "officer")).json()[
            "items"
        ]
        assert {r["key"] for r in listed} >= {"default.rectification.5wd", "440305.filing.3wd"}
        assert client.get("/api/v1/reminder-rules", headers=world.headers(client, "ent_chem")).status_code == 403
    finally:
        with app.state.sessionmaker() as s:
            s.execute(delete(ReminderRule).where(ReminderRule.key == body["key"]))
            s.commit()
