"""Complaint services. They never commit: the route does, once.

Checks for anything a handler does to a complaint: scope (outside it the complaint does not exist: 404),
then role or right (403), then version (409), then state and gate (409). The reporter is recognised only
by the receipt; a receipt that matches nothing and one that is malformed get the same answer.
"""

from __future__ import annotations

import difflib
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from transitions.core import MachineError

from hazard_registry import uploads
from hazard_registry.auth.principal import Actor, Role, complaint_scope, region_contains
from hazard_registry.clock import today_in_china
from hazard_registry.complaints import rewards, schemas
from hazard_registry.complaints.crypto import Vault, new_receipt, normalize_receipt, receipt_hash
from hazard_registry.complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    IdentityReveal,
    Reward,
)
from hazard_registry.complaints.workflow import (
    HANDLING,
    PUBLIC_STATUS,
    REPLY_PENDING,
    RULES,
    TERMINAL,
    Action,
    Context,
    Party,
    State,
    actions_for,
    fire,
)
from hazard_registry.db import flush_versioned
from hazard_registry.errors import (
    Forbidden,
    GateFailed,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionRequired,
    UnsupportedMedia,
    VersionConflict,
    WrongState,
)
from hazard_registry.hazards import schemas as hazard_schemas
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.models import Attachment
from hazard_registry.reference.models import Enterprise, Industry, Region, Sector

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
FILE_TYPES = {*IMAGE_TYPES, "application/pdf"}
# The reporter may still talk to the desk while the case is open.
REPORTER_MAY_WRITE = frozenset({State.received, State.accepted, State.concluded, State.recheck_requested})


class BadReceipt(NotFound):
    """The one answer to a receipt that is malformed or matches nothing; the router delays it."""

    code = "receipt_unknown"


def _invalid(field: str, message: str, code: str = "invalid_input") -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code=code, errors=[{"field": field, "message": message}])


def _event(
    session: Session,
    c: Complaint,
    actor: Actor | None,
    action: str,
    now: datetime,
    *,
    from_state: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        ComplaintEvent(
            complaint_id=c.id,
            action=action,
            from_state=from_state if from_state is not None else c.state,
            to_state=c.state,
            actor_id=actor.user_id if actor else None,
            actor_name=actor.username if actor else "reporter",
            at=now,
            note=note,
            data=data or {},
        )
    )


def _message(session: Session, c: Complaint, direction: str, kind: str, body: str, author: Actor | None, now: datetime):
    msg = ComplaintMessage(
        complaint_id=c.id,
        direction=direction,
        kind=kind,
        body=body,
        author_id=author.user_id if author else None,
        at=now,
    )
    session.add(msg)
    return msg


# --- intake ------------------------------------------------------------------------------------------------


def submit(
    session: Session,
    data: schemas.ComplaintCreate,
    *,
    channel: str,
    vault: Vault,
    now: datetime,
    entered_by: Actor | None = None,
) -> tuple[Complaint, str]:
    """Register a complaint and return it with its receipt code, which exists nowhere else after this.

    Routing: the enterprise's sector when the credit code names a registered enterprise, else the sector
    given, else 'other'; the lead department of that sector nearest above the region.
    """
    if entered_by is not None and not (
        entered_by.role in (Role.regulator, Role.admin) and entered_by.can_take_complaints
    ):
        raise Forbidden("entering complaints for callers needs the intake right", code="intake_right_required")
    region = session.get(Region, data.region_code)
    if region is None:
        raise _invalid("region_code", "unknown region", "region_invalid")
    if entered_by is not None and entered_by.region_code and not region_contains(entered_by.region_code, region.code):
        raise _invalid("region_code", "outside your region", "region_invalid")
    if data.observed_on and data.observed_on > today_in_china(now):
        raise _invalid("observed_on", "may not be in the future")
    ent = None
    if data.enterprise_uscc:
        ent = session.scalar(select(Enterprise).where(Enterprise.uscc == data.enterprise_uscc))
    sector_code = data.sector_code
    if ent is not None and sector_code is None:
        industry = session.get(Industry, ent.industry_code)
        sector_code = industry.sector_code if industry else None
    sector_code = sector_code or "other"
    if session.get(Sector, sector_code) is None:
        raise _invalid("sector_code", "unknown sector", "sector_invalid")
    if not (data.enterprise_name or data.enterprise_uscc or data.address):
        raise _invalid("address", "name the enterprise (name or credit code) or give an address", "target_required")
    dept = hazards.lead_department(session, data.region_code, sector_code)

    identity = data.reporter.model_dump(exclude_none=True) if data.reporter else {}
    has_identity = any(identity.get(k) for k in ("name", "phone", "email", "address"))
    code = new_receipt()
    c = Complaint(
        receipt_hash=receipt_hash(code),
        channel=channel,
        state=State.received.value,
        enterprise_id=ent.id if ent else None,
        enterprise_name=data.enterprise_name or (ent.name if ent else None),
        enterprise_uscc=data.enterprise_uscc,
        address=data.address,
        region_code=data.region_code,
        sector_code=sector_code,
        department_id=dept.id,
        title=data.title,
        description=data.description,
        observed_on=data.observed_on,
        anonymous=not has_identity,
        identity_enc=vault.seal(identity) if has_identity else None,
        entered_by_id=entered_by.user_id if entered_by else None,
        rechecks=0,
        created_at=now,
        updated_at=now,
    )
    session.add(c)
    session.flush()
    _event(session, c, entered_by, "submit", now, from_state="", data={"channel": channel, "department_id": dept.id})
    return c, code


