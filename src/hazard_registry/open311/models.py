"""Partner platforms of the Open311 interface and what each complaint filed through it carries beyond the
complaint itself (where, as the partner sent it).

A partner's key lives only as ``key_hash`` (SHA-256 of a 256-bit random key: its entropy makes a pepper or a
slow hash unnecessary, as with receipt codes); ``key_prefix`` lets an administrator tell keys apart.
The reporter's identity a partner sends is sealed on the complaint (``complaints.identity_enc``), never here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hazard_registry.db import Base, UTCDateTime, utcnow
from hazard_registry.hazards.models import BigId


class PartnerRegion(Base):
    __tablename__ = "open311_partner_regions"

    partner_id: Mapped[int] = mapped_column(ForeignKey("open311_partners.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)


class Partner(Base):
    """A platform allowed to file complaints in its regions, and to read back the ones it filed."""

    __tablename__ = "open311_partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    # The region of the administrator who registered it: administrators of that region (and above) manage it.
    owner_region: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    region_links: Mapped[list[PartnerRegion]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=PartnerRegion.region_code
    )

    @property
    def regions(self) -> list[str]:
        return [r.region_code for r in self.region_links]


class ServiceRequest(Base):
    """The Open311 side of a complaint filed by a partner: its id is the complaint's (``service_request_id``)."""

    __tablename__ = "open311_requests"

    complaint_id: Mapped[int] = mapped_column(BigId, ForeignKey("complaints.id"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("open311_partners.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    address_id: Mapped[str | None] = mapped_column(String(64))
    media_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A partner reads its own requests, newest first, by date range: (partner, created_at, id).
Index("ix_open311_requests_partner_created", ServiceRequest.partner_id, ServiceRequest.created_at)
