"""Imported ledgers: the file and, per imported row, its natural key, so a re-import creates nothing new."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow
from hazard_registry.hazards.models import BigId


class LedgerImport(Base):
    __tablename__ = "ledger_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_bad: Mapped[int] = mapped_column(Integer, default=0)


class LedgerImportRow(Base):
    """One row that became a hazard. ``row_key`` hashes the row's identifying content (enterprise, clause,
    found-at, title, location), so the same row arriving again, in this file or another, is skipped."""

    __tablename__ = "ledger_import_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("ledger_imports.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    row_key: Mapped[str] = mapped_column(String(64), unique=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazards.id"), index=True)
