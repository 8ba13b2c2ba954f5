"""The escalation sweep (督办).

``run_once(now)`` asks each stall family in turn for the measures its stalls call for — the per-hazard
timers ``supervision.timers`` keeps (one INSERT … SELECT over the partial index of unfired timers, no Python
loop over hazards), missed self-inspections, lagging regions, late filings, late complaints — and then
issues the measures whose rule needs no confirmation through the same service function an officer's API
call uses. A unique key per (target, stall episode, measure) makes concurrent sweeps and a rerun after a kill
harmless: what exists is not made again. A new kind of stall is a new ``StallFamily`` in ``FAMILIES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import Integer, String, and_, case, cast, exists, func, literal, not_, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM, ancestors, region_contains, region_within
from hazard_registry.complaints.models import Complaint
from hazard_registry.complaints.workflow import HANDLING, REPLY_PENDING
from hazard_registry.db import UTCDateTime, is_postgres
from hazard_registry.documents.models import DocumentService
from hazard_registry.hazards.models import Hazard
from hazard_registry.hazards.overdue import overdue_sql
from hazard_registry.reference.lead import lead_department_sql
from hazard_registry.reference.models import Enterprise, Industry, Region, Sector
from hazard_registry.statistics.filings import open_period
from hazard_registry.statistics.models import Filing
from hazard_registry.statistics.periods import parse_period, period_to_file
from hazard_registry.supervision.inspections import period_of
from hazard_registry.supervision.models import (
    RUNG,
    EscalationRule,
    Issuer,
    Measure,
    MeasureState,
    SelfInspection,
    Stall,
    SupervisionMeasure,
    SupervisionTimer,
)
from hazard_registry.supervision.timers import due_day, hazard_changed, load_calendar, recompute_missing
from hazard_registry.supervision.workflow import issue_many
from hazard_registry.workdays import CalendarYearUnknown, WorkCalendar

# The timers' half, re-exported for callers that knew it here (the sweep itself uses load_calendar and due_day).
__all__ = ["FAMILIES", "StallFamily", "SweepResult", "hazard_changed", "load_calendar", "recompute_missing", "run_once"]

STALL_REASONS = {
    Stall.not_assigned: "重大事故隐患已上报，牵头部门未按时交办：",
    Stall.not_started: "重大事故隐患已交办，企业未按时启动整改：",
    Stall.overdue: "重大事故隐患整改逾期：",
    Stall.verification_failed: "重大事故隐患整改多次验收不合格：",
    Stall.not_verified: "企业已申请验收，监管部门未按时现场复核：",
    Stall.not_closed: "重大事故隐患已验收，未按时销号：",
}


def _recompute_known_years(session: Session) -> int:
    """Timers still waiting for a year the calendar now knows get their due day. ``load_year`` does this when
    a table is loaded; a worker whose cached calendar had not seen the table yet (cache.py) may have built
    waiting timers since, and a newer ``chinese-calendar`` may know a year the old one did not."""
    calendar = load_calendar(session)
    years = session.scalars(
        select(SupervisionTimer.missing_year)
        .where(SupervisionTimer.missing_year.is_not(None), SupervisionTimer.fired_at.is_(None))
        .distinct()
    ).all()
    return sum(recompute_missing(session, y) for y in years if calendar.knows(y))


# --- the sweep ----------------------------------------------------------------------------------------------


@dataclass
class SweepResult:
    proposed: int = 0
    issued: int = 0
    waiting_for_calendar: int = 0


def due_timers(today: date):
    """Unfired timers due by ``today`` whose hazard is still in the stall they watch."""
    t, h = SupervisionTimer, Hazard
    return (
        select(t.id)
        .join(h, h.id == t.hazard_id)
        .where(t.fired_at.is_(None), t.due_on <= today, h.state == t.watch_state)
    )


def _propose_due(session: Session, now: datetime) -> int:
    today = clock.today_in_china(now)
    t, h, r, reg = SupervisionTimer, Hazard, EscalationRule, Region
    enterprise = t.target_kind == "enterprise"
    higher = r.issuer == Issuer.higher_level.value
    reason = case(*[(r.stall == s.value, literal(text)) for s, text in STALL_REASONS.items()], else_=literal(""))
    dedup = (
        literal("h") + cast(h.id, String) + literal(":") + r.stall + literal(":") + t.basis + literal(":") + r.measure
    )
    rung = case(*[(r.measure == m.value, n) for m, n in RUNG.items()], else_=0)
    source = (
        select(
            dedup.label("dedup_key"),
            r.measure,
            rung.label("rung"),
            literal(MeasureState.proposed.value).label("state"),
            r.stall,
            t.target_kind,
            case((enterprise, h.enterprise_id), else_=None).label("target_enterprise_id"),
            case((enterprise, None), else_=h.department_id).label("target_department_id"),
            h.region_code.label("target_region_code"),
            h.id.label("hazard_id"),
            r.issuer,
            case((higher, None), else_=h.department_id).label("issuer_department_id"),
            case((higher, func.coalesce(reg.parent_code, h.region_code)), else_=h.region_code).label(
                "issuer_region_code"
            ),
            h.sector_code,
            r.id.label("rule_id"),
            r.version.label("rule_version"),
            r.needs_confirmation,
            r.response_days,
            (reason + h.number + literal(" ") + h.title).label("reason"),
            r.legal_basis,
            literal(now, UTCDateTime).label("proposed_at"),
            literal(1).label("version"),
        )
        .select_from(t)
        .join(h, h.id == t.hazard_id)
        .join(r, r.id == t.rule_id)
        .join(reg, reg.code == h.region_code)
        .where(t.fired_at.is_(None), t.due_on <= today, h.state == t.watch_state)
    )
    proposed = _insert_measures(session, source)
    session.execute(
        update(SupervisionTimer)
        .where(SupervisionTimer.id.in_(due_timers(today)))
        .values(fired_at=now)
        .execution_options(synchronize_session=False)
    )
    return proposed


def _auto_issue(session_factory: sessionmaker[Session], now: datetime, batch: int = 5000) -> int:
    """Issue every proposal whose rule needs no confirmation, a batch per transaction, through the service
    function the API uses (set-based: a batch costs three statements). On PostgreSQL each worker locks its
    batch with SKIP LOCKED, so concurrent sweeps share the work; SQLite has one writer at a time anyway."""
    issued = 0
    while True:
        with session_factory() as session:
            stmt = (
                select(SupervisionMeasure.id)
                .where(
                    SupervisionMeasure.state == MeasureState.proposed,
                    SupervisionMeasure.needs_confirmation.is_(False),
                )
                .order_by(SupervisionMeasure.id)
                .limit(batch)
            )
            if is_postgres(session):
                stmt = stmt.with_for_update(skip_locked=True)
            ids = list(session.scalars(stmt))
            if not ids:
                return issued
            issued += issue_many(session, SYSTEM, ids, now)
            session.commit()
            if len(ids) < batch:
                return issued


def run_once(
    session_factory: sessionmaker[Session], now: datetime | None = None, *, cutoff: date = date(2023, 12, 31)
) -> SweepResult:
    """One sweep. Each step commits on its own, so a sweep killed half-way is finished by the next one;
    ``cutoff`` is the campaign's stock/increment day (settings.campaign_cutoff)."""
    now = now or clock.now()
    result = SweepResult()
    with session_factory() as session:
        _recompute_known_years(session)
        session.commit()
    for family in FAMILIES:
        with session_factory() as session:
            result.proposed += family.propose(session, now, cutoff)
            session.commit()
    result.issued = _auto_issue(session_factory, now)
    with session_factory() as session:
        result.waiting_for_calendar = session.scalar(
            select(func.count(SupervisionTimer.id)).where(
                SupervisionTimer.missing_year.is_not(None), SupervisionTimer.fired_at.is_(None)
            )
        )
    return result


