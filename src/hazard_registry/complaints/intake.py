"""Intake: a complaint comes in (the public desk, or an officer entering a call), gets its receipt, and the
reporter follows it with that receipt alone — messages, evidence, a re-check."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hazard_registry import uploads
from hazard_registry import workflow as kernel
from hazard_registry.auth.principal import Actor, Role, region_contains
from hazard_registry.clock import today_in_china
from hazard_registry.complaints import schemas
from hazard_registry.complaints.access import flush, get_visible, invalid
from hazard_registry.complaints.crypto import Vault, new_receipt, receipt_hash
from hazard_registry.complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintMessage,
    Reward,
)
from hazard_registry.complaints.rewards import yuan
from hazard_registry.complaints.workflow import (
    PUBLIC_STATUS,
    TERMINAL,
    WORKFLOW,
    Action,
    State,
    event,
    post,
)
from hazard_registry.errors import (
    Forbidden,
    GateFailed,
    PayloadTooLarge,
    UnsupportedMedia,
    WrongState,
)
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.models import Attachment
from hazard_registry.reference.lead import lead_department
from hazard_registry.reference.models import Enterprise, Industry, Region, Sector

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
FILE_TYPES = {*IMAGE_TYPES, "application/pdf"}
# The reporter may still talk to the desk while the case is open.
REPORTER_MAY_WRITE = frozenset({State.received, State.accepted, State.concluded, State.recheck_requested})


def submit(
    session: Session,
    data: schemas.ComplaintCreate,
    *,
    channel: str,
    vault: Vault,
    now: datetime,
    entered_by: Actor | None = None,
    identifiers: dict[str, str] | None = None,
) -> tuple[Complaint, str]:
    """Register a complaint and return it with its receipt code, which exists nowhere else after this.

    ``identifiers``: what a partner platform knows the reporter by (its account, the device), sealed with the
    identity. A reporter who gives no name or contact stays anonymous, and those identifiers are not kept.

    Routing: the enterprise's sector when the credit code names a registered enterprise, else the sector
    given, else 'other'; the lead department of that sector nearest above the region.
    """
    if entered_by is not None and not (
        entered_by.role in (Role.regulator, Role.admin) and entered_by.can_take_complaints
    ):
        raise Forbidden("entering complaints for callers needs the intake right", code="intake_right_required")
    region = session.get(Region, data.region_code)
    if region is None:
        raise invalid("region_code", "unknown region", "region_invalid")
    if entered_by is not None and entered_by.region_code and not region_contains(entered_by.region_code, region.code):
        raise invalid("region_code", "outside your region", "region_invalid")
    if data.observed_on and data.observed_on > today_in_china(now):
        raise invalid("observed_on", "may not be in the future")
    ent = None
    if data.enterprise_uscc:
        ent = session.scalar(select(Enterprise).where(Enterprise.uscc == data.enterprise_uscc))
    sector_code = data.sector_code
    if ent is not None and sector_code is None:
        industry = session.get(Industry, ent.industry_code)
        sector_code = industry.sector_code if industry else None
    sector_code = sector_code or "other"
    if session.get(Sector, sector_code) is None:
        raise invalid("sector_code", "unknown sector", "sector_invalid")
    if not (data.enterprise_name or data.enterprise_uscc or data.address):
        raise invalid("address", "name the enterprise (name or credit code) or give an address", "target_required")
    dept = lead_department(session, data.region_code, sector_code)

    identity = data.reporter.model_dump(exclude_none=True) if data.reporter else {}
    has_identity = any(identity.get(k) for k in ("name", "phone", "email", "address"))
    identity |= identifiers or {}
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
    event(session, c, entered_by, "submit", now, from_state="", data={"channel": channel, "department_id": dept.id})
    return c, code


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
        can_request_recheck=Action.request_recheck.value in WORKFLOW.allowed_actions(c, None),
        reward=reward_out,
    )


def reporter_message(session: Session, c: Complaint, body: str, now: datetime) -> None:
    """A message from the reporter. Like every message and file, it leaves the complaint's version alone:
    a reporter writing must not make the handler's next action a version conflict."""
    if c.state not in REPORTER_MAY_WRITE:
        raise WrongState("this case is closed to new messages", state=PUBLIC_STATUS[State(c.state)])
    post(session, c, "from_reporter", "answer", body, None, now)
    event(session, c, None, "reporter_message", now)
    flush(session)


def reporter_recheck(session: Session, c: Complaint, reason: str, now: datetime) -> None:
    """The reporter asks for a re-check through the kernel like any action. The receipt is the scope, and
    the receipt holder never sees a version: the row is re-read under its lock and acted on as it stands."""
    locked = session.scalar(
        select(Complaint).where(Complaint.id == c.id).with_for_update().execution_options(populate_existing=True)
    )
    assert locked is not None
    kernel.act(
        session, WORKFLOW, None, None, Action.request_recheck, {"reason": reason}, expected_version=locked.version,
        now=now, note=reason, row=locked,
    )  # fmt: skip


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
        raise invalid("file", "empty", "file_empty")
    media_type = uploads.sniff(data[:8192])
    if media_type not in FILE_TYPES:
        raise UnsupportedMedia(f"files of type {media_type} are not accepted", allowed=sorted(FILE_TYPES))
    if media_type in IMAGE_TYPES:
        data = uploads.reencode_image(data, IMAGE_TYPES[media_type], max_pixels)
    sha, size, _sniffed, tmp = uploads.store_blob(root, io.BytesIO(data), max_bytes * 4)
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
    event(session, c, None, "file_added", now, data={"file_id": link.id, "sha256": sha})
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
