"""The outbox: one row per notice, per recipient and channel, written in the transaction that changed the
measure and sent later by the deliverer (at least once; ``dedup_key`` lets receivers drop repeats)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow
from hazard_registry.hazards.models import BigId


class NoticeAction(StrEnum):
    """What happened to the measure."""

    issue = "issue"
    take_down = "take_down"  # 摘牌 / 曝光撤下 when the hazard is closed
    resolve = "resolve"
    withdraw = "withdraw"  # only after issue: nobody was told of a proposal
    remind = "remind"  # a reminder before a deadline (no measure: rendered when queued)
    report = "report"  # a region's quarterly report pushed to the level above (upward/: body is the document)


class Channel(StrEnum):
    webhook = "webhook"
    email = "email"
    upward = "upward"  # the upper deployment's POST /api/v1/upward/reports (HAZARD_UPWARD_URL)


class RecipientRole(StrEnum):
    enterprise_principal = "enterprise_principal"  # 主要负责人
    enterprise_controller = "enterprise_controller"  # 实际控制人
    officer = "officer"  # the hazard's officer (copy)
    department_head = "department_head"  # the head of the department concerned
    upper_level = "upper_level"  # the deployment of the level above (upward reports)


class NoticeStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    dead = "dead"  # gave up after notice_max_attempts; an administrator may retry it


class Notice(Base):
    """Recipient and address are a snapshot taken when the notice was queued; subject and body are rendered
    from the measure at the first attempt and kept, so an administrator sees what was sent."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # m{measure}:{action}:{role}:{channel}; reminders r{rule}:{what}{id}:{due}:{role}:{channel};
    # upward reports u{region}:{period}:{revision}:upward
    dedup_key: Mapped[str] = mapped_column(String(96), unique=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_measures.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    recipient_role: Mapped[str] = mapped_column(String(32))
    recipient_name: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(254))  # e-mail address (the webhook's URL is a setting)
    phone: Mapped[str | None] = mapped_column(String(32))  # for the webhook's receiver (e.g. an SMS gateway)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))  # the measure's target region: admin scope
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=NoticeStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The deliverer reads only pending notices that are due: a partial index keeps that scan proportional to them.
Index(
    "ix_notices_due",
    Notice.next_attempt_at,
    postgresql_where=text("status = 'pending'"),
    sqlite_where=text("status = 'pending'"),
)
# Administrators page through a status (dead letters) by id.
Index("ix_notices_status_id", Notice.status, Notice.id)


class ReminderKind(StrEnum):
    """Deadlines a reminder runs ahead of."""

    rectification_deadline = "rectification_deadline"  # a hazard's rectification deadline (enterprise, officer)
    self_inspection_due = "self_inspection_due"  # the end of a self-inspection period with none recorded
    filing_due = "filing_due"  # a 季报/年报 due and not filed
    complaint_due = "complaint_due"  # a complaint's handling deadline (the handling department)


class ReminderRule(Base):
    """Remind ``days_before`` (working or calendar) days ahead of a deadline of ``kind``. A region's rules for
    a kind replace those of the levels above for its hazards, as escalation rules do; editing a rule changes
    only reminders not yet queued (each reminder's key carries the deadline, so none is sent twice)."""

    __tablename__ = "reminder_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # None: the national default
    kind: Mapped[str] = mapped_column(String(32))
    days_before: Mapped[int] = mapped_column(Integer)
    working_days: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# key, kind, days before, working days? — the national defaults (migration 0014_desk)
DEFAULT_REMINDERS: list[tuple[str, str, int, bool]] = [
    ("default.rectification.5wd", ReminderKind.rectification_deadline, 5, True),
    ("default.self_inspection.10d", ReminderKind.self_inspection_due, 10, False),
    ("default.filing.5wd", ReminderKind.filing_due, 5, True),
    ("default.complaint.5wd", ReminderKind.complaint_due, 5, True),
]