# --- stalls that are not about one hazard ----------------------------------------------------------------------


def _rules_for(session: Session, stall: Stall) -> list[EscalationRule]:
    return list(
        session.scalars(
            select(EscalationRule).where(
                EscalationRule.stall == stall.value,
                EscalationRule.active.is_(True),
                EscalationRule.retired_at.is_(None),
            )
        )
    )


def _nearer(rule: EscalationRule, rules: list[EscalationRule]) -> list[str]:
    """Regions inside ``rule``'s jurisdiction that set rules of their own for the same stall (theirs win)."""
    return sorted(
        {
            r.region_code
            for r in rules
            if r.region_code
            and r.region_code != rule.region_code
            and (rule.region_code is None or region_contains(rule.region_code, r.region_code))
        }
    )


def _in_jurisdiction(column, rule: EscalationRule, rules: list[EscalationRule]):
    clauses = [region_within(column, rule.region_code)] if rule.region_code else []
    clauses += [not_(region_within(column, code)) for code in _nearer(rule, rules)]
    return and_(true(), *clauses)


def inspection_periods(today: date, monthly: bool) -> list[tuple[str, date, date]]:
    """The two periods before the one ``today`` is in (a sweep that missed some days still sees them)."""
    out = []
    first = today.replace(day=1) if monthly else date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    for _ in range(2):
        end = first - timedelta(days=1)
        first = end.replace(day=1) if monthly else date(end.year, end.month - 2, 1)
        out.append((period_of(first, monthly), first, end))
    return out


