"""Per-hazard timers of the escalation engine (督办): when a hazard changes, ``hazard_changed`` — called in
the same transaction as the change — rebuilds its timers: one per rule in force for its stall, the due day
computed once in Chinese working or calendar days and remembered with the rule's version, so revising a rule
never moves a deadline already set. A stall that ends withdraws its unissued proposals; closing a hazard
lifts its listing (摘牌) and takes down its exposure. The sweep that turns due timers into measures is
``supervision.engine``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM, ancestors
from hazard_registry.hazards.models import Hazard, HazardEvent
from hazard_registry.notices.outbox import enqueue_for_measures
from hazard_registry.supervision.models import (
    STALLS,
    CalendarDay,
    CalendarYear,
    EscalationRule,
    Measure,
    MeasureState,
    Stall,
    SupervisionMeasure,
    SupervisionTimer,
)
from hazard_registry.supervision.workflow import record
from hazard_registry.workdays import CalendarYearUnknown, WorkCalendar

# Measures that stand in public or on a list until the hazard is gone, and what closing it does to them.
TAKEN_DOWN_ON_CLOSE = {
    Measure.listed_supervision: "隐患已销号，自动摘牌",
    Measure.public_exposure: "隐患已销号，曝光信息已撤下",
}


def load_calendar(session: Session) -> WorkCalendar:
    loaded: dict[int, dict[date, bool]] = {y: {} for y in session.scalars(select(CalendarYear.year))}
    for day in session.scalars(select(CalendarDay)):
        loaded.setdefault(day.year, {})[day.day] = day.is_workday
    return WorkCalendar(loaded)


def current_rules(session: Session, region_code: str) -> dict[Stall, list[EscalationRule]]:
    """The rules in force for a region: per stall, those of the nearest jurisdiction that has any."""
    chain = ancestors(region_code)
    rows = session.scalars(
        select(EscalationRule).where(
            EscalationRule.active.is_(True),
            EscalationRule.retired_at.is_(None),
            or_(EscalationRule.region_code.in_(chain), EscalationRule.region_code.is_(None)),
        )
    ).all()
    rank = {code: i for i, code in enumerate(chain)}
    out: dict[Stall, list[EscalationRule]] = {}
    for stall in Stall:
        mine = [r for r in rows if r.stall == stall]
        if not mine:
            continue
        nearest = min(rank.get(r.region_code, len(chain)) if r.region_code else len(chain) for r in mine)
        out[stall] = sorted(
            (r for r in mine if (rank.get(r.region_code, len(chain)) if r.region_code else len(chain)) == nearest),
            key=lambda r: r.threshold,
        )
    return out


def _entry(session: Session, hazard: Hazard) -> tuple[int, date]:
    """The event that put the hazard into its current state: its sequence number and its China date."""
    row = session.execute(
        select(HazardEvent.seq, HazardEvent.at)
        .where(
            HazardEvent.hazard_id == hazard.id,
            or_(HazardEvent.from_state.is_(None), HazardEvent.from_state != HazardEvent.to_state),
        )
        .order_by(HazardEvent.seq.desc())
        .limit(1)
    ).one()
    return row.seq, clock.today_in_china(row.at)


def due_day(calendar: WorkCalendar, base: date, days: int, working: bool) -> tuple[date | None, int | None]:
    """``days`` (working) days after ``base``, or (None, the year) while that year's holiday table is missing."""
    try:
        return calendar.add_days(base, days, working=working), None
    except CalendarYearUnknown as exc:
        return None, exc.year