# --- the reporter, through the receipt ---------------------------------------------------------------------


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


def reporter_view(session: Session, c: Complaint, vault: Vault) -> schemas.ReporterView:
    """What the receipt holder sees: status, own and addressed messages, own file count. No names, no notes."""
    msgs = session.scalars(
        select(ComplaintMessage)
        .where(ComplaintMessage.complaint_id == c.id, ComplaintMessage.direction.in_(["to_reporter", "from_reporter"]))
        .order_by(ComplaintMessage.id)
    )
    files = session.scalar(
        select(func.count())
        .select_from(ComplaintAttachment)
        .where(ComplaintAttachment.complaint_id == c.id, ComplaintAttachment.from_reporter.is_(True))
    )
    reward = session.scalar(select(Reward).where(Reward.complaint_id == c.id))
    reward_out = None
    if reward is not None and reward.state in ("approved", "paid"):
        status = "paid" if reward.state == "paid" else ("claimed" if reward.payee_enc else "approved")
        reward_out = schemas.ReporterReward(amount_yuan=yuan(reward.amount_fen), status=status)
    state = State(c.state)
    return schemas.ReporterView(
        status=PUBLIC_STATUS[state],
        submitted_on=today_in_china(c.created_at),
        title=c.title,
        handling_due_on=c.handling_due_on if state in (State.accepted, State.concluded) else None,
        messages=[
            schemas.PublicMessage(kind=m.kind, direction=m.direction, body=m.body, at=m.at)  # type: ignore[arg-type]
            for m in msgs
        ],
        files=files or 0,
        can_answer=state in REPORTER_MAY_WRITE,
        can_request_recheck=Action.request_recheck.value in actions_for(c.state, Party.reporter) and c.rechecks < 1,
        reward=reward_out,
    )


def reporter_message(session: Session, c: Complaint, body: str, now: datetime) -> None:
    """A message from the reporter. Like every message and file, it leaves the complaint's version alone:
    a reporter writing must not make the handler's next action a version conflict."""
    if c.state not in REPORTER_MAY_WRITE:
        raise WrongState("this case is closed to new messages", state=PUBLIC_STATUS[State(c.state)])
    _message(session, c, "from_reporter", "answer", body, None, now)
    _event(session, c, None, "reporter_message", now)
    _flush(session)


def reporter_recheck(session: Session, c: Complaint, reason: str, now: datetime) -> None:
    _fire(session, c, None, Action.request_recheck, {"reason": reason}, now)
    _message(session, c, "from_reporter", "recheck", reason, None, now)
    _event(session, c, None, Action.request_recheck.value, now, from_state=State.replied.value, note=reason)
    _flush(session)


def _read_limited(stream: BinaryIO, max_bytes: int) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"files are limited to {max_bytes} bytes", limit=max_bytes)
    return data