def _propose_self_inspection(session: Session, now: datetime) -> int:
    """Every enterprise with no principal-led self-inspection in a finished quarter (month, high-risk) once the
    rule's days after it have passed: one INSERT … SELECT per rule and period."""
    today = clock.today_in_china(now)
    rules = _rules_for(session, Stall.self_inspection_missed)
    if not rules:
        return 0
    calendar = load_calendar(session)
    e, i, sec, si, reg = Enterprise, Industry, Sector, SelfInspection, Region
    high_risk = or_(e.high_risk.is_(True), sec.high_risk.is_(True))
    lead = lead_department_sql(e.region_code, i.sector_code)
    proposed = 0
    for rule in rules:
        higher = rule.issuer == Issuer.higher_level.value
        for monthly in (False, True):
            for code, start, end in inspection_periods(today, monthly):
                due, _missing = due_day(calendar, end, rule.threshold, rule.working_days)
                if due is None or due > today:
                    continue
                what = "月度" if monthly else "季度"
                source = (
                    select(
                        *_measure_rows(
                            rule,
                            now,
                            literal("e") + cast(e.id, String) + literal(f":{rule.stall}:{code}:{rule.measure}"),
                            target_kind=literal("enterprise"),
                            target_enterprise_id=e.id,
                            target_region_code=e.region_code,
                            issuer_department_id=literal(None, Integer) if higher else lead,
                            issuer_region_code=func.coalesce(reg.parent_code, e.region_code)
                            if higher
                            else e.region_code,
                            sector_code=i.sector_code,
                            reason=e.name + literal(f"{code}未按规定由主要负责人组织开展{what}重大事故隐患排查"),
                        )
                    )
                    .select_from(e)
                    .join(i, i.code == e.industry_code)
                    .join(sec, sec.code == i.sector_code)
                    .join(reg, reg.code == e.region_code)
                    .where(
                        high_risk if monthly else not_(high_risk),
                        e.created_at < _china_day_after(end),
                        _in_jurisdiction(e.region_code, rule, rules),
                        ~select(si.id)
                        .where(
                            si.enterprise_id == e.id,
                            si.inspected_on.between(start, end),
                            si.led_by_principal.is_(True),
                        )
                        .exists(),
                    )
                )
                proposed += _insert_measures(session, source)
    return proposed


def region_figures(session: Session, today: date, cutoff: date):
    """Per county and per prefecture (by GB/T 2260 prefix): open hazards, how many are past their deadline
    and how many are of the stock. One GROUP BY per level over the register."""
    h = Hazard
    open_ = h.state.not_in(["closed", "rejected"])
    overdue = overdue_sql(today)
    levels = {
        "county": func.substr(h.region_code, 1, 6, type_=String),
        "prefecture": func.substr(h.region_code, 1, 4, type_=String) + literal("00"),
    }
    out = {}
    for level, key in levels.items():
        rows = session.execute(
            select(
                key.label("code"),
                func.count().label("open"),
                func.sum(case((overdue, 1), else_=0)).label("overdue"),
                func.sum(case((h.found_at <= cutoff, 1), else_=0)).label("stock"),
            )
            .where(open_)
            .group_by(key)
        ).all()
        for row in rows:
            code = row.code
            if (level == "county" and code[4:6] == "00") or code[2:4] == "00":
                continue  # hazards filed at a prefecture or province itself: judged at that level
            out[code] = (int(row.open), int(row.overdue or 0), int(row.stock or 0))
    return out


def _nearest(rules: list[EscalationRule], code: str) -> list[EscalationRule]:
    """Of ``rules`` (one stall), those of the jurisdiction nearest to region ``code`` that has any."""
    chain = ancestors(code)
    rank = {c: i for i, c in enumerate(chain)}
    mine = [r for r in rules if r.region_code is None or r.region_code in rank]
    if not mine:
        return []
    nearest = min(rank[r.region_code] if r.region_code else len(chain) for r in mine)
    return [r for r in mine if (rank[r.region_code] if r.region_code else len(chain)) == nearest]


