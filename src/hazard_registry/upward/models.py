"""Upward reporting (逐级上报): what a lower deployment pushed up, and what an upper deployment received.

Sending side: ``upward_pushes``, one row per (region, period, revision) this deployment pushed; the document
itself travels as the body of a notice (channel ``upward``) of the outbox, the record of what was sent.

Receiving side: ``upward_downstreams`` (the lower deployments an administrator registered, their secret
sealed with ``HAZARD_UPWARD_KEYS``, and the regions each may report for: ``upward_downstream_regions``, a
region on one line of the hierarchy with no other downstream's), ``upward_reports`` (every document accepted;
the highest revision of a (downstream, region, period) is the one counted) and ``upward_signatures`` (the
signatures seen within the timestamp window, so a request replayed as it was is refused).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow
from hazard_registry.hazards.models import BigId


class Push(Base):
    __tablename__ = "upward_pushes"
    __table_args__ = (UniqueConstraint("region_code", "period", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    period: Mapped[str] = mapped_column(String(8))
    revision: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the content (see upward.document)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    pushed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the worker
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Downstream(Base):
    __tablename__ = "upward_downstreams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    # The administrator's region it was registered under: administrators of that region (and above) manage it.
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    secret_enc: Mapped[str] = mapped_column(Text)  # Fernet token of {"secret": …}
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DownstreamRegion(Base):
    __tablename__ = "upward_downstream_regions"

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)  # one downstream each
    downstream_id: Mapped[int] = mapped_column(ForeignKey("upward_downstreams.id"), index=True)


class ReceivedReport(Base):
    __tablename__ = "upward_reports"
    __table_args__ = (UniqueConstraint("downstream_id", "region_code", "period", "revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    downstream_id: Mapped[int] = mapped_column(ForeignKey("upward_downstreams.id"))
    deployment_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    period: Mapped[str] = mapped_column(String(8))
    revision: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    digest: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The statistics read the reports of a period within a region.
Index("ix_upward_reports_period_region", ReceivedReport.period, ReceivedReport.region_code)


class SeenSignature(Base):
    __tablename__ = "upward_signatures"

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
