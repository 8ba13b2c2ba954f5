"""Proof of service (送达回证): how, when and to whom a document generated from the record was served."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hazard_registry.db import Base, UTCDateTime, utcnow
from hazard_registry.hazards.models import BigId


class ServiceMethod(StrEnum):
    personal = "personal"  # 直接送达
    post = "post"  # 邮寄送达
    electronic = "electronic"  # 电子送达
    left_at_premises = "left_at_premises"  # 留置送达 (needs witnesses)
    public_notice = "public_notice"  # 公告送达 (no recipient signs)


METHOD_NAMES = {
    ServiceMethod.personal: "直接送达",
    ServiceMethod.post: "邮寄送达",
    ServiceMethod.electronic: "电子送达",
    ServiceMethod.left_at_premises: "留置送达",
    ServiceMethod.public_notice: "公告送达",
}


class DocumentService(Base):
    """One service of one document: a measure's (``measure_id``) or a hazard's rectification notice
    (``hazard_id`` alone). Append-only: a second service (e.g. by post after a failed personal one) is a
    second row; the document counts as served from its first."""

    __tablename__ = "document_services"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    measure_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_measures.id"))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazards.id"))
    document_kind: Mapped[str] = mapped_column(String(32))
    document_number: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(24))
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(300))
    served_by: Mapped[str] = mapped_column(String(128))
    received_by: Mapped[str | None] = mapped_column(String(128))
    witnesses: Mapped[list[str]] = mapped_column(JSON, default=list)
    receipt_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    receipt_filename: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# "Is this measure served?" is asked for every issued measure at once (the unserved list and the sweep).
Index("ix_document_services_measure", DocumentService.measure_id)
Index("ix_document_services_hazard", DocumentService.hazard_id, DocumentService.measure_id)
