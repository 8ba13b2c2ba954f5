"""Measures (函告 · 通报 · 约谈 · 曝光 · 挂牌督办): their life, who may move it, and what the public sees.

Life: proposed → issued → acknowledged → resolved, or withdrawn from any open state. The engine proposes;
an officer with authority at the issuing level confirms (issues), unless the rule issues by itself; the
target acknowledges receipt; the issuer resolves with an outcome.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import Actor, Role, region_contains, region_within
from hazard_registry.db import UTCDateTime, flush_versioned, is_postgres
from hazard_registry.errors import Forbidden, InvalidInput, NotFound, VersionConflict, WrongState
from hazard_registry.hazards.models import Hazard
from hazard_registry.notices.outbox import enqueue_for_measures
from hazard_registry.reference.models import Department, Enterprise, Region
from hazard_registry.supervision.engine import load_calendar, recompute_missing
from hazard_registry.supervision.models import (
    MEASURE_NAMES,
    OPEN_MEASURE_STATES,
    CalendarDay,
    CalendarYear,
    DocumentCounter,
    EscalationRule,
    Measure,
    MeasureEvent,
    MeasureState,
    SupervisionMeasure,
)
from hazard_registry.workdays import CalendarYearUnknown, year_table


def measure_scope(actor: Actor) -> ColumnElement[bool]:
    m = SupervisionMeasure
    if actor.role is Role.system:
        return true()
    if actor.role is Role.enterprise:
        if not actor.enterprise_id:
            return false()
        return and_(m.target_enterprise_id == actor.enterprise_id, m.state != MeasureState.proposed.value)
    if not actor.region_code:
        return false()
    in_region = region_within(m.target_region_code, actor.region_code)
    if actor.role is Role.admin:
        return in_region
    mine = [m.target_department_id == actor.department_id, m.issuer_department_id == actor.department_id]
    if actor.sectors:
        mine.append(m.sector_code.in_(sorted(actor.sectors)))
    return and_(in_region, or_(*mine))


def get_visible(session: Session, actor: Actor, measure_id: int) -> SupervisionMeasure:
    m = session.scalar(select(SupervisionMeasure).where(SupervisionMeasure.id == measure_id, measure_scope(actor)))
    if m is None:
        raise NotFound(f"measure {measure_id} not found", code="measure_not_found")
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
    after_id: int | None = None,
    limit: int = 50,
) -> list[SupervisionMeasure]:
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
    if after_id:
        stmt = stmt.where(m.id > after_id)
    return list(session.scalars(stmt.order_by(m.id).limit(limit)))


def events(session: Session, measure: SupervisionMeasure) -> list[MeasureEvent]:
    return list(
        session.scalars(select(MeasureEvent).where(MeasureEvent.measure_id == measure.id).order_by(MeasureEvent.id))
    )


def record(
    session: Session, measure: SupervisionMeasure, actor: Actor, action: str, now: datetime, note: str | None = None
) -> None:
    session.add(
        MeasureEvent(
            measure_id=measure.id, action=action, actor_id=actor.user_id, actor_name=actor.username, at=now, note=note
        )
    )


# --- who may do what ----------------------------------------------------------------------------------------


def can_issue(actor: Actor, m: SupervisionMeasure) -> bool:
    """Authority at the issuing level: the system; an administrator (安委会办公室) whose region holds the
    issuing region; a regulator with closing authority in the issuing department, or — when the level above
    issues — in a department of that region leading the hazard's sector."""
    if actor.role is Role.system:
        return True
    if actor.role is Role.admin:
        return bool(actor.region_code and region_contains(actor.region_code, m.issuer_region_code))
    if actor.role is not Role.regulator or not actor.can_close:
        return False
    if m.issuer_department_id is not None:
        return actor.department_id == m.issuer_department_id
    return actor.region_code == m.issuer_region_code and m.sector_code in actor.sectors


def can_acknowledge(actor: Actor, m: SupervisionMeasure) -> bool:
    if m.target_kind == "enterprise":
        return actor.role is Role.enterprise and actor.enterprise_id == m.target_enterprise_id
    if m.target_kind == "department":
        return actor.role is Role.regulator and actor.department_id == m.target_department_id
    return actor.role is Role.admin and actor.region_code == m.target_region_code


def allowed_actions(actor: Actor, m: SupervisionMeasure) -> list[str]:
    out = []
    issuer = can_issue(actor, m)
    if m.state == MeasureState.proposed and issuer:
        out.append("issue")
    if m.state == MeasureState.issued and can_acknowledge(actor, m):
        out.append("acknowledge")
    if m.state in (MeasureState.issued, MeasureState.acknowledged) and issuer:
        out.append("resolve")
    if m.state in OPEN_MEASURE_STATES and issuer:
        out.append("withdraw")
    return out


