"""Identity reveals: asking to see an anonymous-by-default reporter, deciding (two people), viewing — each
step in the complaint's chained history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role, complaint_scope
from hazard_registry.auth.service import accounts_linked
from hazard_registry.complaints import schemas
from hazard_registry.complaints.access import get_for_handler, get_visible, no_enterprise
from hazard_registry.complaints.crypto import Vault
from hazard_registry.complaints.models import (
    Complaint,
    IdentityReveal,
)
from hazard_registry.complaints.workflow import (
    event,
)
from hazard_registry.errors import (
    Forbidden,
    GateFailed,
    NotFound,
    WrongState,
)
from hazard_registry.pagination import cut, keyset


def request_reveal(session: Session, actor: Actor, complaint_id: int, reason: str, now: datetime) -> IdentityReveal:
    no_enterprise(actor)
    c = get_visible(session, actor, complaint_id)
    if actor.role is not Role.regulator or actor.user_id is None:
        raise Forbidden("only the handling department asks to see a reporter", code="role_forbidden")
    if c.identity_enc is None:
        raise GateFailed("the reporter is anonymous; there is nothing to reveal", code="reporter_anonymous")
    r = IdentityReveal(
        complaint_id=c.id, state="pending", reason=reason, requested_by_id=actor.user_id, requested_at=now, views=0
    )
    session.add(r)
    session.flush()
    event(session, c, actor, "identity_reveal_requested", now, note=reason, data={"reveal_id": r.id})
    return r


def _reveal(session: Session, actor: Actor, complaint_id: int, reveal_id: int) -> tuple[Complaint, IdentityReveal]:
    c = get_visible(session, actor, complaint_id)
    r = session.scalar(
        select(IdentityReveal).where(IdentityReveal.id == reveal_id, IdentityReveal.complaint_id == c.id)
    )
    if r is None:
        raise NotFound(f"reveal request {reveal_id} not found", code="reveal_not_found")
    return c, r


def decide_reveal(
    session: Session, actor: Actor, complaint_id: int, reveal_id: int, data: schemas.RevealDecision, now: datetime
) -> IdentityReveal:
    no_enterprise(actor)
    c, r = _reveal(session, actor, complaint_id, reveal_id)
    if not actor.can_reveal_identity:
        raise Forbidden("deciding needs the right to reveal reporters", code="reveal_right_required")
    if actor.user_id is None or accounts_linked(session, actor.user_id, r.requested_by_id):
        # Two people, not two accounts of one: not the requester, nor an account the requester made, gave
        # rights to or set the password of, nor the other way round (auth.service.accounts_linked).
        raise Forbidden(
            "双人审批：审批人不能是申请人本人或与其关联的账号 (two-person rule: the approver may not be the requester, "
            "nor an account one of them created, granted rights to or reset the password of)",
            code="reveal_self_approval",
        )
    if r.state != "pending":
        raise WrongState(f"the request was already {r.state}", state=r.state)
    r.state = "approved" if data.decision == "approve" else "refused"
    r.decided_by_id, r.decided_at, r.decision_note = actor.user_id, now, data.note
    session.flush()
    event(session, c, actor, f"identity_reveal_{r.state}", now, note=data.note, data={"reveal_id": r.id})
    return r


def view_identity(
    session: Session, actor: Actor, complaint_id: int, reveal_id: int, vault: Vault, now: datetime
) -> schemas.IdentityOut:
    """The identity, to the requester of an approved reveal only; each viewing is counted and logged."""
    no_enterprise(actor)
    c, r = _reveal(session, actor, complaint_id, reveal_id)
    if r.requested_by_id != actor.user_id:
        raise Forbidden("only the person who asked may view", code="reveal_not_yours")
    if r.state != "approved":
        raise Forbidden(f"the request is {r.state}, not approved", code="reveal_not_approved")
    assert c.identity_enc is not None
    r.views += 1
    r.last_viewed_at = now
    event(session, c, actor, "identity_viewed", now, data={"reveal_id": r.id})
    session.flush()
    ident = vault.open(c.identity_enc)
    return schemas.IdentityOut(
        name=ident.get("name"),
        phone=ident.get("phone"),
        email=ident.get("email"),
        address=ident.get("address"),
        employee_of_target=bool(ident.get("employee_of_target")),
    )


def list_reveals(
    session: Session, actor: Actor, limit: int, cursor: str | None
) -> tuple[list[IdentityReveal], str | None]:
    """The reveal log of the administrator's region: every request, its decision and how often it was used."""
    if actor.role is not Role.admin:
        raise Forbidden("the reveal log is for administrators", code="role_forbidden")
    stmt = (
        select(IdentityReveal)
        .join(Complaint, Complaint.id == IdentityReveal.complaint_id)
        .where(complaint_scope(actor, Complaint))
    )
    return cut(session.scalars(keyset(stmt, IdentityReveal.id, cursor, limit)).all(), limit)


def reveals_of(session: Session, actor: Actor, complaint_id: int) -> list[IdentityReveal]:
    """The reveal requests of one complaint, oldest first (the identity itself is never in them)."""
    c = get_for_handler(session, actor, complaint_id)
    return list(
        session.scalars(select(IdentityReveal).where(IdentityReveal.complaint_id == c.id).order_by(IdentityReveal.id))
    )


def may_request_reveal(actor: Actor, c: Complaint) -> bool:
    """What ``request_reveal`` lets through: a handler of the department, and a reporter who gave a name."""
    return actor.role is Role.regulator and actor.user_id is not None and c.identity_enc is not None


def reveal_actions(session: Session, actor: Actor, r: IdentityReveal) -> list[str]:
    """What the caller may do with a reveal request: ``decide`` (the right, two different people, still
    pending) or ``view`` (the requester, once approved) — the checks of ``decide_reveal`` and ``view_identity``."""
    out = []
    if (
        r.state == "pending"
        and actor.can_reveal_identity
        and actor.user_id is not None
        and not accounts_linked(session, actor.user_id, r.requested_by_id)
    ):
        out.append("decide")
    if r.state == "approved" and actor.user_id == r.requested_by_id:
        out.append("view")
    return out
