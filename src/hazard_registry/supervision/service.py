"""Measures (函告 · 通报 · 约谈 · 曝光 · 挂牌督办): their life, who may move it, and what the public sees.

Life: proposed → issued → acknowledged → resolved, or withdrawn from any open state. The engine proposes;
an officer with authority at the issuing level confirms (issues), unless the rule issues by itself; the
target acknowledges receipt; the issuer resolves with an outcome.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    or_,
    select,
)
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry import workflow as kernel
from hazard_registry.auth.principal import Actor, Role, region_contains, region_within
from hazard_registry.db import add_unique
from hazard_registry.errors import Conflict, Forbidden, NotFound, WrongState
from hazard_registry.hazards.models import Hazard
from hazard_registry.pagination import cut, keyset
from hazard_registry.reference.models import Enterprise
from hazard_registry.reference.service import require_national
from hazard_registry.supervision.models import (
    MEASURE_NAMES,
    CalendarDay,
    CalendarYear,
    EscalationRule,
    Measure,
    MeasureEvent,
    MeasureState,
    SupervisionMeasure,
)
from hazard_registry.supervision.timers import load_calendar, recompute_missing
from hazard_registry.supervision.workflow import (
    WORKFLOW,
    Action,
    can_acknowledge,
    can_issue,
    issue_many,
    measure_scope,
    record,
)
from hazard_registry.workdays import CalendarYearUnknown, year_table

__all__ = [
    "can_acknowledge",
    "can_issue",
    "issue_many",
    "measure_scope",
    "record",
]  # re-exported: the life-cycle's rules live in workflow


def get_visible(session: Session, actor: Actor, measure_id: int) -> SupervisionMeasure:
    m: SupervisionMeasure = WORKFLOW.visible(session, actor, measure_id)
    return m


def list_measures(
    session: Session,
    actor: Actor,
    *,
    state: list[str] | None = None,
    measure: list[str] | None = None,
    hazard_id: int | None = None,
    enterprise_id: int | None = None,
    region: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[SupervisionMeasure], str | None]:
    """A keyset page of the measures in the caller's scope, oldest first, and the next page's cursor."""
    m = SupervisionMeasure
    stmt = select(m).where(measure_scope(actor))
    if state:
        stmt = stmt.where(m.state.in_(state))
    if measure:
        stmt = stmt.where(m.measure.in_(measure))
    if hazard_id:
        stmt = stmt.where(m.hazard_id == hazard_id)
    if enterprise_id:
        stmt = stmt.where(m.target_enterprise_id == enterprise_id)
    if region:
        stmt = stmt.where(region_within(m.target_region_code, region))
    return cut(session.scalars(keyset(stmt, m.id, cursor, limit, newest_first=False)).all(), limit)


def events(session: Session, measure: SupervisionMeasure) -> list[MeasureEvent]:
    return list(
        session.scalars(select(MeasureEvent).where(MeasureEvent.measure_id == measure.id).order_by(MeasureEvent.id))
    )


# --- who may do what ----------------------------------------------------------------------------------------


def allowed_actions(actor: Actor, m: SupervisionMeasure) -> list[str]:
    return WORKFLOW.allowed_actions(m, actor)


def response_overdue(m: SupervisionMeasure, today: date) -> bool:
    """Issued, and its target has not acknowledged it by the response day (China's date)."""
    return m.state == MeasureState.issued and m.response_due is not None and m.response_due < today


# --- the life of a measure ------------------------------------------------------------------------------------


def act(
    session: Session,
    actor: Actor,
    measure_id: int,
    action: str,
    *,
    note: str | None,
    expected_version: int | None,
    now: datetime,
) -> SupervisionMeasure:
    """Take ``action`` on a measure through the workflow kernel: scope (404), authority (403), version
    (428 missing, 409 stale), state (409), then the effect, its chained event and its notices."""
    done = kernel.act(
        session, WORKFLOW, actor, measure_id, action, expected_version=expected_version, now=now, note=note
    )
    m: SupervisionMeasure = done.row
    return m


def issue(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, expected_version: int | None
) -> SupervisionMeasure:
    return act(session, actor, m.id, Action.issue, note=None, expected_version=expected_version, now=now)


def acknowledge(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, note: str | None, expected: int | None
) -> SupervisionMeasure:
    return act(session, actor, m.id, Action.acknowledge, note=note, expected_version=expected, now=now)


def resolve(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, outcome: str, expected: int | None
) -> SupervisionMeasure:
    return act(session, actor, m.id, Action.resolve, note=outcome, expected_version=expected, now=now)


def withdraw(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, reason: str | None, expected: int | None
) -> SupervisionMeasure:
    return act(session, actor, m.id, Action.withdraw, note=reason, expected_version=expected, now=now)


MEASURE_ACTIONS = ("issue", "acknowledge", "resolve", "withdraw")


# --- the public exposure list (曝光) ---------------------------------------------------------------------------


def public_exposures(
    session: Session, region: str | None, limit: int, cursor: str | None, measure_id: int | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """What the public may see of an exposure: enterprise, hazard summary, measure, legal basis, date.
    ``measure_id`` picks one measure's entry (the console shows an officer what the public sees of it)."""
    m, h, e = SupervisionMeasure, Hazard, Enterprise
    stmt = (
        select(m.id, e.name, h.title, m.measure, m.legal_basis, m.issued_at, m.document_number)
        .join(h, h.id == m.hazard_id)
        .join(e, e.id == h.enterprise_id)
        .where(
            m.measure == Measure.public_exposure.value,
            m.state.in_([MeasureState.issued.value, MeasureState.acknowledged.value]),
            m.taken_down_at.is_(None),
        )
    )
    if region:
        stmt = stmt.where(region_within(m.target_region_code, region))
    if measure_id:
        stmt = stmt.where(m.id == measure_id)
    rows, next_cursor = cut(session.execute(keyset(stmt, m.id, cursor, limit, newest_first=False)).all(), limit)
    return [
        {
            "id": r.id,
            "enterprise_name": r.name,
            "hazard_summary": r.title,
            "measure": MEASURE_NAMES[Measure(r.measure)],
            "legal_basis": r.legal_basis,
            "document_number": r.document_number,
            "published_on": clock.today_in_china(r.issued_at) if r.issued_at else None,
        }
        for r in rows
    ], next_cursor


# --- rules ----------------------------------------------------------------------------------------------------


def require_rule_reader(actor: Actor) -> None:
    if actor.role is Role.enterprise:
        raise Forbidden("rules are for regulators and administrators", code="role_forbidden")


def list_rules(session: Session, region: str | None, include_retired: bool) -> list[EscalationRule]:
    stmt = select(EscalationRule)
    if not include_retired:
        stmt = stmt.where(EscalationRule.retired_at.is_(None))
    if region:
        stmt = stmt.where(or_(EscalationRule.region_code == region, EscalationRule.region_code.is_(None)))
    return list(session.scalars(stmt.order_by(EscalationRule.stall, EscalationRule.threshold, EscalationRule.id)))


def may_set_rule(actor: Actor, region_code: str | None) -> bool:
    """Whether ``actor`` may add or revise an escalation rule of ``region_code`` (None: the national default):
    what ``create_rule`` and ``revise_rule`` enforce, and what the rules page asks before showing a form."""
    if actor.role is Role.system:
        return True
    return (
        actor.role is Role.admin
        and bool(actor.region_code)
        and region_code is not None
        and region_contains(actor.region_code or "", region_code)
    )


def _require_rule_admin(actor: Actor, region_code: str | None) -> None:
    if may_set_rule(actor, region_code):
        return
    if actor.role is not Role.admin or not actor.region_code:
        raise Forbidden("only an administrator sets escalation rules", code="role_forbidden")
    raise Forbidden("rules are set for a region within your own", code="region_forbidden")


def create_rule(session: Session, actor: Actor, values: dict[str, Any], now: datetime) -> EscalationRule:
    _require_rule_admin(actor, values.get("region_code"))
    rule = EscalationRule(**values, version=1, created_at=now, created_by_id=actor.user_id)
    add_unique(session, rule, Conflict(f"a rule with key {values['key']} exists", code="rule_exists"))
    return rule


def revise_rule(session: Session, actor: Actor, rule_id: int, changes: dict[str, Any], now: datetime) -> EscalationRule:
    """A new version of the rule; the old one retires but keeps the timers and measures it already made."""
    old = session.get(EscalationRule, rule_id)
    if old is None:
        raise NotFound(f"rule {rule_id} not found", code="rule_not_found")
    _require_rule_admin(actor, old.region_code)
    if old.retired_at is not None:
        raise WrongState("this version is retired; revise the current one", code="rule_retired")
    old.retired_at = now
    fields = ("key", "region_code", "stall", "threshold", "working_days", "measure", "issuer",
              "needs_confirmation", "response_days", "legal_basis", "active")  # fmt: skip
    values = {f: getattr(old, f) for f in fields} | changes
    new = EscalationRule(**values, version=old.version + 1, created_at=now, created_by_id=actor.user_id)
    session.add(new)
    session.flush()
    return new


# --- the holiday table -----------------------------------------------------------------------------------------


def load_year(
    session: Session, actor: Actor, year: int, holidays: list[date], workdays: list[date], source: str | None
) -> int:
    require_national(actor, "节假日安排 (the holiday table)")
    table = year_table(year, holidays, workdays)
    session.execute(CalendarDay.__table__.delete().where(CalendarDay.year == year))
    session.merge(CalendarYear(year=year, loaded_by_id=actor.user_id, source=source, loaded_at=clock.now()))
    session.add_all(CalendarDay(day=d, year=year, is_workday=w) for d, w in sorted(table.items()))
    session.flush()
    return recompute_missing(session, year)


def calendar_year(session: Session, year: int) -> dict[str, Any]:
    """The exceptions to Monday–Friday for a year, as the engine counts working days: holidays and 调休,
    and where the table came from. Raises CalendarYearUnknown for a year nobody has loaded."""
    cal = load_calendar(session)
    loaded = session.get(CalendarYear, year)
    if not cal.knows(year):
        raise CalendarYearUnknown(year)
    days = [date(year, 1, 1) + timedelta(days=i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    return {
        "year": year,
        "source": (loaded.source or "loaded by an administrator") if loaded else "chinese-calendar",
        "holidays": [d for d in days if d.weekday() < 5 and not cal.is_workday(d)],
        "workdays": [d for d in days if d.weekday() >= 5 and cal.is_workday(d)],
    }
