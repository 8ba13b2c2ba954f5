"""Self-inspections (自查): an enterprise records the inspections for major hazards its principal led. The
sweep flags an enterprise with none in a finished quarter (a month in high-risk industries); recording a late
one withdraws the proposals for that period that nobody has issued yet."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, case, distinct, extract, func, or_, select
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import SYSTEM, Actor, Role, enterprise_scope
from hazard_registry.errors import Forbidden, InvalidInput, NotFound
from hazard_registry.hazards.models import Hazard
from hazard_registry.pagination import cut, keyset
from hazard_registry.reference.models import Enterprise, Industry, Sector
from hazard_registry.statistics.periods import last_quarter_ended
from hazard_registry.supervision import workflow as measures
from hazard_registry.supervision.models import Measure, MeasureState, SelfInspection, Stall, SupervisionMeasure
from hazard_registry.types import MAX_ID, Id, Input


class SelfInspectionCreate(Input):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    __orm__ = SelfInspection

    inspected_on: date
    led_by: str = Field(min_length=1, max_length=64, description="Who led it (name)")
    led_by_principal: bool = Field(description="The principal (主要负责人) led it; only such inspections count")
    scope: str = Field(min_length=1, max_length=4000, description="Sites, units and systems inspected")
    hazards_found: int = Field(0, ge=0, le=10_000, description="Major hazards found")
    hazard_ids: list[Id] = Field(default_factory=list, max_length=500, description="Those reported to the register")
    note: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _found_covers_reported(self) -> SelfInspectionCreate:
        if len(set(self.hazard_ids)) > self.hazards_found:
            raise ValueError("hazards_found is smaller than the number of hazard_ids")
        if any(not 1 <= i <= MAX_ID for i in self.hazard_ids):
            raise ValueError("hazard_ids holds an id out of range")
        return self


class SelfInspectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    enterprise_id: int
    inspected_on: date
    led_by: str
    led_by_principal: bool
    scope: str
    hazards_found: int
    hazard_ids: list[int]
    note: str | None
    recorded_at: datetime


def period_of(day: date, monthly: bool) -> str:
    return f"{day.year}-{day.month:02d}" if monthly else f"{day.year}Q{(day.month - 1) // 3 + 1}"


def _scope(actor: Actor):
    return enterprise_scope(actor, Enterprise, Industry)


def record(session: Session, actor: Actor, data: SelfInspectionCreate, now: datetime) -> SelfInspection:
    if actor.role is not Role.enterprise or not actor.enterprise_id:
        raise Forbidden("an enterprise records its own self-inspections", code="role_forbidden")
    today = clock.today_in_china(now)
    if data.inspected_on > today:
        raise InvalidInput(
            "an inspection cannot be recorded before it happens",
            errors=[{"field": "inspected_on", "message": "after today"}],
        )
    ids = sorted(set(data.hazard_ids))
    if ids:
        mine = set(
            session.scalars(select(Hazard.id).where(Hazard.id.in_(ids), Hazard.enterprise_id == actor.enterprise_id))
        )
        if missing := [i for i in ids if i not in mine]:
            raise InvalidInput(
                "hazard_ids must be hazards of your enterprise",
                errors=[{"field": "hazard_ids", "message": f"not yours: {missing}"}],
            )
    row = SelfInspection(
        enterprise_id=actor.enterprise_id,
        inspected_on=data.inspected_on,
        led_by=data.led_by,
        led_by_principal=data.led_by_principal,
        scope=data.scope,
        hazards_found=data.hazards_found,
        hazard_ids=ids,
        note=data.note,
        recorded_by_id=actor.user_id,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    if data.led_by_principal:
        # The duty for this period is met, late or not: proposals nobody has issued yet are moot.
        periods = [period_of(data.inspected_on, monthly) for monthly in (False, True)]
        moot = session.scalars(
            select(SupervisionMeasure).where(
                SupervisionMeasure.target_enterprise_id == actor.enterprise_id,
                SupervisionMeasure.stall == Stall.self_inspection_missed.value,
                SupervisionMeasure.state == MeasureState.proposed.value,
                SupervisionMeasure.dedup_key.in_(
                    [
                        f"e{actor.enterprise_id}:{Stall.self_inspection_missed.value}:{p}:{m}"
                        for p in periods
                        for m in Measure
                    ]
                ),
            )
        ).all()  # fmt: skip
        for m in moot:
            measures.record(session, m, SYSTEM, "withdraw", now, note="企业已补报主要负责人组织的自查，建议自动撤回")
            m.state, m.withdrawn_reason = MeasureState.withdrawn, "self-inspection recorded before issue"
        session.flush()
    return row


def get_visible(session: Session, actor: Actor, inspection_id: int) -> SelfInspection:
    row = session.scalar(
        select(SelfInspection)
        .join(Enterprise, Enterprise.id == SelfInspection.enterprise_id)
        .join(Industry, Industry.code == Enterprise.industry_code)
        .where(SelfInspection.id == inspection_id, _scope(actor))
    )
    if row is None:
        raise NotFound(f"self-inspection {inspection_id} not found", code="self_inspection_not_found")
    return row


def list_visible(
    session: Session,
    actor: Actor,
    *,
    enterprise_id: int | None,
    since: date | None,
    until: date | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[SelfInspection], str | None]:
    """A keyset page of the self-inspections the caller may see, newest first, and the next page's cursor."""
    stmt = (
        select(SelfInspection)
        .join(Enterprise, Enterprise.id == SelfInspection.enterprise_id)
        .join(Industry, Industry.code == Enterprise.industry_code)
        .where(_scope(actor))
    )
    if enterprise_id:
        stmt = stmt.where(SelfInspection.enterprise_id == enterprise_id)
    if since:
        stmt = stmt.where(SelfInspection.inspected_on >= since)
    if until:
        stmt = stmt.where(SelfInspection.inspected_on <= until)
    return cut(session.scalars(keyset(stmt, SelfInspection.id, cursor, limit)).all(), limit)


