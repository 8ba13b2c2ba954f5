"""The rest of DOMAIN §7 beside the hazard figures: supervision measures by rung, the self-inspection duty,
and public complaints — for the same scope, region and sector filters, each one GROUP BY statement.

- measures: by rung, how many were issued on or before ``as_of`` and how many of those stand (issued or
  acknowledged, not taken down), and how many proposals await an officer's confirmation;
- self-inspection compliance for the quarter ending on or before ``as_of``: enterprises that existed by its
  end, and of them those whose principal led an inspection (every month of it in high-risk sectors);
- complaints received up to ``as_of``, accepted, concluded substantiated, and handled past their 60 days.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, complaint_scope, enterprise_scope, region_within
from hazard_registry.complaints.models import Complaint
from hazard_registry.reference.models import Enterprise, Industry, Sector
from hazard_registry.statistics.periods import last_quarter_ended
from hazard_registry.statistics.service import StatFilters, count_if, day_end_utc
from hazard_registry.supervision.inspections import duty_met
from hazard_registry.supervision.models import MEASURE_NAMES, RUNG, Measure, SupervisionMeasure
from hazard_registry.supervision.service import measure_scope


class RungFigures(BaseModel):
    measure: Measure
    name: str
    rung: int
    issued: int
    standing: int
    awaiting_confirmation: int


class InspectionCompliance(BaseModel):
    quarter: str
    start: date
    end: date
    obliged: int
    complied: int
    rate: float | None


class ComplaintFigures(BaseModel):
    received: int
    accepted: int
    substantiated: int
    handled_late: int


class Activity(BaseModel):
    as_of: date
    region: str | None
    measures: list[RungFigures]
    self_inspection: InspectionCompliance
    complaints: ComplaintFigures


def last_quarter(as_of: date) -> tuple[str, date, date]:
    """The latest quarter ending on or before ``as_of``."""
    last = last_quarter_ended(as_of)
    return last.code, last.start, last.end


def measures_by_rung(session: Session, actor: Actor, f: StatFilters, as_of: date) -> list[RungFigures]:
    m = SupervisionMeasure
    until = day_end_utc(as_of)
    issued = and_(m.issued_at.is_not(None), m.issued_at < until)
    standing = and_(
        issued,
        or_(m.resolved_at.is_(None), m.resolved_at >= until),
        m.state != "withdrawn",
    )
    where = [measure_scope(actor), m.proposed_at < until]
    if f.region:
        where.append(region_within(m.target_region_code, f.region))
    if f.sector_code:
        where.append(m.sector_code == f.sector_code)
    rows = {
        r.measure: r
        for r in session.execute(
            select(
                m.measure,
                func.sum(count_if(issued)).label("issued"),
                func.sum(count_if(standing)).label("standing"),
                func.sum(count_if(m.state == "proposed")).label("awaiting"),
            )
            .where(*where)
            .group_by(m.measure)
        )
    }
    out = []
    for measure in Measure:
        r = rows.get(measure.value)
        out.append(
            RungFigures(
                measure=measure,
                name=MEASURE_NAMES[measure],
                rung=RUNG[measure],
                issued=int(r.issued or 0) if r else 0,
                standing=int(r.standing or 0) if r else 0,
                awaiting_confirmation=int(r.awaiting or 0) if r else 0,
            )
        )
    return out


def inspection_compliance(session: Session, actor: Actor, f: StatFilters, as_of: date) -> InspectionCompliance:
    code, start, end = last_quarter(as_of)
    e, i, sec = Enterprise, Industry, Sector
    complied = duty_met(start, end)
    where = [enterprise_scope(actor, e, i), e.created_at < day_end_utc(end)]
    if f.region:
        where.append(region_within(e.region_code, f.region))
    if f.industry_code:
        where.append(e.industry_code == f.industry_code)
    if f.sector_code:
        where.append(i.sector_code == f.sector_code)
    row = session.execute(
        select(func.count(), func.sum(count_if(complied)))
        .select_from(e)
        .join(i, i.code == e.industry_code)
        .join(sec, sec.code == i.sector_code)
        .where(*where)
    ).one()
    obliged, ok = int(row[0] or 0), int(row[1] or 0)
    return InspectionCompliance(
        quarter=code,
        start=start,
        end=end,
        obliged=obliged,
        complied=ok,
        rate=round(ok / obliged, 4) if obliged else None,
    )


def complaint_figures(session: Session, actor: Actor, f: StatFilters, as_of: date) -> ComplaintFigures:
    c = Complaint
    until = day_end_utc(as_of)
    concluded = and_(c.concluded_at.is_not(None), c.concluded_at < until)
    late = or_(
        and_(concluded, func.date(c.concluded_at) > c.handling_due_on),
        and_(c.handling_due_on.is_not(None), ~concluded, c.handling_due_on < as_of),
    )
    where = [complaint_scope(actor, c), c.created_at < until, c.merged_into_id.is_(None)]
    if f.region:
        where.append(region_within(c.region_code, f.region))
    if f.sector_code:
        where.append(c.sector_code == f.sector_code)
    row = session.execute(
        select(
            func.count(),
            func.sum(count_if(and_(c.accepted_at.is_not(None), c.accepted_at < until))),
            func.sum(count_if(and_(concluded, c.outcome == "substantiated"))),
            func.sum(count_if(late)),
        ).where(*where)
    ).one()
    return ComplaintFigures(
        received=int(row[0] or 0),
        accepted=int(row[1] or 0),
        substantiated=int(row[2] or 0),
        handled_late=int(row[3] or 0),
    )


def activity(session: Session, actor: Actor, f: StatFilters, as_of: date) -> Activity:
    return Activity(
        as_of=as_of,
        region=f.region,
        measures=measures_by_rung(session, actor, f, as_of),
        self_inspection=inspection_compliance(session, actor, f, as_of),
        complaints=complaint_figures(session, actor, f, as_of),
    )