def store_file(
    session: Session,
    c: Complaint,
    *,
    filename: str,
    stream: BinaryIO,
    root: Path,
    max_bytes: int,
    max_files: int,
    max_pixels: int,
    from_reporter: bool,
    now: datetime,
) -> ComplaintAttachment:
    """Keep a file of a complaint: type judged by content (images and PDF only), images stripped of metadata."""
    if c.state in TERMINAL:
        raise WrongState("this case is closed to new files", state=c.state)
    count = session.scalar(
        select(func.count()).select_from(ComplaintAttachment).where(ComplaintAttachment.complaint_id == c.id)
    )
    if (count or 0) >= max_files:
        raise GateFailed(f"a complaint holds at most {max_files} files", code="too_many_files")
    data = _read_limited(stream, max_bytes)
    if not data:
        raise _invalid("file", "empty", "file_empty")
    media_type = hazards._sniff(data[:8192])
    if media_type not in FILE_TYPES:
        raise UnsupportedMedia(f"files of type {media_type} are not accepted", allowed=sorted(FILE_TYPES))
    if media_type in IMAGE_TYPES:
        data = uploads.reencode_image(data, IMAGE_TYPES[media_type], max_pixels)
    sha, size, _sniffed, tmp = hazards._store_blob(root, io.BytesIO(data), max_bytes * 4)
    try:
        hazards.install_blob(root, sha, tmp)
    finally:
        tmp.unlink(missing_ok=True)
    blob = hazards.attachment_row(session, sha, size, media_type, now)
    # A phone's file name can carry a name or a date and place; keep only the extension.
    ext = Path(uploads.safe_filename(filename)).suffix.lower()[:10] if from_reporter else ""
    link = ComplaintAttachment(
        complaint_id=c.id,
        attachment_id=blob.id,
        filename=(f"evidence-{(count or 0) + 1}{ext}" if from_reporter else uploads.safe_filename(filename)),
        from_reporter=from_reporter,
        uploaded_at=now,
    )
    session.add(link)
    session.flush()
    _event(session, c, None, "file_added", now, data={"file_id": link.id, "sha256": sha})
    return link


def list_files(session: Session, actor: Actor, complaint_id: int) -> list[tuple[ComplaintAttachment, Attachment]]:
    get_visible(session, actor, complaint_id)
    rows = session.execute(
        select(ComplaintAttachment, Attachment)
        .join(Attachment, Attachment.id == ComplaintAttachment.attachment_id)
        .where(ComplaintAttachment.complaint_id == complaint_id)
        .order_by(ComplaintAttachment.id)
    ).all()
    return [(r[0], r[1]) for r in rows]


# --- handlers ----------------------------------------------------------------------------------------------


def _no_enterprise(actor: Actor) -> None:
    if actor.role is Role.enterprise:
        raise Forbidden("complaints are not shown to enterprises", code="role_forbidden")


def get_visible(session: Session, actor: Actor, complaint_id: int, *, lock: bool = False) -> Complaint:
    stmt = select(Complaint).where(Complaint.id == complaint_id, complaint_scope(actor, Complaint))
    if lock:
        stmt = stmt.with_for_update()
    c = session.scalar(stmt)
    if c is None:
        raise NotFound(f"complaint {complaint_id} not found", code="complaint_not_found")
    return c


def handling_overdue(c: Complaint, today: date) -> bool:
    """Late from the day after the due date: accepted on day 0, due on day 60, overdue on day 61."""
    return c.state in HANDLING and c.handling_due_on is not None and c.handling_due_on < today


def reply_overdue(c: Complaint, today: date) -> bool:
    return c.state in REPLY_PENDING and c.reply_due_on is not None and c.reply_due_on < today


def to_out(c: Complaint, actor: Actor, today: date) -> schemas.ComplaintOut:
    out = schemas.ComplaintOut.model_validate(c)
    out.handling_overdue = handling_overdue(c, today)
    out.reply_overdue = reply_overdue(c, today)
    out.allowed_actions = actions_for(c.state, Party.handler) if actor.role is Role.regulator else []
    return out


