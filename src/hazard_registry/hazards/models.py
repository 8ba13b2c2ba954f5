"""The hazard register: hazards, their append-only event chain, attachments, extensions, idempotency keys."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.auth.principal import region_prefix
from hazard_registry.db import Base, UTCDateTime, utcnow

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Hazard(Base):
    __tablename__ = "hazards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    grade: Mapped[str] = mapped_column(String(8), default="major")
    state: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    industry_code: Mapped[str] = mapped_column(ForeignKey("industries.code"))
    sector_code: Mapped[str] = mapped_column(ForeignKey("sectors.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    clause_id: Mapped[int] = mapped_column(ForeignKey("standard_clauses.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))
    found_at: Mapped[date] = mapped_column(Date)
    production_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_by_role: Mapped[str] = mapped_column(String(16))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deadline: Mapped[date | None] = mapped_column(Date)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    completion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"))
    recurrence_of_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"))
    failed_verifications: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The head of the hazard's event chain (workflow/audit.py): a removed last event no longer reaches it.
    chain_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    chain_head: Mapped[str | None] = mapped_column(String(64))

    __mapper_args__: ClassVar = {"version_id_col": version}


# Keyset pages run newest first within each filter; every index ends in id so the page is an index range.
Index("ix_hazards_state_id", Hazard.state, Hazard.id)
# The list by region and state, newest first (migration 0015_speed): a township by its code, a county, prefecture or
# province by its prefix (auth.principal.region_equal_prefix), so the rows come out of the index in id order.
Index("ix_hazards_state_region_id", Hazard.state, Hazard.region_code, Hazard.id)
# On PostgreSQL they INCLUDE region_code (migration 0016_speed2): the filter names the column, and an expression
# index is scanned index-only only when it holds every column the query names.
_INCLUDE = {"postgresql_include": ["region_code"]}
Index("ix_hazards_state_province_id", Hazard.state, region_prefix(Hazard.region_code, 2), Hazard.id, **_INCLUDE)
Index("ix_hazards_state_prefecture_id", Hazard.state, region_prefix(Hazard.region_code, 4), Hazard.id, **_INCLUDE)
Index("ix_hazards_state_county_id", Hazard.state, region_prefix(Hazard.region_code, 6), Hazard.id, **_INCLUDE)
Index("ix_hazards_region_id", Hazard.region_code, Hazard.id)
Index("ix_hazards_enterprise_id", Hazard.enterprise_id, Hazard.id)
Index("ix_hazards_department_id", Hazard.department_id, Hazard.id)
Index("ix_hazards_sector_region", Hazard.sector_code, Hazard.region_code, Hazard.id)
Index("ix_hazards_found_at", Hazard.found_at, Hazard.id)
# Statistics as of a past day look up the history of the hazards changed since (statistics.service.OnDay).
Index("ix_hazards_updated_at", Hazard.updated_at)
Index("ix_hazards_deadline_state", Hazard.deadline, Hazard.state)
Index("ix_hazards_officer_id", Hazard.officer_id, Hazard.id)


class HazardEvent(Base):
    """One step of a hazard's history. Append-only; ``hash`` chains each event to the one before it."""

    __tablename__ = "hazard_events"
    __table_args__ = (UniqueConstraint("hazard_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"))
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The hazard's rectification deadline just after this event (``to_state`` is its state just after): with
    # ``at`` they say what was true on any past day (statistics as of a day). A copy of what the hashed
    # ``data`` of ``assign`` and ``extension_approved`` events says, so it is not hashed itself.
    deadline_after: Mapped[date | None] = mapped_column(Date)


class Attachment(Base):
    """A stored file, content-addressed: the same bytes are kept once whoever uploads them."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HazardAttachment(Base):
    __tablename__ = "hazard_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id"))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Extension(Base):
    """A request to move a hazard's rectification deadline (延期), decided by the regulator."""

    __tablename__ = "hazard_extensions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    current_deadline: Mapped[date] = mapped_column(Date)
    requested_deadline: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class HazardCounter(Base):
    """The last sequence number given to a hazard of a region and year (for human-readable numbers)."""

    __tablename__ = "hazard_counters"

    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(Base):
    """The first response to a creating POST, replayed when a client retries with the same key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
