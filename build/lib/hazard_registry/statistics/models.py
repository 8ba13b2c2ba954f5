"""Enterprise statistics filings (季报 and 年报): one row per enterprise and period."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow


class Filing(Base):
    """An enterprise's statistics table for one period, pre-filled from the register.

    A row exists from the moment the period is opened (``open_period``) or the enterprise files; ``filed_at``
    is empty until the principal confirms it. ``due_on`` is stored, and indexed with ``filed_at``, so that a
    sweep finds the late ones (due_on < today and filed_at is null) with one index range scan.
    """

    __tablename__ = "enterprise_filings"
    __table_args__ = (UniqueConstraint("enterprise_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    period: Mapped[str] = mapped_column(String(8))  # 2026Q3 or 2026
    kind: Mapped[str] = mapped_column(String(10))  # quarterly | annual
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    confirmed_by_name: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_enterprise_filings_due_on", Filing.due_on, Filing.filed_at)