# --- the duty: who met it in the last finished quarter --------------------------------------------------------


def duty_met(start: date, end: date) -> ColumnElement[bool]:
    """For a row of ``Enterprise`` joined to its ``Industry`` and ``Sector``: its principal led an inspection
    between ``start`` and ``end`` (a quarter), in every month of it when the enterprise or its sector is high-risk."""
    si = SelfInspection
    months = (
        select(func.count(distinct(extract("month", si.inspected_on))))
        .where(si.enterprise_id == Enterprise.id, si.led_by_principal.is_(True), si.inspected_on.between(start, end))
        .scalar_subquery()
    )
    high_risk = or_(Enterprise.high_risk.is_(True), Sector.high_risk.is_(True))
    return case((high_risk, months >= 3), else_=months >= 1)


class DutyRow(BaseModel):
    enterprise_id: int
    enterprise: str
    uscc: str
    region_code: str
    high_risk: bool
    last_inspected_on: date | None
    met: bool


class DutyList(BaseModel):
    quarter: str
    start: date
    end: date
    items: list[DutyRow]
    next_after: int | None = None


def duty_list(
    session: Session, actor: Actor, as_of: date, *, missed_only: bool, after: int | None, limit: int
) -> DutyList:
    """Enterprises the caller oversees and whether each met the self-inspection duty in the last finished
    quarter (the same test as the compliance figure); ``missed_only`` keeps those who did not."""
    if actor.role is Role.enterprise:
        raise Forbidden("regulators list who inspected; an enterprise reads its own records", code="role_forbidden")
    q = last_quarter_ended(as_of)
    e, si = Enterprise, SelfInspection
    met = duty_met(q.start, q.end).label("met")
    last = (
        select(func.max(si.inspected_on))
        .where(si.enterprise_id == e.id, si.led_by_principal.is_(True), si.inspected_on <= q.end)
        .scalar_subquery()
        .label("last_inspected_on")
    )
    stmt = (
        select(e.id, e.name, e.uscc, e.region_code, or_(e.high_risk.is_(True), Sector.high_risk.is_(True)), last, met)
        .join(Industry, Industry.code == e.industry_code)
        .join(Sector, Sector.code == Industry.sector_code)
        .where(_scope(actor), e.created_at < clock.day_end_utc(q.end))  # those that existed in the quarter
    )
    if missed_only:
        stmt = stmt.where(~duty_met(q.start, q.end))
    if after:
        stmt = stmt.where(e.id > after)
    rows = session.execute(stmt.order_by(e.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return DutyList(
        quarter=q.code,
        start=q.start,
        end=q.end,
        items=[
            DutyRow(
                enterprise_id=r[0],
                enterprise=r[1],
                uscc=r[2],
                region_code=r[3],
                high_risk=bool(r[4]),
                last_inspected_on=r[5],
                met=bool(r[6]),
            )
            for r in rows
        ],
        next_after=rows[-1][0] if more and rows else None,
    )
