"""Notices API (administrators): the outbox of their region, its dead letters, and retrying one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.db import DbSession
from hazard_registry.notices import service
from hazard_registry.notices.models import Channel, NoticeAction, NoticeStatus, RecipientRole
from hazard_registry.types import MAX_ID, IdPath

router = APIRouter(prefix="/api/v1", tags=["notices"])


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dedup_key: str
    measure_id: int
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


@router.get("/notices", response_model=list[NoticeOut], operation_id="list_notices")
def list_notices(
    actor: CurrentActor,
    session: DbSession,
    status: NoticeStatus | None = None,
    measure_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after_id: Annotated[
        int | None, Query(ge=0, le=MAX_ID, description="Keyset: the last id of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NoticeOut]:
    """Notices to the people concerned by measures of the administrator's region; `status=dead` lists the
    dead letters (given up after `HAZARD_NOTICE_MAX_ATTEMPTS`)."""
    rows = service.list_notices(
        session, actor, status=status.value if status else None, measure_id=measure_id, after_id=after_id, limit=limit
    )
    return [NoticeOut.model_validate(n) for n in rows]


@router.get("/notices/{notice_id}", response_model=NoticeOut, operation_id="get_notice")
def get_notice(notice_id: IdPath, actor: CurrentActor, session: DbSession) -> NoticeOut:
    return NoticeOut.model_validate(service.get_visible(session, actor, notice_id))


@router.post("/notices/{notice_id}/retry", response_model=NoticeOut, operation_id="retry_notice")
def retry_notice(notice_id: IdPath, actor: CurrentActor, session: DbSession) -> NoticeOut:
    """Put a dead notice back in the queue (attempts start again from zero); 409 unless it is dead."""
    notice = service.retry(session, actor, notice_id, clock.now())
    session.commit()
    return NoticeOut.model_validate(notice)
