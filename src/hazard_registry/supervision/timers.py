"""Per-hazard timers of the escalation engine (督办): when a hazard changes, ``hazard_changed`` — called in
the same transaction as the change — rebuilds its timers: one per rule in force for its stall, the due day
computed once in Chinese working or calendar days and remembered with the rule's version, so revising a rule
never moves a deadline already set. A stall that ends withdraws its unissued proposals; closing a hazard
lifts its listing (摘牌) and takes down its exposure. The sweep that turns due timers into measures is
``supervision.engine``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import and_, bindparam, delete, not_, or_, select, text, tuple_
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM, ancestors
from hazard_registry.cache import TtlCache
from hazard_registry.db import is_postgres
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


# The holiday tables an administrator loaded, per year (None: the year has none; the package's applies), and
# the rules in force per region: read by every hazard change, changed a few times a year (see cache.py).
_CALENDAR_YEARS: TtlCache[dict[date, bool] | None] = TtlCache("calendar", {"calendar_years", "calendar_days"})
_RULES: TtlCache[dict[Stall, list[RuleInForce]]] = TtlCache("rules", {"escalation_rules"})


def _stored_year(session: Session, year: int) -> dict[date, bool] | None:
    rows = session.execute(
        select(CalendarYear.year, CalendarDay.day, CalendarDay.is_workday)
        .outerjoin(CalendarDay, CalendarDay.year == CalendarYear.year)
        .where(CalendarYear.year == year)
    ).all()
    if not rows:
        return None
    return {r.day: r.is_workday for r in rows if r.day is not None}


class _StoredYears(Mapping[int, Mapping[date, bool]]):
    """The administrator-loaded years, each read (one statement, then from the cache) when a count first
    reaches it: a deadline in 2026 never reads 2027's table."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._years: dict[int, dict[date, bool] | None] = {}

    def _year(self, year: int) -> dict[date, bool] | None:
        if year not in self._years:
            self._years[year] = _CALENDAR_YEARS.get_or_load(
                year, lambda: _stored_year(self._session, year), session=self._session
            )
        return self._years[year]

    def __contains__(self, year: object) -> bool:
        return isinstance(year, int) and self._year(year) is not None

    def __getitem__(self, year: int) -> Mapping[date, bool]:
        table = self._year(year)
        if table is None:
            raise KeyError(year)
        return table

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(y for y in self._session.scalars(select(CalendarYear.year)) if y in self))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def load_calendar(session: Session) -> WorkCalendar:
    """Working days as the register counts them: the loaded holiday tables over the package's."""
    return WorkCalendar(_StoredYears(session))


@dataclass(frozen=True)
class RuleInForce:
    """What a timer needs of a rule; a snapshot, so the rules of a region can be kept between requests."""

    id: int
    stall: str
    threshold: int
    working_days: bool


def current_rules(session: Session, region_code: str) -> dict[Stall, list[RuleInForce]]:
    """The rules in force for a region: per stall, those of the nearest jurisdiction that has any."""
    return _RULES.get_or_load(region_code, lambda: _read_rules(session, region_code), session=session)


def _read_rules(session: Session, region_code: str) -> dict[Stall, list[RuleInForce]]:
    chain = ancestors(region_code)
    rows = session.scalars(
        select(EscalationRule).where(
            EscalationRule.active.is_(True),
            EscalationRule.retired_at.is_(None),
            or_(EscalationRule.region_code.in_(chain), EscalationRule.region_code.is_(None)),
        )
    ).all()
    rank = {code: i for i, code in enumerate(chain)}
    out: dict[Stall, list[RuleInForce]] = {}
    for stall in Stall:
        mine = [r for r in rows if r.stall == stall]
        if not mine:
            continue
        nearest = min(rank.get(r.region_code, len(chain)) if r.region_code else len(chain) for r in mine)
        out[stall] = [
            RuleInForce(r.id, r.stall, r.threshold, r.working_days)
            for r in sorted(
                (r for r in mine if (rank.get(r.region_code, len(chain)) if r.region_code else len(chain)) == nearest),
                key=lambda r: r.threshold,
            )
        ]
    return out


