"""Supervision API: measures and their life, a hazard's supervision history, rules, the holiday table, and
the public exposure list (no login)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.db import DbSession
from hazard_registry.hazards import service as hazards
from hazard_registry.supervision import service
from hazard_registry.supervision.models import Measure, MeasureState
from hazard_registry.types import MAX_ID, IdPath, IfMatch, Version, expected_version

router = APIRouter(prefix="/api/v1", tags=["supervision"])
public = APIRouter(prefix="/api/v1/public", tags=["public"])

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


class MeasureAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


@router.get("/measures", response_model=list[MeasureOut], operation_id="list_measures")
def list_measures(
    actor: CurrentActor,
    session: DbSession,
    state: Annotated[list[MeasureState] | None, Query()] = None,
    measure: Annotated[list[Measure] | None, Query()] = None,
    hazard_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    enterprise_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{6}(\d{3})?$")] = None,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[MeasureOut]:
    rows = service.list_measures(
        session,
        actor,
        state=[s.value for s in state] if state else None,
        measure=[m.value for m in measure] if measure else None,
        hazard_id=hazard_id,
        enterprise_id=enterprise_id,
        region=region,
        after_id=after_id,
        limit=limit,
    )
    return [_out(actor, m) for m in rows]


@router.get("/measures/{measure_id}", response_model=MeasureOut, operation_id="get_measure")
def get_measure(measure_id: IdPath, actor: CurrentActor, session: DbSession) -> MeasureOut:
    return _out(actor, service.get_visible(session, actor, measure_id))


@router.post("/measures/{measure_id}/actions", response_model=MeasureOut, operation_id="act_on_measure")
def act_on_measure(
    measure_id: IdPath, body: MeasureAction, actor: CurrentActor, session: DbSession, if_match: IfMatch = None
) -> MeasureOut:
    m = service.get_visible(session, actor, measure_id)
    expected = expected_version(if_match, body.version)
    now = clock.now()
    if body.action == "issue":
        service.issue(session, actor, m, now, expected)
    elif body.action == "acknowledge":
        service.acknowledge(session, actor, m, now, body.note, expected)
    elif body.action == "resolve":
        service.resolve(session, actor, m, now, body.note or "已整改到位", expected)
    else:
        if not body.note:
            from hazard_registry.errors import InvalidInput

            raise InvalidInput(
                "a withdrawal needs its reason in note", errors=[{"field": "note", "message": "required"}]
            )
        service.withdraw(session, actor, m, now, body.note, expected)
    session.commit()
    return _out(actor, m)


@router.get("/hazards/{hazard_id}/measures", response_model=list[MeasureOut], operation_id="hazard_supervision")
def hazard_supervision(hazard_id: IdPath, actor: CurrentActor, session: DbSession) -> list[MeasureOut]:
    hazards.get_visible(session, actor, hazard_id)
    return [_out(actor, m) for m in service.list_measures(session, actor, hazard_id=hazard_id, limit=200)]


@public.get("/exposures", response_model=list[ExposureOut], operation_id="public_exposures")
def public_exposures(
    session: DbSession,
    region: Annotated[str | None, Query(pattern=r"^\d{6}(\d{3})?$")] = None,
    after_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ExposureOut]:
    """Enterprises publicly exposed (曝光) for major hazards: name, hazard summary, measure, legal basis and
    date only. An exposure disappears once taken down (the hazard closed or the measure resolved)."""
    return [ExposureOut(**row) for row in service.public_exposures(session, region, limit, after_id)]
