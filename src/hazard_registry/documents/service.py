"""Documents and their service (送达). Services never commit; the route does, once.

A document belongs to a record (an issued measure, or an assigned hazard's rectification notice) and is seen
by whoever sees the record. Service is recorded by the issuing side: for a measure, whoever may issue it
(``supervision.service.can_issue``); for a hazard, a regulator of its lead department. The unserved list is
one statement per kind of document over the caller's scope.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from hazard_registry import clock, uploads
from hazard_registry.auth.principal import Actor, Role, hazard_scope
from hazard_registry.documents import content, render
from hazard_registry.documents.models import METHOD_NAMES, DocumentService, ServiceMethod
from hazard_registry.errors import Forbidden, InvalidInput, NotFound, UnsupportedMedia
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.models import Attachment, Hazard
from hazard_registry.reference.models import Enterprise
from hazard_registry.supervision import service as supervision
from hazard_registry.supervision.models import MeasureState, SupervisionMeasure

SERVED_MEASURE_STATES = (MeasureState.issued.value, MeasureState.acknowledged.value)
NOTICE_STATES = sorted(s.value for s in content.NOTICE_STATES)

# A receipt scan is a photo or a PDF: whatever the content says it is.
RECEIPT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")


def render_document(doc: content.OfficialDocument | content.ServiceReceipt, fmt: str) -> tuple[bytes, str]:
    if isinstance(doc, content.ServiceReceipt):
        return (render.receipt_pdf(doc), render.PDF) if fmt == "pdf" else (render.receipt_docx(doc), render.DOCX)
    return (render.official_pdf(doc), render.PDF) if fmt == "pdf" else (render.official_docx(doc), render.DOCX)


# --- who serves -----------------------------------------------------------------------------------------------


def _may_serve_hazard(actor: Actor, hazard: Hazard) -> bool:
    return actor.role is Role.system or (actor.role is Role.regulator and actor.department_id == hazard.department_id)


def services_of(session: Session, *, measure_id: int | None = None, hazard_id: int | None = None) -> list:
    stmt = select(DocumentService).order_by(DocumentService.served_at, DocumentService.id)
    if measure_id is not None:
        stmt = stmt.where(DocumentService.measure_id == measure_id)
    else:
        stmt = stmt.where(DocumentService.hazard_id == hazard_id, DocumentService.measure_id.is_(None))
    return list(session.scalars(stmt))


def measure_services(session: Session, actor: Actor, measure_id: int) -> list[DocumentService]:
    supervision.get_visible(session, actor, measure_id)
    return services_of(session, measure_id=measure_id)


def hazard_services(session: Session, actor: Actor, hazard_id: int) -> list[DocumentService]:
    hazards.get_visible(session, actor, hazard_id)
    return services_of(session, hazard_id=hazard_id)


def measure_receipt(session: Session, actor: Actor, measure_id: int) -> content.ServiceReceipt:
    doc = content.measure_document(session, actor, measure_id)
    return content.service_receipt(
        doc, services_of(session, measure_id=measure_id), clock.today_in_china(), method_names=METHOD_NAMES
    )


def hazard_receipt(session: Session, actor: Actor, hazard_id: int) -> content.ServiceReceipt:
    doc = content.hazard_document(session, actor, hazard_id)
    return content.service_receipt(
        doc, services_of(session, hazard_id=hazard_id), clock.today_in_china(), method_names=METHOD_NAMES
    )


def _check_record(data: dict[str, Any], now: datetime) -> None:
    method = ServiceMethod(data["method"])
    errors = []
    if method is ServiceMethod.left_at_premises and len(data.get("witnesses") or []) < 1:
        errors.append({"field": "witnesses", "message": "留置送达 needs at least one witness"})
    if method in (ServiceMethod.personal, ServiceMethod.left_at_premises) and not data.get("received_by"):
        errors.append({"field": "received_by", "message": "name who received (or refused) the document"})
    if data["served_at"] > now:
        errors.append({"field": "served_at", "message": "a service cannot be in the future"})
    if errors:
        raise InvalidInput("the service record is incomplete", code="service_invalid", errors=errors)


def record_service(
    session: Session,
    actor: Actor,
    data: dict[str, Any],
    *,
    measure_id: int | None = None,
    hazard_id: int | None = None,
    receipt: tuple[str, BinaryIO] | None,
    root: Path,
    max_bytes: int,
    now: datetime,
) -> DocumentService:
    """Record how a document was served, with the signed receipt's scan stored like any attachment."""
    if measure_id is not None:
        m = supervision.get_visible(session, actor, measure_id)
        if not supervision.can_issue(actor, m):
            raise Forbidden("only the issuing side records the service of a measure", code="service_forbidden")
        doc = content.measure_document_for(session, m)
        hazard_id = m.hazard_id
    else:
        assert hazard_id is not None
        hazard = hazards.get_visible(session, actor, hazard_id)
        if not _may_serve_hazard(actor, hazard):
            raise Forbidden("the hazard's lead department serves its notice", code="service_forbidden")
        doc = content.hazard_document_for(session, hazard)
    _check_record(data, now)
    blob = None
    filename = None
    if receipt is not None:
        filename, stream = receipt
        sha, size, media_type, tmp = uploads.store_blob(root, stream, max_bytes)
        try:
            if size == 0:
                raise InvalidInput(
                    "the file is empty", code="file_empty", errors=[{"field": "receipt", "message": "empty"}]
                )
            if media_type not in RECEIPT_TYPES:
                raise UnsupportedMedia(
                    f"a receipt scan of type {media_type} is not accepted", allowed=list(RECEIPT_TYPES)
                )
            hazards.install_blob(root, sha, tmp)
        finally:
            tmp.unlink(missing_ok=True)
        blob = hazards.attachment_row(session, sha, size, media_type, now)
    row = DocumentService(
        measure_id=measure_id,
        hazard_id=hazard_id,
        document_kind=doc.kind,
        document_number=doc.number,
        method=data["method"],
        served_at=data["served_at"],
        place=data.get("place"),
        served_by=data["served_by"],
        received_by=data.get("received_by"),
        witnesses=list(data.get("witnesses") or []),
        receipt_attachment_id=blob.id if blob else None,
        receipt_filename=(filename or "")[:255] or None if blob else None,
        note=data.get("note"),
        recorded_by_id=actor.user_id,
        recorded_at=now,
    )
    session.add(row)
    if measure_id is not None:
        supervision.record(session, m, actor, "serve", now, note=f"{METHOD_NAMES[ServiceMethod(data['method'])]}")
    session.flush()
    return row