def hazard_changed(session: Session, hazard: Hazard, now: datetime) -> None:
    """Bring the hazard's timers and open measures in line with its new state (same transaction)."""
    today = clock.today_in_china(now)
    _settle_measures(session, hazard, now)
    wanted: dict[tuple[int, str], SupervisionTimer] = {}
    rules = current_rules(session, hazard.region_code)
    calendar: WorkCalendar | None = None
    seq, entered = _entry(session, hazard) if hazard.state not in ("closed", "rejected") else (0, today)
    for stall, (watched, target_kind) in STALLS.items():
        if hazard.state not in watched:
            continue
        watch_state = hazard.state
        for rule in rules.get(stall, []):
            if stall is Stall.verification_failed:
                if hazard.failed_verifications < rule.threshold:
                    continue
                basis, base, due, missing = f"failed>={rule.threshold}", today, today, None
            elif stall is Stall.overdue:
                if hazard.deadline is None:
                    continue
                calendar = calendar or load_calendar(session)
                basis, base = f"deadline:{hazard.deadline.isoformat()}", hazard.deadline
                due, missing = due_day(calendar, base, rule.threshold, rule.working_days)
            else:
                calendar = calendar or load_calendar(session)
                basis, base = f"{watch_state}#{seq}", entered
                due, missing = due_day(calendar, base, rule.threshold, rule.working_days)
            wanted[(rule.id, basis)] = SupervisionTimer(
                hazard_id=hazard.id,
                rule_id=rule.id,
                basis=basis,
                watch_state=watch_state,
                target_kind=target_kind,
                base_on=base,
                due_on=due,
                missing_year=missing,
            )
    existing = session.scalars(select(SupervisionTimer).where(SupervisionTimer.hazard_id == hazard.id)).all()
    have = {(t.rule_id, t.basis) for t in existing}
    for t in existing:
        # A stall that spans states (overdue: assigned, then rectifying, same deadline) keeps its timer and
        # its episode; the timer follows the hazard into the state it now watches.
        mine = wanted.get((t.rule_id, t.basis))
        if mine is not None and t.watch_state != mine.watch_state:
            t.watch_state = mine.watch_state
    stale = [t.id for t in existing if t.fired_at is None and (t.rule_id, t.basis) not in wanted]
    if stale:
        session.execute(delete(SupervisionTimer).where(SupervisionTimer.id.in_(stale)))
    session.add_all(t for key, t in wanted.items() if key not in have)
    session.flush()


def _settle_measures(session: Session, hazard: Hazard, now: datetime) -> None:
    """Proposals for a stall that has ended are withdrawn; closing a hazard lifts its listing (摘牌) and
    takes down its public exposure."""
    ended = [s for s, (watched, _) in STALLS.items() if hazard.state not in watched]
    moot = session.scalars(
        select(SupervisionMeasure).where(
            SupervisionMeasure.hazard_id == hazard.id,
            SupervisionMeasure.state == MeasureState.proposed,
            SupervisionMeasure.stall.in_(ended),
        )
    ).all()
    for m in moot:
        record(session, m, SYSTEM, "withdraw", now, note="督办事由已消除，建议自动撤回")
        m.state, m.withdrawn_reason = MeasureState.withdrawn, "stall ended before the measure was issued"
    if hazard.state != "closed":
        return
    standing = session.scalars(
        select(SupervisionMeasure).where(
            SupervisionMeasure.hazard_id == hazard.id,
            SupervisionMeasure.measure.in_(list(TAKEN_DOWN_ON_CLOSE)),
            SupervisionMeasure.state.in_([MeasureState.issued, MeasureState.acknowledged]),
        )
    ).all()
    for m in standing:
        outcome = TAKEN_DOWN_ON_CLOSE[Measure(m.measure)]
        m.state, m.resolved_at, m.taken_down_at, m.outcome = MeasureState.resolved, now, now, outcome
        record(session, m, SYSTEM, "take_down", now, note=outcome)
    enqueue_for_measures(session, [m.id for m in standing], "take_down", now)


def recompute_missing(session: Session, year: int) -> int:
    """After a holiday table is loaded: give a due day to every timer that was waiting for that year."""
    calendar = load_calendar(session)
    waiting = session.execute(
        select(SupervisionTimer, EscalationRule.threshold, EscalationRule.working_days)
        .join(EscalationRule, EscalationRule.id == SupervisionTimer.rule_id)
        .where(SupervisionTimer.missing_year == year, SupervisionTimer.fired_at.is_(None))
    ).all()
    for timer, threshold, working in waiting:
        timer.due_on, timer.missing_year = due_day(calendar, timer.base_on, threshold, working)
    session.flush()
    return len(waiting)
