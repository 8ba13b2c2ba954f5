"""Reference data: regions (GB/T 2260), sectors, industries (GB/T 4754), departments, enterprises, standards."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hazard_registry.db import Base, UTCDateTime, utcnow


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # province | prefecture | county | township
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)


class Sector(Base):
    """A campaign sector (治本攻坚 area); one department leads each sector in a region."""

    __tablename__ = "sectors"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)


class Industry(Base):
    __tablename__ = "industries"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # section | division
    section: Mapped[str] = mapped_column(String(1))
    sector_code: Mapped[str] = mapped_column(ForeignKey("sectors.code"))


class DepartmentSector(Base):
    __tablename__ = "department_sectors"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True)
    sector_code: Mapped[str] = mapped_column(ForeignKey("sectors.code"), primary_key=True, index=True)


class Department(Base):
    """A department with work-safety duties (负有安全生产监督管理职责的部门) of one region."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    # The emergency-management bureau: leads whatever no other department of its region leads.
    is_default_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    head_name: Mapped[str | None] = mapped_column(String(64))
    head_phone: Mapped[str | None] = mapped_column(String(32))
    head_email: Mapped[str | None] = mapped_column(String(254))
    sector_links: Mapped[list[DepartmentSector]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=DepartmentSector.sector_code
    )

    @property
    def sectors(self) -> list[str]:
        return [s.sector_code for s in self.sector_links]


class Enterprise(Base):
    """A production and business unit (生产经营单位), identified by its 统一社会信用代码."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    industry_code: Mapped[str] = mapped_column(ForeignKey("industries.code"), index=True)
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(String(300))
    principal_name: Mapped[str] = mapped_column(String(64))
    principal_phone: Mapped[str] = mapped_column(String(32))
    principal_email: Mapped[str | None] = mapped_column(String(254))
    controller_name: Mapped[str | None] = mapped_column(String(64))
    controller_phone: Mapped[str | None] = mapped_column(String(32))
    controller_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: ClassVar = {"version_id_col": version}


class Standard(Base):
    """One edition of a determination standard (重大事故隐患判定标准). Editions are rows, never edited in place."""

    __tablename__ = "standards"
    __table_args__ = (UniqueConstraint("family", "edition"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    edition: Mapped[str] = mapped_column(String(32))
    document_number: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(128))
    sector_code: Mapped[str] = mapped_column(ForeignKey("sectors.code"))
    published_on: Mapped[date | None] = mapped_column(Date)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    clauses: Mapped[list[StandardClause]] = relationship(
        back_populates="standard", lazy="selectin", order_by="StandardClause.id"
    )

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


class StandardClause(Base):
    __tablename__ = "standard_clauses"
    __table_args__ = (UniqueConstraint("standard_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standard_id: Mapped[int] = mapped_column(ForeignKey("standards.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    standard: Mapped[Standard] = relationship(back_populates="clauses", lazy="joined")


Index("ix_enterprises_region_industry", Enterprise.region_code, Enterprise.industry_code)
