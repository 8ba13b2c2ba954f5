"""Notices API (administrators): the outbox of their region, its dead letters, and retrying one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import InvalidInput
from hazard_registry.notices import reminders, service
from hazard_registry.notices.models import Channel, NoticeAction, NoticeStatus, RecipientRole, ReminderKind
from hazard_registry.pagination import Cursor, Page
from hazard_registry.types import Id, IdPath

router = APIRouter(prefix="/api/v1", tags=["notices"], route_class=SessionRoute)


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dedup_key: str
    measure_id: int | None = Field(description="None for a reminder before a deadline (action remind)")
    action: NoticeAction
    channel: Channel
    recipient_role: RecipientRole
    recipient_name: str | None
    address: str | None
    phone: str | None
    region_code: str
    subject: str | None
    body: str | None
    status: NoticeStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("/notices", response_model=Page[NoticeOut], operation_id="list_notices")
def list_notices(
    actor: CurrentActor,
    session: DbSession,
    status: NoticeStatus | None = None,
    measure_id: Id | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[NoticeOut]:
    """Notices to the people concerned by measures of the administrator's region; `status=dead` lists the
    dead letters (given up after `HAZARD_NOTICE_MAX_ATTEMPTS`)."""
    rows, next_cursor = service.list_notices(
        session, actor, status=status.value if status else None, measure_id=measure_id, cursor=cursor, limit=limit
    )
    return Page[NoticeOut](items=[NoticeOut.model_validate(n) for n in rows], next_cursor=next_cursor)


@router.get("/notices/{notice_id}", response_model=NoticeOut, operation_id="get_notice")
def get_notice(notice_id: IdPath, actor: CurrentActor, session: DbSession) -> NoticeOut:
    return NoticeOut.model_validate(service.get_visible(session, actor, notice_id))


@router.post("/notices/{notice_id}/retry", response_model=NoticeOut, operation_id="retry_notice")
def retry_notice(notice_id: IdPath, actor: CurrentActor, session: DbSession) -> NoticeOut:
    """Put a dead notice back in the queue (attempts start again from zero); 409 unless it is dead."""
    notice = service.retry(session, actor, notice_id, clock.now())
    session.commit()
    return NoticeOut.model_validate(notice)


# --- reminder rules -----------------------------------------------------------------------------------------------

RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}(\d{3})?$")]


class ReminderRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    region_code: str | None = Field(description="None: the national default; a region's own rules win below it")
    kind: ReminderKind
    days_before: int
    working_days: bool
    active: bool
    created_at: datetime


class ReminderRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]
    region_code: RegionCode
    kind: ReminderKind
    days_before: int = Field(ge=1, le=90, description="How many days ahead of the deadline")
    working_days: bool = True


class ReminderRuleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days_before: int | None = Field(None, ge=1, le=90)
    working_days: bool | None = None
    active: bool | None = None


@router.get("/reminder-rules", response_model=Page[ReminderRuleOut], operation_id="list_reminder_rules")
def list_reminder_rules(
    actor: CurrentActor,
    session: DbSession,
    region: Annotated[str | None, Query(pattern=r"^\d{6}(\d{3})?$", description="That region's and above")] = None,
) -> Page[ReminderRuleOut]:
    """Reminders before deadlines: a rectification deadline, a self-inspection period, a 季报/年报, a complaint's
    handling deadline, each with its own offset."""
    return Page[ReminderRuleOut](
        items=[ReminderRuleOut.model_validate(r) for r in reminders.list_rules(session, actor, region)]
    )


@router.post("/reminder-rules", response_model=ReminderRuleOut, status_code=201, operation_id="create_reminder_rule")
def create_reminder_rule(body: ReminderRuleCreate, actor: CurrentActor, session: DbSession) -> ReminderRuleOut:
    rule = reminders.create_rule(session, actor, body.model_dump(), clock.now())
    session.commit()
    return ReminderRuleOut.model_validate(rule)


@router.patch("/reminder-rules/{rule_id}", response_model=ReminderRuleOut, operation_id="change_reminder_rule")
def change_reminder_rule(
    rule_id: IdPath, body: ReminderRuleChange, actor: CurrentActor, session: DbSession
) -> ReminderRuleOut:
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    if not changes:
        raise InvalidInput("nothing to change", code="empty_revision")
    rule = reminders.change_rule(session, actor, rule_id, changes)
    session.commit()
    return ReminderRuleOut.model_validate(rule)