def _propose_regions(session: Session, now: datetime, cutoff: date) -> int:
    """Regions whose overdue share or open stock is above their rule's threshold, once a quarter, by the level
    above. The figures are set-based; the loop is over regions (a few thousand at most), with their rules,
    names and this quarter's measures read beforehand in one query each — never one query per region."""
    today = clock.today_in_china(now)
    rules = {s: _rules_for(session, s) for s in (Stall.region_overdue_share, Stall.region_stock_open)}
    if not any(rules.values()):
        return 0
    figures = region_figures(session, today, cutoff)
    quarter = period_of(today, monthly=False)
    regions = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(list(figures))))}
    made = set(
        session.scalars(
            select(SupervisionMeasure.dedup_key).where(
                SupervisionMeasure.stall.in_([s.value for s in rules]),
                SupervisionMeasure.dedup_key.like(f"r%:{quarter}:%"),
            )
        )
    )
    rows = []
    for code, (open_, overdue, stock) in sorted(figures.items()):
        region = regions.get(code)
        if region is None:
            continue
        for stall, candidates in rules.items():
            for rule in _nearest(candidates, code):
                key = f"r{code}:{stall}:{quarter}:{rule.measure}"
                if key in made:
                    continue
                if stall is Stall.region_overdue_share:
                    if open_ == 0 or overdue * 100 < rule.threshold * open_:
                        continue
                    share = f"{overdue * 100 // open_}%（{overdue}/{open_}项）"
                    why = f"辖区重大事故隐患逾期未整改占比{share}，超过{rule.threshold}%"
                elif stock < rule.threshold:
                    continue
                else:
                    why = f"辖区{cutoff.year}年及以前排查的存量重大事故隐患仍有{stock}项未整改销号"
                rows.append(
                    {
                        "dedup_key": key,
                        "measure": rule.measure,
                        "rung": RUNG[Measure(rule.measure)],
                        "state": MeasureState.proposed.value,
                        "stall": stall.value,
                        "target_kind": "region",
                        "target_region_code": code,
                        "issuer": Issuer.higher_level.value,
                        "issuer_region_code": region.parent_code or code,
                        "rule_id": rule.id,
                        "rule_version": rule.version,
                        "needs_confirmation": rule.needs_confirmation,
                        "response_days": rule.response_days,
                        "reason": f"{region.name}{why}",
                        "legal_basis": rule.legal_basis,
                        "proposed_at": now,
                        "version": 1,
                    }
                )
    if not rows:
        return 0
    ins = (pg_insert if is_postgres(session) else sqlite_insert)(SupervisionMeasure)
    stmt = ins.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(SupervisionMeasure.id)
    return len(session.execute(stmt, rows).all())  # one statement compiled, batched by the driver


def latest_base(calendar: WorkCalendar, today: date, threshold: int, working: bool) -> date | None:
    """The latest day whose ``threshold`` (working) days have run out by ``today``: a deadline on or before it
    is late enough for the rule. None while the holiday table for the days in between is missing."""
    day = today
    try:
        while calendar.add_days(day, threshold, working=working) > today:
            day -= timedelta(days=1)
    except CalendarYearUnknown:
        return None
    return day


def _measure_rows(rule: EscalationRule, now: datetime, dedup, **columns):
    """The columns every stall's INSERT … SELECT writes, from a rule and the stall's own expressions."""
    return [
        dedup.label("dedup_key"),
        literal(rule.measure).label("measure"),
        literal(RUNG[Measure(rule.measure)]).label("rung"),
        literal(MeasureState.proposed.value).label("state"),
        literal(rule.stall).label("stall"),
        literal(rule.issuer).label("issuer"),
        literal(rule.id).label("rule_id"),
        literal(rule.version).label("rule_version"),
        literal(rule.needs_confirmation).label("needs_confirmation"),
        literal(rule.response_days).label("response_days"),
        literal(rule.legal_basis).label("legal_basis"),
        literal(now, UTCDateTime).label("proposed_at"),
        literal(1).label("version"),
        *(expr.label(name) for name, expr in columns.items()),
    ]


def _insert_measures(session: Session, source) -> int:
    """INSERT … SELECT into the measures, skipping dedup keys that exist; the count comes from RETURNING
    (rowcount is not reliable for INSERT … SELECT on every driver)."""
    ins = pg_insert if is_postgres(session) else sqlite_insert
    cols = [c.name for c in source.selected_columns]
    stmt = (
        ins(SupervisionMeasure)
        .from_select(cols, source)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(SupervisionMeasure.id)
    )
    return len(session.execute(stmt).all())


