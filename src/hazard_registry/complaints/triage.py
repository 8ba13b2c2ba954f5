"""Triage: the handler's view of complaints — lists, deadlines, and the actions of the life-cycle."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hazard_registry import workflow as kernel
from hazard_registry.auth.principal import Actor, complaint_scope
from hazard_registry.complaints import schemas
from hazard_registry.complaints.access import no_enterprise
from hazard_registry.complaints.models import (
    Complaint,
)
from hazard_registry.complaints.workflow import (
    HANDLING,
    REPLY_PENDING,
    WORKFLOW,
)
from hazard_registry.pagination import cut, keyset


def handling_overdue(c: Complaint, today: date) -> bool:
    """Late from the day after the due date: accepted on day 0, due on day 60, overdue on day 61."""
    return c.state in HANDLING and c.handling_due_on is not None and c.handling_due_on < today


def reply_overdue(c: Complaint, today: date) -> bool:
    return c.state in REPLY_PENDING and c.reply_due_on is not None and c.reply_due_on < today


def to_out(c: Complaint, actor: Actor, today: date) -> schemas.ComplaintOut:
    out = schemas.ComplaintOut.model_validate(c)
    out.handling_overdue = handling_overdue(c, today)
    out.reply_overdue = reply_overdue(c, today)
    out.allowed_actions = WORKFLOW.allowed_actions(c, actor)
    return out


def list_complaints(
    session: Session, actor: Actor, *, state: list[str], overdue: bool | None, cursor: str | None, limit: int, today
) -> tuple[list[Complaint], str | None]:
    """A keyset page of the complaints in the caller's scope, newest first, and the next page's cursor."""
    no_enterprise(actor)
    stmt = select(Complaint).where(complaint_scope(actor, Complaint))
    if state:
        stmt = stmt.where(Complaint.state.in_(state))
    if overdue:
        stmt = stmt.where(or_(*overdue_clauses(today)))
    return cut(session.scalars(keyset(stmt, Complaint.id, cursor, limit)).all(), limit)


def overdue_clauses(today: date) -> list[Any]:
    return [
        (Complaint.state.in_([s.value for s in HANDLING])) & (Complaint.handling_due_on < today),
        (Complaint.state.in_([s.value for s in REPLY_PENDING])) & (Complaint.reply_due_on < today),
    ]


def due_for_escalation(session: Session, today: date) -> list[Complaint]:
    """Every complaint past a deadline: for the escalation engine (a missed deadline is a regulator stall)."""
    return list(session.scalars(select(Complaint).where(or_(*overdue_clauses(today))).order_by(Complaint.id)))


def transition(
    session: Session, actor: Actor, complaint_id: int, body: Any, *, expected_version: int | None, now: datetime
) -> Complaint:
    """One handler action on a complaint through the workflow kernel: its history event and what the
    reporter is told are written with it."""
    no_enterprise(actor)
    payload = body.model_dump(exclude={"action", "version", "note"})
    if getattr(body, "hazard", None) is not None:
        payload["hazard"] = body.hazard
    done = kernel.act(
        session, WORKFLOW, actor, complaint_id, body.action, payload, expected_version=expected_version, now=now,
        note=body.note,
    )  # fmt: skip
    c: Complaint = done.row
    return c