def _entry(session: Session, hazard: Hazard, moved_at: datetime | None) -> tuple[int, date]:
    """The event that put the hazard into its current state: its sequence number and its China date. A hazard
    never moved (version 1) is still in the state it was reported in: its first event; a hazard that has just
    moved (at ``moved_at``, in this transaction) has that move at the head of its chain; otherwise it is read."""
    if hazard.version == 1:
        return 1, clock.today_in_china(hazard.created_at)
    if moved_at is not None:
        return hazard.chain_seq, clock.today_in_china(moved_at)
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


def _upsert() -> Any:
    """The timers' INSERT on SQLite (PostgreSQL's are ``_BORN_PG`` and ``_REBUILD_PG``): an existing one keeps
    its episode and follows the hazard into the state it watches. Built once (``excluded`` makes an alias with
    column proxies each time it is asked for); its rows go as one multi-row INSERT."""
    stmt = sqlite_insert(SupervisionTimer.__table__)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["hazard_id", "rule_id", "basis"],
        set_={"watch_state": excluded.watch_state},
        where=SupervisionTimer.__table__.c.watch_state != excluded.watch_state,
    )


_UPSERT_SQLITE = _upsert()
_TIMERS = SupervisionTimer.__table__.c
# The unfired timers of a hazard not among ``keep`` (its wanted (rule, basis) pairs; none: every unfired one).
_STALE = delete(SupervisionTimer.__table__).where(
    _TIMERS.hazard_id == bindparam("hazard_id"),
    _TIMERS.fired_at.is_(None),
    not_(tuple_(_TIMERS.rule_id, _TIMERS.basis).in_(bindparam("keep", expanding=True))),
)
# On PostgreSQL the DELETE and the upsert are one statement (a data-modifying WITH), its rows as one array per
# column, each named after its column: one round trip, one fixed text, prepared by the driver. The two parts
# touch different rows (the DELETE those not wanted, the INSERT's conflicts those wanted), so they cannot see
# each other's work. The same statement answers whether any open measure is to be settled (``_SETTLED``'s
# question), so a change that settles none — nearly all — reads no measure.
_ROW = ("rule_id", "basis", "watch_state", "target_kind", "base_on", "due_on", "missing_year")
_INSERT_PG_SQL = """
    INSERT INTO supervision_timers
        (hazard_id, rule_id, basis, watch_state, target_kind, base_on, due_on, missing_year)
    SELECT CAST(:hazard_id AS bigint), * FROM unnest(
        CAST(:rule_id AS integer[]), CAST(:basis AS varchar[]), CAST(:watch_state AS varchar[]),
        CAST(:target_kind AS varchar[]), CAST(:base_on AS date[]), CAST(:due_on AS date[]),
        CAST(:missing_year AS integer[]))
    """
# A new hazard's timers on PostgreSQL: it has none yet, so nothing to delete or to conflict with; one INSERT.
_BORN_PG = text(_INSERT_PG_SQL)
# The DELETE's ``coalesce(fired_at IS NULL, true)`` means ``fired_at IS NULL`` in a form the planner does not
# match to the partial index ``ix_supervision_timers_due`` (WHERE fired_at IS NULL): on a table of mostly unfired
# timers it had chosen a BitmapAnd of that index and the hazard's, 1.9 ms instead of 0.1-0.3 (RESULTS.md "rpg").
# PostgreSQL folds ``IS NOT DISTINCT FROM NULL`` and ``= true`` back to ``IS NULL``; it does not fold this.
_REBUILD_PG_SQL = (
    """
    WITH stale AS (
        DELETE FROM supervision_timers
        WHERE hazard_id = :hazard_id AND coalesce(fired_at IS NULL, true)
          AND (rule_id, basis) NOT IN (
              SELECT * FROM unnest(CAST(:rule_id AS integer[]), CAST(:basis AS varchar[])))
    )
    , wanted AS ("""
    + _INSERT_PG_SQL
    + """
    ON CONFLICT (hazard_id, rule_id, basis) DO UPDATE SET watch_state = excluded.watch_state
    WHERE supervision_timers.watch_state <> excluded.watch_state
    )
    SELECT EXISTS (SELECT FROM supervision_measures WHERE hazard_id = :hazard_id AND ({settled}))
    """
)