def _propose_late_filings(session: Session, now: datetime) -> int:
    """Enterprises that have not filed the last quarter's (or last year's) statistics the rule's days after
    they were due. Pending filings are opened set-based first, so those who never started are seen."""
    rules = _rules_for(session, Stall.filing_late)
    if not rules:
        return 0
    today = clock.today_in_china(now)
    periods = [period_to_file(now), parse_period(str(today.year - 1))]
    for p in periods:
        owed = select(func.count()).select_from(Enterprise).where(Enterprise.created_at < _china_day_after(p.end))
        opened = select(func.count()).select_from(Filing).where(Filing.period == p.code)
        if p.due_on < today and session.scalar(opened) < session.scalar(owed):
            open_period(session, p.code, now)  # once per period, not on every sweep
    calendar = load_calendar(session)
    fl, e, i, reg = Filing, Enterprise, Industry, Region
    proposed = 0
    for rule in rules:
        last = latest_base(calendar, today, rule.threshold, rule.working_days)
        if last is None:
            continue
        higher = rule.issuer == Issuer.higher_level.value
        kind = case((fl.kind == "annual", literal("年度")), else_=literal("季度"))
        source = (
            select(
                *_measure_rows(
                    rule,
                    now,
                    literal("e")
                    + cast(e.id, String)
                    + literal(f":{rule.stall}:")
                    + fl.period
                    + literal(f":{rule.measure}"),
                    target_kind=literal("enterprise"),
                    target_enterprise_id=e.id,
                    target_region_code=e.region_code,
                    issuer_department_id=literal(None, Integer)
                    if higher
                    else lead_department_sql(e.region_code, i.sector_code),
                    issuer_region_code=func.coalesce(reg.parent_code, e.region_code) if higher else e.region_code,
                    sector_code=i.sector_code,
                    reason=e.name + literal("未按期报送") + fl.period + kind + literal("重大事故隐患统计报表"),
                )
            )
            .select_from(fl)
            .join(e, e.id == fl.enterprise_id)
            .join(i, i.code == e.industry_code)
            .join(reg, reg.code == e.region_code)
            .where(
                fl.filed_at.is_(None),
                fl.due_on <= last,
                # a period the enterprise existed in by its end (one registered later owes nothing for it)
                or_(*(and_(fl.period == p.code, e.created_at < _china_day_after(p.end)) for p in periods)),
                _in_jurisdiction(e.region_code, rule, rules),
            )
        )
        proposed += _insert_measures(session, source)
    return proposed


def _china_day_after(day: date):
    return literal(clock.day_end_utc(day), UTCDateTime)


def _propose_late_complaints(session: Session, now: datetime) -> int:
    """Complaints not concluded within their handling days or not answered within their reply days: a stall
    of the department handling them, supervised from above. The reason names the case, never the reporter."""
    rules = _rules_for(session, Stall.complaint_late)
    if not rules:
        return 0
    today = clock.today_in_china(now)
    calendar = load_calendar(session)
    c, reg = Complaint, Region
    proposed = 0
    for rule in rules:
        last = latest_base(calendar, today, rule.threshold, rule.working_days)
        if last is None:
            continue
        higher = rule.issuer == Issuer.higher_level.value
        for what, due, states, text_ in (
            ("handling", c.handling_due_on, HANDLING, "举报件逾期未办结（第"),
            ("reply", c.reply_due_on, REPLY_PENDING, "举报件办结后逾期未答复举报人（第"),
        ):
            source = (
                select(
                    *_measure_rows(
                        rule,
                        now,
                        literal("c")
                        + cast(c.id, String)
                        + literal(f":{rule.stall}:{what}:")
                        + cast(due, String)
                        + literal(f":{rule.measure}"),
                        target_kind=literal("department"),
                        target_department_id=c.department_id,
                        target_region_code=c.region_code,
                        issuer_department_id=literal(None, Integer) if higher else c.department_id,
                        issuer_region_code=func.coalesce(reg.parent_code, c.region_code) if higher else c.region_code,
                        sector_code=c.sector_code,
                        reason=literal(text_) + cast(c.id, String) + literal("号），期限") + cast(due, String),
                    )
                )
                .select_from(c)
                .join(reg, reg.code == c.region_code)
                .where(
                    c.state.in_([s.value for s in states]),
                    due.is_not(None),
                    due <= last,
                    _in_jurisdiction(c.region_code, rule, rules),
                )
            )
            proposed += _insert_measures(session, source)
    return proposed


