"""Supervision API: measures and their life, a hazard's supervision history, rules, the holiday table, and
the public exposure list (no login)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import InvalidInput
from hazard_registry.hazards import service as hazards
from hazard_registry.pagination import Cursor, Page
from hazard_registry.supervision import inspections, service
from hazard_registry.supervision.models import Issuer, Measure, MeasureState, Stall
from hazard_registry.types import (
    Id,
    IdPath,
    IfMatch,
    Input,
    RegionCode,
    RegionQuery,
    Version,
    expected_version,
)

router = APIRouter(prefix="/api/v1", tags=["supervision"], route_class=SessionRoute)
public = APIRouter(prefix="/api/v1/public", tags=["public"], route_class=SessionRoute)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class MeasureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    measure: Measure
    rung: int
    state: MeasureState
    stall: str
    target_kind: str
    target_enterprise_id: int | None
    target_department_id: int | None
    target_region_code: str
    hazard_id: int | None
    issuer: str
    issuer_department_id: int | None
    issuer_region_code: str
    rule_id: int | None
    rule_version: int | None
    reason: str
    legal_basis: str | None
    document_number: str | None
    proposed_at: datetime
    issued_at: datetime | None
    response_due: date | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    withdrawn_reason: str | None
    taken_down_at: datetime | None
    version: int
    allowed_actions: list[str] = Field(default_factory=list)


class MeasureAction(Input):
    action: Literal["issue", "acknowledge", "resolve", "withdraw"]
    version: Version | None = None
    note: Text | None = Field(None, description="Outcome (resolve), reason (withdraw) or a remark")


class ExposureOut(BaseModel):
    id: int
    enterprise_name: str
    hazard_summary: str
    measure: str
    legal_basis: str | None
    document_number: str | None
    published_on: date | None


def _out(actor, m) -> MeasureOut:
    out = MeasureOut.model_validate(m)
    out.allowed_actions = service.allowed_actions(actor, m)
    return out


class MeasurePage(Page[MeasureOut]):
    pass


@router.get("/measures", response_model=MeasurePage, operation_id="list_measures")
def list_measures(
    actor: CurrentActor,
    session: DbSession,
    state: Annotated[list[MeasureState] | None, Query()] = None,
    measure: Annotated[list[Measure] | None, Query()] = None,
    hazard_id: Id | None = None,
    enterprise_id: Id | None = None,
    region: RegionQuery = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MeasurePage:
    rows, next_cursor = service.list_measures(
        session,
        actor,
        state=[s.value for s in state] if state else None,
        measure=[m.value for m in measure] if measure else None,
        hazard_id=hazard_id,
        enterprise_id=enterprise_id,
        region=region,
        cursor=cursor,
        limit=limit,
    )
    return MeasurePage(items=[_out(actor, m) for m in rows], next_cursor=next_cursor)


@router.get("/measures/{measure_id}", response_model=MeasureOut, operation_id="get_measure")
def get_measure(measure_id: IdPath, actor: CurrentActor, session: DbSession) -> MeasureOut:
    return _out(actor, service.get_visible(session, actor, measure_id))


@router.post(
    "/measures/{measure_id}/actions",
    response_model=MeasureOut,
    operation_id="act_on_measure",
    responses={
        409: {"description": "Wrong state or stale version"},
        428: {"description": "The version was not sent (If-Match header or 'version' field)"},
    },
)
def act_on_measure(
    measure_id: IdPath, body: MeasureAction, actor: CurrentActor, session: DbSession, if_match: IfMatch = None
) -> MeasureOut:
    """One action on a measure. The version is required like every life-cycle's (If-Match or ``version``):
    without it 428 ``version_required``, stale 409 ``version_conflict``."""
    m = service.act(
        session,
        actor,
        measure_id,
        body.action,
        note=body.note,
        expected_version=expected_version(if_match, body.version),
        now=clock.now(),
    )
    session.commit()
    return _out(actor, m)


@router.get("/hazards/{hazard_id}/measures", response_model=MeasurePage, operation_id="hazard_supervision")
def hazard_supervision(
    hazard_id: IdPath, actor: CurrentActor, session: DbSession, cursor: Cursor = None
) -> MeasurePage:
    hazards.get_visible(session, actor, hazard_id)
    rows, next_cursor = service.list_measures(session, actor, hazard_id=hazard_id, cursor=cursor, limit=200)
    return MeasurePage(items=[_out(actor, m) for m in rows], next_cursor=next_cursor)


@public.get("/exposures", response_model=Page[ExposureOut], operation_id="public_exposures")
def public_exposures(
    session: DbSession,
    region: RegionQuery = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ExposureOut]:
    """Enterprises publicly exposed (曝光) for major hazards: name, hazard summary, measure, legal basis and
    date only. An exposure disappears once taken down (the hazard closed or the measure resolved)."""
    rows, next_cursor = service.public_exposures(session, region, limit, cursor)
    return Page[ExposureOut](items=[ExposureOut(**row) for row in rows], next_cursor=next_cursor)


class MeasureEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    actor_name: str
    at: datetime
    note: str | None


@router.get("/measures/{measure_id}/events", response_model=Page[MeasureEventOut], operation_id="measure_events")
def measure_events(measure_id: IdPath, actor: CurrentActor, session: DbSession) -> Page[MeasureEventOut]:
    """What happened to a measure: proposed by the sweep, issued (with its 文号), acknowledged, taken down…"""
    m = service.get_visible(session, actor, measure_id)
    return Page[MeasureEventOut](items=[MeasureEventOut.model_validate(e) for e in service.events(session, m)])


# --- self-inspections ---------------------------------------------------------------------------------------


@router.post(
    "/self-inspections",
    response_model=inspections.SelfInspectionOut,
    status_code=201,
    operation_id="record_self_inspection",
)
def record_self_inspection(
    body: inspections.SelfInspectionCreate, actor: CurrentActor, session: DbSession
) -> inspections.SelfInspectionOut:
    """An enterprise records an inspection for major hazards (自查). Only one its principal led meets the
    quarterly (high-risk: monthly) duty; recording it withdraws the sweep's unissued proposals for that period."""
    row = inspections.record(session, actor, body, clock.now())
    session.commit()
    return inspections.SelfInspectionOut.model_validate(row)