def response_overdue(m: SupervisionMeasure, today: date) -> bool:
    """Issued, and its target has not acknowledged it by the response day (China's date)."""
    return m.state == MeasureState.issued and m.response_due is not None and m.response_due < today


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise Forbidden(f"you may not {what} this measure", code="measure_forbidden")


def _require_state(m: SupervisionMeasure, *states: MeasureState) -> None:
    if m.state not in states:
        raise WrongState(f"the measure is {m.state}", state=m.state)


def _check_version(m: SupervisionMeasure, expected: int | None) -> None:
    if expected is not None and expected != m.version:
        raise VersionConflict(f"the measure is at version {m.version}", current_version=m.version)


def _flush(session: Session) -> None:
    flush_versioned(session, "the measure was changed by someone else meanwhile")


# --- the life of a measure ------------------------------------------------------------------------------------


def _authority_columns() -> tuple[ColumnElement[str], ColumnElement[str]]:
    """Who numbers a measure's 文号 (its key in the counters) and the name printed in it: the issuing
    department, or the issuing region's 安委办 when the level above issues."""
    m, d, r = SupervisionMeasure, Department, Region
    key = case(
        (m.issuer_department_id.is_not(None), literal("D") + cast(m.issuer_department_id, String)),
        else_=literal("R") + m.issuer_region_code,
    )
    name = case((m.issuer_department_id.is_not(None), d.name), else_=r.name + literal("安委办"))
    return key, name