# --- the stall families the sweep iterates over --------------------------------------------------------------


class StallFamily(Protocol):
    """One kind of stall: ``propose`` inserts, set-based, the measures its stalls call for on ``now``'s day
    (deduplicated by key, so a rerun proposes nothing twice) and says how many it made."""

    name: str

    def propose(self, session: Session, now: datetime, cutoff: date) -> int: ...


class HazardStalls:
    """A hazard stuck in a state (not assigned, not started, overdue, failed, not verified, not closed):
    its timers, due by today."""

    name = "hazard"

    def propose(self, session: Session, now: datetime, cutoff: date) -> int:
        return _propose_due(session, now)


class SelfInspectionStalls:
    """An enterprise with no principal-led self-inspection in a finished quarter (month, high-risk)."""

    name = "self_inspection"

    def propose(self, session: Session, now: datetime, cutoff: date) -> int:
        return _propose_self_inspection(session, now)


class RegionStalls:
    """A county or prefecture whose overdue share or open stock is above its rule, once a quarter."""

    name = "region"

    def propose(self, session: Session, now: datetime, cutoff: date) -> int:
        return _propose_regions(session, now, cutoff)


class FilingStalls:
    """An enterprise that has not filed its 季报/年报 the rule's days after it was due."""

    name = "filing"

    def propose(self, session: Session, now: datetime, cutoff: date) -> int:
        return _propose_late_filings(session, now)


class ComplaintStalls:
    """A complaint not concluded, or not answered, by its deadline: the handling department's stall."""

    name = "complaint"

    def propose(self, session: Session, now: datetime, cutoff: date) -> int:
        return _propose_late_complaints(session, now)


class UnservedDocumentStalls:
    """An issued measure whose document has no recorded service (送达回证) the rule's days after issue."""

    name = "document"

    def propose(self, session: Session, now: datetime, cutoff: date) -> int:
        return _propose_unserved_documents(session, now)


# In this order, each in its own transaction: the hazard stalls first, as they are the most and the most urgent.
FAMILIES: tuple[StallFamily, ...] = (
    HazardStalls(),
    SelfInspectionStalls(),
    RegionStalls(),
    FilingStalls(),
    ComplaintStalls(),
    UnservedDocumentStalls(),
)


def _propose_unserved_documents(session: Session, now: datetime) -> int:
    """Issued measures whose document has no recorded service (送达回证) the rule's days after issue, the target
    not having acknowledged it either: a stall of the issuing side, one measure per document. Measures of this
    stall are not watched themselves (no chain of reminders about reminders). No default rule exists."""
    rules = _rules_for(session, Stall.document_not_served)
    if not rules:
        return 0
    today = clock.today_in_china(now)
    calendar = load_calendar(session)
    m, reg = SupervisionMeasure, Region
    proposed = 0
    for rule in rules:
        last = latest_base(calendar, today, rule.threshold, rule.working_days)
        if last is None:
            continue
        higher = rule.issuer == Issuer.higher_level.value
        by_department = m.issuer_department_id.is_not(None)
        source = (
            select(
                *_measure_rows(
                    rule,
                    now,
                    literal("m") + cast(m.id, String) + literal(f":{rule.stall}:{rule.measure}"),
                    target_kind=case((by_department, literal("department")), else_=literal("region")),
                    target_enterprise_id=literal(None, Integer),
                    target_department_id=m.issuer_department_id,
                    target_region_code=m.issuer_region_code,
                    hazard_id=m.hazard_id,
                    issuer_department_id=literal(None, Integer) if higher else m.issuer_department_id,
                    issuer_region_code=func.coalesce(reg.parent_code, m.issuer_region_code)
                    if higher
                    else m.issuer_region_code,
                    sector_code=m.sector_code,
                    reason=literal("执法文书") + m.document_number + literal("签发后未按期送达"),
                )
            )
            .select_from(m)
            .join(reg, reg.code == m.issuer_region_code)
            .where(
                m.state == MeasureState.issued.value,
                m.stall != Stall.document_not_served.value,
                m.document_number.is_not(None),
                m.issued_at < _china_day_after(last),
                ~exists().where(DocumentService.measure_id == m.id),
                _in_jurisdiction(m.issuer_region_code, rule, rules),
            )
        )
        proposed += _insert_measures(session, source)
    return proposed
