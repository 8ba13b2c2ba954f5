"""Finding a complaint: by the handler's scope (outside it: 404), by the reporter's receipt (a wrong one and
a malformed one get the same answer), and the refusals every complaint service shares."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.complaints.crypto import normalize_receipt, receipt_hash
from hazard_registry.complaints.models import (
    Complaint,
)
from hazard_registry.complaints.workflow import (
    WORKFLOW,
)
from hazard_registry.db import flush_versioned
from hazard_registry.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
)


class BadReceipt(NotFound):
    """The one answer to a receipt that is malformed or matches nothing; the router delays it."""

    code = "receipt_unknown"


def invalid(field: str, message: str, code: str = "invalid_input") -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code=code, errors=[{"field": field, "message": message}])


def by_receipt(session: Session, code: str | None, *, lock: bool = False) -> Complaint:
    normalized = normalize_receipt(code or "")
    if normalized is None:
        raise BadReceipt("no complaint matches this receipt code")
    stmt = select(Complaint).where(Complaint.receipt_hash == receipt_hash(normalized))
    if lock:
        stmt = stmt.with_for_update()
    c = session.scalar(stmt)
    if c is None:
        raise BadReceipt("no complaint matches this receipt code")
    return c


def no_enterprise(actor: Actor) -> None:
    if actor.role is Role.enterprise:
        raise Forbidden("complaints are not shown to enterprises", code="role_forbidden")


def get_visible(session: Session, actor: Actor, complaint_id: int, *, lock: bool = False) -> Complaint:
    """The complaint if ``actor`` may see it, else 404 as if it did not exist."""
    c: Complaint = WORKFLOW.visible(session, actor, complaint_id, lock=lock)
    return c


def flush(session: Session) -> None:
    flush_versioned(session, "the complaint was changed by someone else meanwhile; reload and retry")


def get_for_handler(session: Session, actor: Actor, complaint_id: int) -> Complaint:
    """A complaint as a handler or an administrator reads it; enterprises are refused (403) before any lookup."""
    no_enterprise(actor)
    return get_visible(session, actor, complaint_id)