def receipt_scan(session: Session, actor: Actor, service_id: int) -> tuple[DocumentService, Attachment]:
    """The scan of a signed receipt, for whoever sees the document it belongs to."""
    row = session.get(DocumentService, service_id)
    if row is None:
        raise NotFound(f"service {service_id} not found", code="service_not_found")
    try:
        if row.measure_id is not None:
            supervision.get_visible(session, actor, row.measure_id)
        else:
            assert row.hazard_id is not None
            hazards.get_visible(session, actor, row.hazard_id)
    except NotFound:
        raise NotFound(f"service {service_id} not found", code="service_not_found") from None
    blob = session.get(Attachment, row.receipt_attachment_id) if row.receipt_attachment_id else None
    if blob is None:
        raise NotFound("no receipt scan was recorded for this service", code="receipt_scan_not_found")
    return row, blob


# --- unserved -------------------------------------------------------------------------------------------------


def encode_cursor(kind: str, last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        kind, last = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        if kind not in ("measure", "hazard"):
            raise ValueError(kind)
        return kind, int(last)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(
            "the cursor is not one this list gave out",
            code="invalid_cursor",
            errors=[{"field": "cursor", "message": "invalid"}],
        ) from None


def unserved(session: Session, actor: Actor, *, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    """Issued measures and assigned hazards' notices with no recorded service, measures first, oldest first:
    what still has to be taken to its addressee. Keyset pages with an opaque cursor."""
    kind, after = decode_cursor(cursor) if cursor else ("measure", 0)
    items: list[dict] = []
    if kind == "measure":
        m = SupervisionMeasure
        rows = session.execute(
            select(m.id, m.measure, m.document_number, m.issued_at, m.target_kind, m.hazard_id, m.response_due)
            .where(
                supervision.measure_scope(actor),
                m.state.in_(SERVED_MEASURE_STATES),
                m.id > after,
                ~exists().where(DocumentService.measure_id == m.id),
            )
            .order_by(m.id)
            .limit(limit + 1)
        ).all()
        items = [
            {
                "kind": r.measure,
                "measure_id": r.id,
                "hazard_id": r.hazard_id,
                "document_number": r.document_number,
                "dated": clock.today_in_china(r.issued_at) if r.issued_at else None,
                "target_kind": r.target_kind,
            }
            for r in rows
        ]
        if len(items) > limit:
            return items[:limit], encode_cursor("measure", items[limit - 1]["measure_id"])
        kind, after = "hazard", 0
    if actor.role is Role.enterprise:
        return items, None  # an enterprise receives notices; it has none to serve
    h = Hazard
    room = limit - len(items)
    rows = session.execute(
        select(h.id, h.number, h.deadline, h.enterprise_id, Enterprise.name)
        .join(Enterprise, Enterprise.id == h.enterprise_id)
        .where(
            hazard_scope(actor, h),
            h.state.in_(NOTICE_STATES),
            h.deadline.is_not(None),
            h.id > after,
            ~exists().where(and_(DocumentService.hazard_id == h.id, DocumentService.measure_id.is_(None))),
        )
        .order_by(h.id)
        .limit(room + 1)
    ).all()
    more = len(rows) > room
    items += [
        {
            "kind": "rectification_notice",
            "measure_id": None,
            "hazard_id": r.id,
            "document_number": None,
            "dated": None,
            "target_kind": "enterprise",
            "hazard_number": r.number,
            "enterprise_name": r.name,
        }
        for r in rows[:room]
    ]
    return items, encode_cursor("hazard", items[-1]["hazard_id"]) if more and items else None