def issue_many(session: Session, actor: Actor, ids: list[int], now: datetime) -> int:
    """Issue the given proposed measures in three statements whatever their number: count them per issuing
    authority and advance its 文号 counter by that much, then number, date and mark them in one UPDATE, and
    record the events in one INSERT … SELECT. Measures no longer proposed are left alone; the caller checks
    the authority (the API for one measure, the engine as the system principal)."""
    if not ids:
        return 0
    m = SupervisionMeasure
    today = clock.today_in_china(now)
    key, name = _authority_columns()
    chosen = (
        select(m.id, key.label("authority"), name.label("name"), m.response_days)
        .outerjoin(Department, Department.id == m.issuer_department_id)
        .join(Region, Region.code == m.issuer_region_code)
        .where(m.id.in_(ids), m.state == MeasureState.proposed.value)
        .subquery()
    )
    ins = (pg_insert if is_postgres(session) else sqlite_insert)(DocumentCounter)
    counts = select(chosen.c.authority, literal(today.year), func.count()).group_by(chosen.c.authority)
    session.execute(
        ins.from_select(["authority", "year", "last"], counts).on_conflict_do_update(
            index_elements=["authority", "year"], set_={"last": DocumentCounter.last + ins.excluded.last}
        )
    )
    c = DocumentCounter
    numbered = (
        select(
            chosen.c.id,
            (
                chosen.c.name
                + literal(f"督〔{today.year}〕")
                + cast(
                    c.last
                    - func.count().over(partition_by=chosen.c.authority)
                    + func.row_number().over(partition_by=chosen.c.authority, order_by=chosen.c.id),
                    String,
                )
                + literal("号")
            ).label("number"),
            chosen.c.response_days,
            chosen.c.authority,
        )
        .join(c, and_(c.authority == chosen.c.authority, c.year == today.year))
        .subquery()
    )
    if is_postgres(session):
        due = literal(today) + numbered.c.response_days
    else:
        due = func.date(literal(today.isoformat()), literal("+") + cast(numbered.c.response_days, String) + " days")
    done = session.scalars(
        update(m)
        .where(m.id == numbered.c.id, m.state == MeasureState.proposed.value)
        .values(
            state=MeasureState.issued.value,
            issued_at=now,
            issued_by_id=actor.user_id,
            document_authority=numbered.c.authority,
            document_number=numbered.c.number,
            response_due=due,
            version=m.version + 1,
        )
        .returning(m.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not done:
        return 0
    data = literal("{}") if not is_postgres(session) else cast(literal("{}"), JSON)
    session.execute(
        insert(MeasureEvent).from_select(
            ["measure_id", "action", "actor_id", "actor_name", "at", "note", "data"],
            select(
                m.id,
                literal("issue"),
                literal(actor.user_id, Integer),
                literal(actor.username),
                literal(now, UTCDateTime),
                m.document_number,
                data,
            ).where(m.id.in_(done)),
        )
    )
    enqueue_for_measures(session, done, "issue", now)  # notices to the target and copies, in this transaction
    return len(done)


def issue(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, expected_version: int | None = None
) -> SupervisionMeasure:
    _require(can_issue(actor, m), "issue")
    _require_state(m, MeasureState.proposed)
    _check_version(m, expected_version)
    session.flush()
    if issue_many(session, actor, [m.id], now) != 1:
        raise VersionConflict("the measure was changed by someone else meanwhile")
    session.refresh(m)
    return m


def acknowledge(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, note: str | None, expected: int | None
) -> SupervisionMeasure:
    _require(can_acknowledge(actor, m), "acknowledge")
    _require_state(m, MeasureState.issued)
    _check_version(m, expected)
    m.state, m.acknowledged_at, m.acknowledged_by_id = MeasureState.acknowledged, now, actor.user_id
    record(session, m, actor, "acknowledge", now, note=note)
    _flush(session)
    return m


def resolve(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, outcome: str, expected: int | None
) -> SupervisionMeasure:
    _require(can_issue(actor, m), "resolve")
    _require_state(m, MeasureState.issued, MeasureState.acknowledged)
    _check_version(m, expected)
    m.state, m.resolved_at, m.outcome = MeasureState.resolved, now, outcome
    if m.measure in (Measure.public_exposure, Measure.listed_supervision):
        m.taken_down_at = now
    record(session, m, actor, "resolve", now, note=outcome)
    _flush(session)
    enqueue_for_measures(session, [m.id], "resolve", now)
    return m


def withdraw(
    session: Session, actor: Actor, m: SupervisionMeasure, now: datetime, reason: str | None, expected: int | None
) -> SupervisionMeasure:
    _require(can_issue(actor, m), "withdraw")
    _require_state(m, *OPEN_MEASURE_STATES)
    _check_version(m, expected)
    if not reason:
        raise InvalidInput("a withdrawal needs its reason in note", errors=[{"field": "note", "message": "required"}])
    m.state, m.withdrawn_reason = MeasureState.withdrawn, reason
    if m.issued_at is not None and m.measure in (Measure.public_exposure, Measure.listed_supervision):
        m.taken_down_at = now
    record(session, m, actor, "withdraw", now, note=reason)
    _flush(session)
    if m.issued_at is not None:  # a proposal was never sent to anyone
        enqueue_for_measures(session, [m.id], "withdraw", now)
    return m


MEASURE_ACTIONS = ("issue", "acknowledge", "resolve", "withdraw")


def act(
    session: Session,
    actor: Actor,
    m: SupervisionMeasure,
    action: str,
    note: str | None,
    now: datetime,
    expected: int | None,
) -> SupervisionMeasure:
    """One action on a measure, as the API and the console take it: ``note`` is the outcome of a resolve
    (default 已整改到位), the reason of a withdrawal (required) or a remark on an acknowledgement."""
    if action == "issue":
        return issue(session, actor, m, now, expected)
    if action == "acknowledge":
        return acknowledge(session, actor, m, now, note, expected)
    if action == "resolve":
        return resolve(session, actor, m, now, note or "已整改到位", expected)
    if action == "withdraw":
        return withdraw(session, actor, m, now, note, expected)
    raise InvalidInput(f"unknown action {action}", errors=[{"field": "action", "message": "unknown"}])


# --- the public exposure list (曝光) ---------------------------------------------------------------------------


def public_exposures(
    session: Session, region: str | None, limit: int, after_id: int | None, measure_id: int | None = None
) -> list[dict[str, Any]]:
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
    if after_id:
        stmt = stmt.where(m.id > after_id)
    rows = session.execute(stmt.order_by(m.id).limit(limit)).all()
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
    ]


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


def _require_rule_admin(actor: Actor, region_code: str | None) -> None:
    if actor.role is Role.system:
        return
    if actor.role is not Role.admin or not actor.region_code:
        raise Forbidden("only an administrator sets escalation rules", code="role_forbidden")
    if region_code is None or not region_contains(actor.region_code, region_code):
        raise Forbidden("rules are set for a region within your own", code="region_forbidden")


def create_rule(session: Session, actor: Actor, values: dict[str, Any], now: datetime) -> EscalationRule:
    _require_rule_admin(actor, values.get("region_code"))
    rule = EscalationRule(**values, version=1, created_at=now, created_by_id=actor.user_id)
    from hazard_registry.db import add_unique
    from hazard_registry.errors import Conflict

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
    if actor.role not in (Role.admin, Role.system):
        raise Forbidden("only an administrator loads holiday tables", code="role_forbidden")
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