def hazard_changed(session: Session, hazard: Hazard, now: datetime, *, new: bool = False, moved: bool = False) -> None:
    """Bring the hazard's timers and open measures in line with its new state (same transaction).

    ``new``: the hazard was just reported — it has no timers and no measures yet, so none are read or settled.
    ``moved``: the hazard has just changed state (a workflow action), now: the head of its chain is that move.
    On PostgreSQL the timers' statement also says whether any measure is to be settled; only then are they read.
    Timers are rebuilt without reading them first: one DELETE of the unfired ones no longer wanted, one INSERT
    of the wanted ones (an existing one keeps its episode; one that spans states — overdue: assigned, then
    rectifying, same deadline — follows the hazard into the state it now watches)."""
    today = clock.today_in_china(now)
    postgres = is_postgres(session)
    if not new and not postgres:
        _settle_measures(session, hazard, now)
    wanted: dict[tuple[int, str], dict] = {}
    rules = current_rules(session, hazard.region_code)
    calendar: WorkCalendar | None = None
    in_force = hazard.state not in ("closed", "rejected")
    seq, entered = _entry(session, hazard, now if moved else None) if in_force else (0, today)
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
            wanted[(rule.id, basis)] = {
                "hazard_id": hazard.id,
                "rule_id": rule.id,
                "basis": basis,
                "watch_state": watch_state,
                "target_kind": target_kind,
                "base_on": base,
                "due_on": due,
                "missing_year": missing,
                "fired_at": None,
            }
    # Those of a stall the hazard left go (fired ones stay: they are the record of a measure).
    if not postgres:
        if not new:
            session.execute(_STALE, {"hazard_id": hazard.id, "keep": list(wanted)})
        if wanted:
            session.execute(_UPSERT_SQLITE, list(wanted.values()))
        return
    rows = list(wanted.values())
    params = {c: [r[c] for r in rows] for c in _ROW}
    params["hazard_id"] = hazard.id
    if new:
        if rows:
            session.connection().execute(_BORN_PG, params)
        return
    params["ended"] = list(_ended(hazard.state))
    if session.scalar(_REBUILD_PG[hazard.state == "closed"], params):
        _settle_measures(session, hazard, now)


# Per state of the hazard, the stalls it is not in; and the one SELECT of what a change settles: the proposals of
# those stalls, and — when closing — the standing listing and exposure too.
@cache
def _ended(state: str) -> tuple[str, ...]:
    return tuple(s.value for s, (watched, _) in STALLS.items() if state not in watched)


_MOOT = and_(
    SupervisionMeasure.state == MeasureState.proposed,
    SupervisionMeasure.stall.in_(bindparam("ended", expanding=True)),
)
_STANDING = and_(
    SupervisionMeasure.measure.in_(list(TAKEN_DOWN_ON_CLOSE)),
    SupervisionMeasure.state.in_([MeasureState.issued, MeasureState.acknowledged]),
)
_SETTLED = {
    closing: select(SupervisionMeasure).where(
        SupervisionMeasure.hazard_id == bindparam("hazard_id"), or_(_MOOT, _STANDING) if closing else _MOOT
    )
    for closing in (False, True)
}
_MOOT_SQL = f"state = '{MeasureState.proposed}' AND stall = ANY(CAST(:ended AS varchar[]))"
_STANDING_SQL = "measure IN ({}) AND state IN ('{}', '{}')".format(
    ", ".join(f"'{m}'" for m in TAKEN_DOWN_ON_CLOSE), MeasureState.issued, MeasureState.acknowledged
)
_REBUILD_PG = {
    closing: text(_REBUILD_PG_SQL.format(settled=f"{_MOOT_SQL} OR {_STANDING_SQL}" if closing else _MOOT_SQL))
    for closing in (False, True)
}


def _settle_measures(session: Session, hazard: Hazard, now: datetime) -> None:
    """Proposals for a stall that has ended are withdrawn; closing a hazard lifts its listing (摘牌) and
    takes down its public exposure."""
    ended = _ended(hazard.state)
    closing = hazard.state == "closed"
    settled = session.scalars(_SETTLED[closing], {"hazard_id": hazard.id, "ended": ended}).all()
    moot = [m for m in settled if m.state == MeasureState.proposed and m.stall in ended]
    standing = [m for m in settled if m.state != MeasureState.proposed] if closing else []
    for m in moot:
        record(session, m, SYSTEM, "withdraw", now, note="督办事由已消除，建议自动撤回")
        m.state, m.withdrawn_reason = MeasureState.withdrawn, "stall ended before the measure was issued"
    if not closing:
        return
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
