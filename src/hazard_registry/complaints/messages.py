"""Messages between the desk and the reporter, and the complaint's internal history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.complaints import schemas
from hazard_registry.complaints.access import flush, get_visible, no_enterprise
from hazard_registry.complaints.models import (
    ComplaintEvent,
    ComplaintMessage,
)
from hazard_registry.complaints.workflow import (
    TERMINAL,
    event,
    post,
)
from hazard_registry.errors import (
    Forbidden,
    WrongState,
)


def add_message(session: Session, actor: Actor, complaint_id: int, data: schemas.MessageCreate, now: datetime):
    no_enterprise(actor)
    c = get_visible(session, actor, complaint_id, lock=True)
    if actor.role is not Role.regulator:
        raise Forbidden("only handlers write on a complaint", code="role_forbidden")
    if data.kind == "question" and c.state in TERMINAL:
        raise WrongState("the case is closed; the reporter is no longer asked", state=c.state)
    msg = post(session, c, "to_reporter" if data.kind == "question" else "internal", data.kind, data.body, actor, now)
    flush(session)
    event(session, c, actor, f"message_{data.kind}", now, data={"message_id": msg.id})
    return msg


def list_messages(session: Session, actor: Actor, complaint_id: int) -> list[ComplaintMessage]:
    no_enterprise(actor)
    get_visible(session, actor, complaint_id)
    return list(
        session.scalars(
            select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint_id).order_by(ComplaintMessage.id)
        )
    )


def list_events(session: Session, actor: Actor, complaint_id: int) -> list[ComplaintEvent]:
    no_enterprise(actor)
    get_visible(session, actor, complaint_id)
    return list(
        session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id).order_by(ComplaintEvent.id)
        )
    )
