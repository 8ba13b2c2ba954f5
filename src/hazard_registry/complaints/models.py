"""Public complaints (举报): the complaint, its messages and files, its history, identity reveals and rewards.

The reporter's identity and contact live only in ``identity_enc`` (a Fernet token); the receipt code only
as ``receipt_hash``. Due dates are plain indexed DATE columns so a sweep can find what is late by range.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow
from hazard_registry.hazards.models import BigId


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # web, hotline_12350, letter, visit, open311
    state: Mapped[str] = mapped_column(String(24))
    # What and where
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18))
    address: Mapped[str | None] = mapped_column(String(300))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    sector_code: Mapped[str] = mapped_column(ForeignKey("sectors.code"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    observed_on: Mapped[date | None] = mapped_column(Date)
    # Who (encrypted; see complaints.crypto). ``anonymous`` alone is shown to handlers.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    identity_enc: Mapped[str | None] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Handling
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handling_due_on: Mapped[date | None] = mapped_column(Date)
    extended_days: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    refusal_reason: Mapped[str | None] = mapped_column(String(32))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    outcome: Mapped[str | None] = mapped_column(String(24))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"), index=True)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_due_on: Mapped[date | None] = mapped_column(Date)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rechecks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The head of the complaint's event chain (workflow/audit.py).
    chain_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain_head: Mapped[str | None] = mapped_column(String(64))

    __mapper_args__: ClassVar = {"version_id_col": version}


Index("ix_complaints_department_state", Complaint.department_id, Complaint.state, Complaint.id)
Index("ix_complaints_region_id", Complaint.region_code, Complaint.id)
# The escalation engine scans these two by range: "handling due before today and still open".
Index("ix_complaints_handling_due_state", Complaint.handling_due_on, Complaint.state)
Index("ix_complaints_reply_due_state", Complaint.reply_due_on, Complaint.state)
Index("ix_complaints_created_at", Complaint.created_at)


class ComplaintMessage(Base):
    """A message between handler and reporter (``to_reporter`` / ``from_reporter``) or an internal note."""

    __tablename__ = "complaint_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))  # to_reporter, from_reporter, internal
    kind: Mapped[str] = mapped_column(String(16))  # question, answer, result, note, recheck, evidence
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComplaintAttachment(Base):
    __tablename__ = "complaint_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"))
    filename: Mapped[str] = mapped_column(String(255))
    from_reporter: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComplaintEvent(Base):
    """One step of a complaint's internal history (who did what when). Never shown to the reporter."""

    __tablename__ = "complaint_events"
    __table_args__ = (UniqueConstraint("complaint_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class IdentityReveal(Base):
    """A request to see a reporter's identity: asked with a reason, decided by a holder of the right,
    and every viewing counted. Administrators read this log."""

    __tablename__ = "complaint_identity_reveals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, refused
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    views: Mapped[int] = mapped_column(Integer, default=0)
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reward(Base):
    """The reporter's reward (举报奖励), in integer fen. ``payee_enc`` holds only what the payment needs."""

    __tablename__ = "complaint_rewards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed, approved, paid
    basis: Mapped[str] = mapped_column(String(24))  # fine, concealed_deaths
    fine_fen: Mapped[int | None] = mapped_column(BigInteger)
    deaths: Mapped[int | None] = mapped_column(Integer)
    accident_class: Mapped[str | None] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payee_enc: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_reference: Mapped[str | None] = mapped_column(String(64))
