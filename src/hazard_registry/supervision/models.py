"""Supervision (督办): escalation rules as versioned data, per-hazard timers with precomputed due dates,
the measures they produce, and the holiday tables an administrator loads for years the package lacks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow
from hazard_registry.hazards.models import BigId
from hazard_registry.hazards.overdue import DEADLINE_RUNNING_VALUES


class Stall(StrEnum):
    """What the engine watches. The first five are per hazard; who stalls is in ``STALLS``."""

    not_assigned = "not_assigned"  # regulator: reported, not assigned
    not_started = "not_started"  # enterprise: assigned, rectification not started
    overdue = "overdue"  # enterprise: assigned or rectifying past its deadline (threshold counts after the deadline)
    verification_failed = "verification_failed"  # enterprise: failed verification N times (threshold = count)
    not_verified = "not_verified"  # regulator: verification requested, not verified
    not_closed = "not_closed"  # regulator: verified, not closed
    # Not about one hazard:
    self_inspection_missed = "self_inspection_missed"  # enterprise: no principal-led inspection in a quarter
    # (a month in high-risk industries); threshold = days after the period's end
    region_overdue_share = "region_overdue_share"  # region: open hazards past deadline, threshold in percent
    region_stock_open = "region_stock_open"  # region: open hazards of the stock (found by the cut-off), a count
    filing_late = "filing_late"  # enterprise: quarterly/annual statistics (季报/年报) not filed, days after due
    complaint_late = "complaint_late"  # department: a complaint not concluded (60 days) or not answered (10 days)
    # the issuing side: an issued measure's document not served (no 送达回证 recorded) N days after issue.
    # No default rule: off until a region adds one.
    document_not_served = "document_not_served"


# stall → (the hazard states it watches, who stalls). The overdue stall watches every state in which the
# deadline runs (hazards.overdue): from assignment, whether or not rectification has started.
STALLS: dict[Stall, tuple[tuple[str, ...], str]] = {
    Stall.not_assigned: (("reported",), "department"),
    Stall.not_started: (("assigned",), "enterprise"),
    Stall.overdue: (DEADLINE_RUNNING_VALUES, "enterprise"),
    Stall.verification_failed: (("rectifying",), "enterprise"),
    Stall.not_verified: (("verification_requested",), "department"),
    Stall.not_closed: (("verified",), "department"),
}


class Measure(StrEnum):
    """The ladder, lowest rung first (函告 → 通报 → 约谈 → 曝光), and the formal listing 挂牌督办."""

    warning_letter = "warning_letter"  # 函告
    circulated_notice = "circulated_notice"  # 通报
    summons = "summons"  # 约谈
    public_exposure = "public_exposure"  # 曝光
    listed_supervision = "listed_supervision"  # 挂牌督办


RUNG = {m: i for i, m in enumerate(Measure, start=1)}
MEASURE_NAMES = {
    Measure.warning_letter: "函告",
    Measure.circulated_notice: "通报",
    Measure.summons: "约谈",
    Measure.public_exposure: "曝光",
    Measure.listed_supervision: "挂牌督办",
}


class Issuer(StrEnum):
    lead_department = "lead_department"  # the hazard's lead department
    higher_level = "higher_level"  # the level above the hazard's region (supervises the supervisors; 挂牌督办)


class MeasureState(StrEnum):
    proposed = "proposed"
    issued = "issued"
    acknowledged = "acknowledged"
    resolved = "resolved"
    withdrawn = "withdrawn"


OPEN_MEASURE_STATES = (MeasureState.proposed, MeasureState.issued, MeasureState.acknowledged)


class EscalationRule(Base):
    """One version of a rule. Editing a rule adds the next version and retires this one; timers and
    measures point at the version that made them, so old deadlines never move."""

    __tablename__ = "escalation_rules"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # None: the national default
    stall: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[int] = mapped_column(Integer)
    working_days: Mapped[bool] = mapped_column(Boolean, default=True)
    measure: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(32), default=Issuer.lead_department)
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=True)
    response_days: Mapped[int] = mapped_column(Integer, default=10)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_escalation_rules_current", EscalationRule.stall, EscalationRule.region_code, EscalationRule.retired_at)


class SupervisionTimer(Base):
    """When rule ``rule_id`` fires for a hazard in its current stall. Rebuilt whenever the hazard changes;
    ``basis`` names the stall episode (the event that started it), so a stall is only ever acted on once.
    ``due_on`` is NULL while it falls in a year whose holiday table is missing (``missing_year``)."""

    __tablename__ = "supervision_timers"
    __table_args__ = (UniqueConstraint("hazard_id", "rule_id", "basis"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys (migration 0021): each check locked the rule's row, which every report and transition
    # shares, so concurrent writes made a MultiXact apiece. Rules are versioned and hazards kept (their events'
    # key forbids deleting one), and the sweep inner-joins both, so an orphan could not fire.
    hazard_id: Mapped[int] = mapped_column(BigId)  # by the unique index (hazard_id, …)
    rule_id: Mapped[int] = mapped_column(Integer)
    basis: Mapped[str] = mapped_column(String(64))
    watch_state: Mapped[str] = mapped_column(String(32))  # the timer is live only while the hazard is in it
    target_kind: Mapped[str] = mapped_column(String(16))  # enterprise | department
    base_on: Mapped[date] = mapped_column(Date)  # the day the threshold counts from
    due_on: Mapped[date | None] = mapped_column(Date)
    missing_year: Mapped[int | None] = mapped_column(Integer)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The sweep reads only unfired timers that are due: a partial index keeps that scan proportional to them.
Index(
    "ix_supervision_timers_due",
    SupervisionTimer.due_on,
    postgresql_where=text("fired_at IS NULL"),
    sqlite_where=text("fired_at IS NULL"),
)


class SupervisionMeasure(Base):
    __tablename__ = "supervision_measures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    measure: Mapped[str] = mapped_column(String(32))
    rung: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=MeasureState.proposed)
    stall: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str] = mapped_column(String(16))  # enterprise | department | region
    target_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    target_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    target_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"))
    issuer: Mapped[str] = mapped_column(String(32))
    issuer_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    issuer_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    sector_code: Mapped[str | None] = mapped_column(ForeignKey("sectors.code"))  # None for a region's stall
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_rules.id"))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=True)
    response_days: Mapped[int] = mapped_column(Integer, default=10)
    reason: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str | None] = mapped_column(Text)
    # 文号 are numbered per issuing authority (D<department id> or R<region code>) and year; two authorities
    # may share a name (重庆市 is two prefectures), so the printed number is unique only with its authority.
    document_authority: Mapped[str | None] = mapped_column(String(32))
    document_number: Mapped[str | None] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    response_due: Mapped[date | None] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    taken_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 曝光 removed / 挂牌 lifted (摘牌)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The head of the measure's event chain (workflow/audit.py); 0 until it is first issued or withdrawn.
    chain_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain_head: Mapped[str | None] = mapped_column(String(64))

    __mapper_args__: ClassVar = {"version_id_col": version}


Index(
    "ux_supervision_measures_document",
    SupervisionMeasure.document_authority,
    SupervisionMeasure.document_number,
    unique=True,
)
Index("ix_supervision_measures_hazard", SupervisionMeasure.hazard_id, SupervisionMeasure.id)
Index("ix_supervision_measures_state_region", SupervisionMeasure.state, SupervisionMeasure.issuer_region_code)
Index("ix_supervision_measures_target_enterprise", SupervisionMeasure.target_enterprise_id, SupervisionMeasure.id)


class SelfInspection(Base):
    """An enterprise's own inspection for major hazards (自查), which its principal must lead at least once a
    quarter, or once a month in high-risk industries."""

    __tablename__ = "self_inspections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    inspected_on: Mapped[date] = mapped_column(Date)
    led_by: Mapped[str] = mapped_column(String(64))
    led_by_principal: Mapped[bool] = mapped_column(Boolean)
    scope: Mapped[str] = mapped_column(Text)
    hazards_found: Mapped[int] = mapped_column(Integer, default=0)
    hazard_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The sweep asks "did this enterprise inspect between these days?" for every enterprise at once.
Index("ix_self_inspections_enterprise_day", SelfInspection.enterprise_id, SelfInspection.inspected_on)


class MeasureEvent(Base):
    """What happened to a measure, who did it and when (append-only; ``hash`` chains it to the one before)."""

    __tablename__ = "supervision_measure_events"
    __table_args__ = (UniqueConstraint("measure_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("supervision_measures.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class DocumentCounter(Base):
    """文号 sequence per issuing authority and year."""

    __tablename__ = "supervision_document_counters"

    authority: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CalendarDay(Base):
    """An exception day of an administrator-loaded year: a holiday, or a 调休 working weekend day."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)


class CalendarYear(Base):
    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str | None] = mapped_column(Text)