@router.get(
    "/self-inspections", response_model=Page[inspections.SelfInspectionOut], operation_id="list_self_inspections"
)
def list_self_inspections(
    actor: CurrentActor,
    session: DbSession,
    enterprise_id: Id | None = None,
    since: date | None = None,
    until: date | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[inspections.SelfInspectionOut]:
    rows, next_cursor = inspections.list_visible(
        session, actor, enterprise_id=enterprise_id, since=since, until=until, cursor=cursor, limit=limit
    )
    return Page[inspections.SelfInspectionOut](
        items=[inspections.SelfInspectionOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/self-inspections/duty", response_model=inspections.DutyList, operation_id="self_inspection_duty")
def self_inspection_duty(
    actor: CurrentActor,
    session: DbSession,
    missed_only: bool = False,
    as_of: date | None = None,
    after: Annotated[Id | None, Query(description="Enterprise id to continue after")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> inspections.DutyList:
    """Who met the self-inspection duty in the last finished quarter (a principal-led inspection; every month of it
    in high-risk industries), for the enterprises the caller oversees; ``missed_only`` lists the late ones."""
    return inspections.duty_list(
        session, actor, as_of or clock.today_in_china(), missed_only=missed_only, after=after, limit=limit
    )


@router.get(
    "/self-inspections/{inspection_id}",
    response_model=inspections.SelfInspectionOut,
    operation_id="get_self_inspection",
)
def get_self_inspection(
    inspection_id: IdPath, actor: CurrentActor, session: DbSession
) -> inspections.SelfInspectionOut:
    return inspections.SelfInspectionOut.model_validate(inspections.get_visible(session, actor, inspection_id))


# --- rules ----------------------------------------------------------------------------------------------------

RuleKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    version: int
    region_code: str | None = Field(description="None: the national default; a region's own rules win below it")
    stall: Stall
    threshold: int
    working_days: bool
    measure: Measure
    issuer: Issuer
    needs_confirmation: bool
    response_days: int
    legal_basis: str | None
    active: bool
    created_at: datetime
    retired_at: datetime | None


class _RuleFields(Input):
    @model_validator(mode="after")
    def _share_is_a_percentage(self):
        if getattr(self, "stall", None) is Stall.region_overdue_share and (self.threshold or 0) > 100:
            raise ValueError("the threshold of region_overdue_share is a percentage (≤ 100)")
        return self


class RuleCreate(_RuleFields):
    key: RuleKey
    region_code: RegionCode
    stall: Stall
    threshold: int = Field(
        ge=1,
        le=3650,
        description="Days (working or calendar) after the stall begins; for overdue, after the deadline; "
        "for verification_failed, failed verifications; region_overdue_share: percent; region_stock_open: a count",
    )
    working_days: bool = True
    measure: Measure
    issuer: Issuer = Issuer.lead_department
    needs_confirmation: bool = True
    response_days: int = Field(10, ge=1, le=365)
    legal_basis: str | None = Field(None, max_length=2000)


class RuleRevise(_RuleFields):
    threshold: int | None = Field(None, ge=1, le=3650)
    working_days: bool | None = None
    measure: Measure | None = None
    issuer: Issuer | None = None
    needs_confirmation: bool | None = None
    response_days: int | None = Field(None, ge=1, le=365)
    legal_basis: str | None = Field(None, max_length=2000)
    active: bool | None = Field(None, description="false switches the rule off from the next version on")


@router.get("/escalation-rules", response_model=Page[RuleOut], operation_id="list_escalation_rules")
def list_escalation_rules(
    actor: CurrentActor,
    session: DbSession,
    region: Annotated[RegionCode | None, Query(description="A region's own rules and the national defaults")] = None,
    include_retired: bool = False,
) -> Page[RuleOut]:
    service.require_rule_reader(actor)
    return Page[RuleOut](
        items=[RuleOut.model_validate(r) for r in service.list_rules(session, region, include_retired)]
    )


@router.post("/escalation-rules", response_model=RuleOut, status_code=201, operation_id="create_escalation_rule")
def create_escalation_rule(body: RuleCreate, actor: CurrentActor, session: DbSession) -> RuleOut:
    """A region's own rule (an administrator of that region or above). For a stall it sets rules for, the
    region's rules replace the defaults of the levels above; existing timers keep their old rule."""
    rule = service.create_rule(session, actor, body.model_dump(), clock.now())
    session.commit()
    return RuleOut.model_validate(rule)


@router.post(
    "/escalation-rules/{rule_id}/revisions",
    response_model=RuleOut,
    status_code=201,
    operation_id="revise_escalation_rule",
)
def revise_escalation_rule(rule_id: IdPath, body: RuleRevise, actor: CurrentActor, session: DbSession) -> RuleOut:
    """The next version of a rule. Deadlines and measures already made keep the version that made them."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change", code="empty_revision")
    rule = service.revise_rule(session, actor, rule_id, changes, clock.now())
    session.commit()
    return RuleOut.model_validate(rule)


# --- the holiday table -----------------------------------------------------------------------------------------


class CalendarYearIn(Input):
    holidays: list[date] = Field(max_length=60, description="Days off (法定节假日 and the days moved to them)")
    workdays: list[date] = Field(default_factory=list, max_length=20, description="调休: weekend days worked")
    source: str | None = Field(None, max_length=500, description="e.g. 国务院办公厅关于2027年部分节假日安排的通知")


class CalendarYearOut(BaseModel):
    year: int
    source: str
    holidays: list[date]
    workdays: list[date]
    timers_updated: int | None = None


Year = Annotated[int, Path(ge=2004, le=2100)]


@router.get("/calendar/{year}", response_model=CalendarYearOut, operation_id="get_calendar_year")
def get_calendar_year(year: Year, actor: CurrentActor, session: DbSession) -> CalendarYearOut:
    """The exceptions to Monday–Friday for a year, as the engine counts working days: holidays and 调休."""
    return CalendarYearOut(**service.calendar_year(session, year))


@router.put("/calendar/{year}", response_model=CalendarYearOut, operation_id="load_calendar_year")
def load_calendar_year(year: Year, body: CalendarYearIn, actor: CurrentActor, session: DbSession) -> CalendarYearOut:
    """Load a year's holiday table (the State Council's notice) that the package does not know yet; timers that
    were waiting for it get their due days. Loading again replaces the table."""
    try:
        updated = service.load_year(session, actor, year, body.holidays, body.workdays, body.source)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="calendar_invalid") from exc
    session.commit()
    out = get_calendar_year(year, actor, session)
    out.timers_updated = updated
    return out