def list_complaints(
    session: Session, actor: Actor, *, state: list[str], overdue: bool | None, after_id: int | None, limit: int, today
) -> schemas.ComplaintPage:
    _no_enterprise(actor)
    stmt = select(Complaint).where(complaint_scope(actor, Complaint))
    if state:
        stmt = stmt.where(Complaint.state.in_(state))
    if overdue:
        stmt = stmt.where(or_(*overdue_clauses(today)))
    if after_id:
        stmt = stmt.where(Complaint.id < after_id)
    rows = list(session.scalars(stmt.order_by(Complaint.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return schemas.ComplaintPage(
        items=[to_out(c, actor, today) for c in rows], next_cursor=rows[-1].id if more and rows else None
    )


def overdue_clauses(today: date) -> list[Any]:
    return [
        (Complaint.state.in_([s.value for s in HANDLING])) & (Complaint.handling_due_on < today),
        (Complaint.state.in_([s.value for s in REPLY_PENDING])) & (Complaint.reply_due_on < today),
    ]


def due_for_escalation(session: Session, today: date) -> list[Complaint]:
    """Every complaint past a deadline: for the escalation engine (a missed deadline is a regulator stall)."""
    return list(session.scalars(select(Complaint).where(or_(*overdue_clauses(today))).order_by(Complaint.id)))


def _check_version(c: Complaint, expected: int | None) -> None:
    if expected is None:
        raise PreconditionRequired("send the complaint's version (If-Match header or 'version' field)")
    if c.version != expected:
        raise VersionConflict(f"the complaint is at version {c.version}, not {expected}", current_version=c.version)


def _flush(session: Session) -> None:
    flush_versioned(session, "the complaint was changed by someone else meanwhile; reload and retry")


def _fire(session: Session, c: Complaint, actor: Actor | None, action: Action, payload: dict[str, Any], now):
    ctx = Context(session=session, complaint=c, actor=actor, payload=payload, now=now)
    before = c.state
    try:
        result = fire(ctx, action)
    except MachineError as exc:
        raise WrongState(f"cannot {action} a complaint that is {before}", state=before) from exc
    return result


def transition(
    session: Session, actor: Actor, complaint_id: int, body: Any, *, expected_version: int | None, now: datetime
) -> Complaint:
    """One handler action on a complaint, with its history event and what the reporter is told."""
    _no_enterprise(actor)
    c = get_visible(session, actor, complaint_id, lock=True)
    action = Action(body.action)
    if RULES[action].party is not Party.handler or actor.role is not Role.regulator:
        raise Forbidden(f"a {actor.role} may not {action} a complaint", code="role_forbidden")
    _check_version(c, expected_version)
    payload = body.model_dump(exclude={"action", "version", "note"})
    before = c.state
    result = _fire(session, c, actor, action, payload, now)
    if action is Action.conclude and body.outcome == "substantiated":
        result["hazard_id"] = _create_hazard(session, actor, c, body.hazard, now)
    if action is Action.merge:
        target = session.get(Complaint, body.into_id)
        assert target is not None
        _event(session, target, actor, "merged_in", now, data={"complaint_id": c.id})
    if action in (Action.refuse, Action.reply, Action.decline_recheck):
        _message(session, c, "to_reporter", "result", body.reply, actor, now)
    if action is Action.merge:
        _message(session, c, "to_reporter", "result", "您的举报与另一件举报反映同一问题，已合并办理。", actor, now)
    if action is Action.start_recheck:
        _message(session, c, "to_reporter", "result", "已启动复查。", actor, now)
    _flush(session)
    _event(session, c, actor, action.value, now, from_state=before, note=body.note, data=result)
    _flush(session)
    return c


def _create_hazard(session: Session, actor: Actor, c: Complaint, h: schemas.HazardFromComplaint, now: datetime) -> int:
    """The substantiated complaint enters the register through the hazards service (so its audit chain
    starts as every hazard's does). Nothing of the reporter or the complaint goes into the hazard: the
    enterprise reads the hazard, and the link is kept on the complaint side only."""
    ent = session.get(Enterprise, h.enterprise_id)
    if ent is None or not region_contains(c.region_code[:6], ent.region_code[:6]):
        raise _invalid("hazard.enterprise_id", "the enterprise must be in the complaint's region", "enterprise_invalid")
    data = hazard_schemas.HazardCreate(
        enterprise_id=h.enterprise_id,
        clause_id=h.clause_id,
        title=h.title,
        description=h.description,
        location=h.location,
        found_at=h.found_at,
        source="public_report",
    )
    hazard = hazards.report(session, actor, data, now, from_complaint=True)
    c.hazard_id = hazard.id
    c.enterprise_id = c.enterprise_id or ent.id
    return hazard.id


def add_message(session: Session, actor: Actor, complaint_id: int, data: schemas.MessageCreate, now: datetime):
    _no_enterprise(actor)
    c = get_visible(session, actor, complaint_id, lock=True)
    if actor.role is not Role.regulator:
        raise Forbidden("only handlers write on a complaint", code="role_forbidden")
    if data.kind == "question" and c.state in TERMINAL:
        raise WrongState("the case is closed; the reporter is no longer asked", state=c.state)
    msg = _message(
        session, c, "to_reporter" if data.kind == "question" else "internal", data.kind, data.body, actor, now
    )
    _flush(session)
    _event(session, c, actor, f"message_{data.kind}", now, data={"message_id": msg.id})
    return msg


def list_messages(session: Session, actor: Actor, complaint_id: int) -> list[ComplaintMessage]:
    _no_enterprise(actor)
    get_visible(session, actor, complaint_id)
    return list(
        session.scalars(
            select(ComplaintMessage).where(ComplaintMessage.complaint_id == complaint_id).order_by(ComplaintMessage.id)
        )
    )


def list_events(session: Session, actor: Actor, complaint_id: int) -> list[ComplaintEvent]:
    _no_enterprise(actor)
    get_visible(session, actor, complaint_id)
    return list(
        session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id).order_by(ComplaintEvent.id)
        )
    )


# --- duplicates ----------------------------------------------------------------------------------------------

DUPLICATE_WINDOW_DAYS = 90
DUPLICATE_SCAN = 300


def _norm(text: str | None) -> str:
    return "".join((text or "").split()).lower()


def similarity(a: Complaint, b: Complaint) -> float:
    return difflib.SequenceMatcher(
        None, _norm(a.title + a.description)[:2000], _norm(b.title + b.description)[:2000]
    ).ratio()


def duplicates(session: Session, actor: Actor, complaint_id: int, now: datetime) -> list[schemas.DuplicateSuggestion]:
    """Likely duplicates: earlier or later complaints of the last 90 days in the same region, about the same
    enterprise or address, or with similar text; best first."""
    _no_enterprise(actor)
    c = get_visible(session, actor, complaint_id)
    since = now - timedelta(days=DUPLICATE_WINDOW_DAYS)
    candidates = session.scalars(
        select(Complaint)
        .where(
            complaint_scope(actor, Complaint),
            Complaint.id != c.id,
            Complaint.region_code == c.region_code,
            Complaint.created_at >= since,
            Complaint.state.not_in([State.merged.value, State.refused.value]),
        )
        .order_by(Complaint.id.desc())
        .limit(DUPLICATE_SCAN)
    )
    out = []
    for o in candidates:
        same_ent = bool(
            (c.enterprise_id and o.enterprise_id == c.enterprise_id)
            or (c.enterprise_uscc and o.enterprise_uscc == c.enterprise_uscc)
            or (c.enterprise_name and _norm(o.enterprise_name) == _norm(c.enterprise_name))
        )
        same_addr = bool(c.address and _norm(o.address) == _norm(c.address))
        score = similarity(c, o)
        if same_ent or same_addr or score >= 0.6:
            out.append(
                schemas.DuplicateSuggestion(
                    id=o.id,
                    title=o.title,
                    state=o.state,
                    created_at=o.created_at,
                    score=round(score, 3),
                    same_enterprise=same_ent,
                    same_address=same_addr,
                )
            )
    out.sort(key=lambda s: (s.same_enterprise or s.same_address, s.score), reverse=True)
    return out[:20]


# --- identity reveals ----------------------------------------------------------------------------------------


def request_reveal(session: Session, actor: Actor, complaint_id: int, reason: str, now: datetime) -> IdentityReveal:
    _no_enterprise(actor)
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
    _event(session, c, actor, "identity_reveal_requested", now, note=reason, data={"reveal_id": r.id})
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
    _no_enterprise(actor)
    c, r = _reveal(session, actor, complaint_id, reveal_id)
    if not actor.can_reveal_identity:
        raise Forbidden("deciding needs the right to reveal reporters", code="reveal_right_required")
    if actor.user_id == r.requested_by_id:
        raise Forbidden("two-person rule: the requester may not approve their own request", code="reveal_self_approval")
    if r.state != "pending":
        raise WrongState(f"the request was already {r.state}", state=r.state)
    r.state = "approved" if data.decision == "approve" else "refused"
    r.decided_by_id, r.decided_at, r.decision_note = actor.user_id, now, data.note
    session.flush()
    _event(session, c, actor, f"identity_reveal_{r.state}", now, note=data.note, data={"reveal_id": r.id})
    return r


def view_identity(
    session: Session, actor: Actor, complaint_id: int, reveal_id: int, vault: Vault, now: datetime
) -> schemas.IdentityOut:
    """The identity, to the requester of an approved reveal only; each viewing is counted and logged."""
    _no_enterprise(actor)
    c, r = _reveal(session, actor, complaint_id, reveal_id)
    if r.requested_by_id != actor.user_id:
        raise Forbidden("only the person who asked may view", code="reveal_not_yours")
    if r.state != "approved":
        raise Forbidden(f"the request is {r.state}, not approved", code="reveal_not_approved")
    assert c.identity_enc is not None
    r.views += 1
    r.last_viewed_at = now
    _event(session, c, actor, "identity_viewed", now, data={"reveal_id": r.id})
    session.flush()
    ident = vault.open(c.identity_enc)
    return schemas.IdentityOut(
        name=ident.get("name"),
        phone=ident.get("phone"),
        email=ident.get("email"),
        address=ident.get("address"),
        employee_of_target=bool(ident.get("employee_of_target")),
    )


def list_reveals(session: Session, actor: Actor, limit: int, after_id: int | None) -> list[IdentityReveal]:
    """The reveal log of the administrator's region: every request, its decision and how often it was used."""
    if actor.role is not Role.admin:
        raise Forbidden("the reveal log is for administrators", code="role_forbidden")
    stmt = (
        select(IdentityReveal)
        .join(Complaint, Complaint.id == IdentityReveal.complaint_id)
        .where(complaint_scope(actor, Complaint))
    )
    if after_id:
        stmt = stmt.where(IdentityReveal.id < after_id)
    return list(session.scalars(stmt.order_by(IdentityReveal.id.desc()).limit(limit)))


# --- rewards -------------------------------------------------------------------------------------------------


def yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def reward_out(r: Reward) -> schemas.RewardOut:
    return schemas.RewardOut(
        id=r.id,
        complaint_id=r.complaint_id,
        state=r.state,
        basis=r.basis,
        fine_fen=r.fine_fen,
        deaths=r.deaths,
        accident_class=r.accident_class,
        amount_fen=r.amount_fen,
        amount_yuan=yuan(r.amount_fen),
        claimed=r.payee_enc is not None,
        payment_reference=r.payment_reference,
    )


def _reward(session: Session, c: Complaint) -> Reward:
    r = session.scalar(select(Reward).where(Reward.complaint_id == c.id))
    if r is None:
        raise NotFound("no reward proposed for this complaint", code="reward_not_found")
    return r


def propose_reward(
    session: Session, actor: Actor, complaint_id: int, data: schemas.RewardPropose, now: datetime
) -> Reward:
    _no_enterprise(actor)
    c = get_visible(session, actor, complaint_id, lock=True)
    if actor.role is not Role.regulator or actor.user_id is None:
        raise Forbidden("the handling department proposes rewards", code="role_forbidden")
    if c.outcome != "substantiated":
        raise GateFailed("only a substantiated complaint is rewarded", code="not_substantiated")
    if data.basis == "fine":
        if data.fine_yuan is None:
            raise _invalid("fine_yuan", "required for a reward on a fine")
        fine_fen = int(Decimal(data.fine_yuan) * 100)
        if fine_fen <= 0:
            raise _invalid("fine_yuan", "must be positive")
        amount, deaths, klass = rewards.for_fine(fine_fen), None, None
    else:
        if data.deaths is None or data.accident_class is None:
            raise _invalid("deaths", "deaths and accident_class are required for concealed deaths")
        fine_fen, deaths, klass = None, data.deaths, data.accident_class
        amount = rewards.for_concealed_deaths(deaths, klass)
    r = Reward(
        complaint_id=c.id,
        state="proposed",
        basis=data.basis,
        fine_fen=fine_fen,
        deaths=deaths,
        accident_class=klass,
        amount_fen=amount,
        proposed_by_id=actor.user_id,
        proposed_at=now,
    )
    from hazard_registry.db import add_unique
    from hazard_registry.errors import Conflict

    add_unique(session, r, Conflict("a reward was already proposed for this complaint", code="reward_exists"))
    _event(session, c, actor, "reward_proposed", now, data={"amount_fen": amount})
    return r


def approve_reward(session: Session, actor: Actor, complaint_id: int, now: datetime) -> Reward:
    _no_enterprise(actor)
    c = get_visible(session, actor, complaint_id, lock=True)
    r = _reward(session, c)
    if actor.role is not Role.regulator or not actor.can_close:
        raise Forbidden("rewards are approved by a regulator with signing authority", code="role_forbidden")
    if actor.user_id == r.proposed_by_id:
        raise Forbidden("two-person rule: the proposer may not approve", code="reward_self_approval")
    if r.state != "proposed":
        raise WrongState(f"the reward is {r.state}", state=r.state)
    r.state, r.approved_by_id, r.approved_at = "approved", actor.user_id, now
    session.flush()
    _event(session, c, actor, "reward_approved", now, data={"amount_fen": r.amount_fen})
    _message(
        session, c, "to_reporter", "reward", f"您的举报获得奖励 {yuan(r.amount_fen)} 元，请凭回执领取。", actor, now
    )
    return r


def claim_reward(session: Session, c: Complaint, data: schemas.RewardClaim, vault: Vault, now: datetime) -> Reward:
    r = session.scalar(select(Reward).where(Reward.complaint_id == c.id))
    if r is None or r.state == "proposed":
        raise NotFound("there is no reward to claim", code="reward_not_found")
    if r.state == "paid":
        raise WrongState("the reward was already paid", state="paid")
    r.payee_enc = vault.seal(data.model_dump())
    r.claimed_at = now
    session.flush()
    _event(session, c, None, "reward_claimed", now)
    return r


def rewards_to_pay(session: Session, actor: Actor) -> list[Reward]:
    """The paying office's queue: approved, claimed rewards of the administrator's region."""
    if actor.role is not Role.admin:
        raise Forbidden("rewards are paid by the administrator's office", code="role_forbidden")
    return list(
        session.scalars(
            select(Reward)
            .join(Complaint, Complaint.id == Reward.complaint_id)
            .where(complaint_scope(actor, Complaint), Reward.state == "approved", Reward.payee_enc.is_not(None))
            .order_by(Reward.id)
        )
    )


def payment_view(r: Reward, vault: Vault) -> schemas.RewardPayment:
    payee = schemas.Payee(**vault.open(r.payee_enc)) if r.payee_enc else None
    return schemas.RewardPayment(**reward_out(r).model_dump(), payee=payee)


def pay_reward(session: Session, actor: Actor, reward_id: int, reference: str, now: datetime) -> Reward:
    if actor.role is not Role.admin:
        raise Forbidden("rewards are paid by the administrator's office", code="role_forbidden")
    row = session.execute(
        select(Reward, Complaint)
        .join(Complaint, Complaint.id == Reward.complaint_id)
        .where(Reward.id == reward_id, complaint_scope(actor, Complaint))
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"reward {reward_id} not found", code="reward_not_found")
    r, c = row[0], row[1]
    if r.state != "approved":
        raise WrongState(f"the reward is {r.state}, not approved", state=r.state)
    if r.payee_enc is None:
        raise GateFailed("the reporter has not claimed the reward yet", code="reward_unclaimed")
    r.state, r.paid_by_id, r.paid_at, r.payment_reference = "paid", actor.user_id, now, reference
    session.flush()
    _event(session, c, actor, "reward_paid", now, data={"payment_reference": reference})
    _message(session, c, "to_reporter", "reward", f"奖励 {yuan(r.amount_fen)} 元已发放。", actor, now)
    return r


# --- key rotation --------------------------------------------------------------------------------------------


def rotate_keys(session: Session, vault: Vault, batch: int = 500) -> int:
    """Re-seal every identity and payee with the vault's first key; afterwards older keys may be dropped.
    Runs in batches by id so a large register does not load at once; returns how many secrets were resealed."""
    done = 0
    for model, column in ((Complaint, "identity_enc"), (Reward, "payee_enc")):
        last = 0
        while True:
            rows = list(
                session.scalars(
                    select(model)
                    .where(model.id > last, getattr(model, column).is_not(None))
                    .order_by(model.id)
                    .limit(batch)
                )
            )
            if not rows:
                break
            for row in rows:
                session.execute(
                    model.__table__.update()
                    .where(model.id == row.id)
                    .values({column: vault.rotate(getattr(row, column))})
                )
                done += 1
            last = rows[-1].id
    return done
