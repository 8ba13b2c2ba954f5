"""Documents API: a measure's or a hazard's document as PDF or DOCX, the 送达回证 form, service records, and
the list of documents not yet served. Scoped exactly like the measure or hazard (404 outside it)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hazard_registry import clock, uploads
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.documents import content
from hazard_registry.documents import service as docs
from hazard_registry.documents.models import ServiceMethod
from hazard_registry.errors import InvalidInput
from hazard_registry.pagination import Page
from hazard_registry.types import IdPath

router = APIRouter(prefix="/api/v1", tags=["documents"], route_class=SessionRoute)


class Format(StrEnum):
    pdf = "pdf"
    docx = "docx"


FormatQuery = Annotated[Format, Query(alias="format", description="pdf (GB/T 9704-2012 layout) or docx (editable)")]

_FILE_RESPONSES = {
    200: {
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
        "description": "The document",
    }
}


def document_response(doc: content.OfficialDocument | content.ServiceReceipt, fmt: str) -> Response:
    """The rendered document as a download named by its 文号 (the API and the console both answer with it)."""
    stem = "送达回证" if isinstance(doc, content.ServiceReceipt) else (doc.number or doc.title).replace("/", "-")
    return _file(doc, Format(fmt), stem)


def _file(doc: content.OfficialDocument | content.ServiceReceipt, fmt: Format, stem: str) -> Response:
    data, media_type = docs.render_document(doc, fmt.value)
    name = f"{stem}.{fmt.value}"
    ascii_name = name.encode("ascii", "ignore").decode() or f"document.{fmt.value}"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _stem(doc: content.OfficialDocument) -> str:
    return (doc.number or doc.title).replace("/", "-")


@router.get(
    "/measures/{measure_id}/document",
    operation_id="measure_document",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
def measure_document(measure_id: IdPath, actor: CurrentActor, session: DbSession, fmt: FormatQuery) -> Response:
    """The measure's document (函告, 通报, 约谈通知书, 挂牌督办通知书, 曝光决定) once it is issued."""
    doc = content.measure_document(session, actor, measure_id)
    return _file(doc, fmt, _stem(doc))


@router.get(
    "/hazards/{hazard_id}/document",
    operation_id="hazard_document",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
def hazard_document(hazard_id: IdPath, actor: CurrentActor, session: DbSession, fmt: FormatQuery) -> Response:
    """The rectification notice (责令限期整改通知书) of a hazard that has been assigned."""
    doc = content.hazard_document(session, actor, hazard_id)
    return _file(doc, fmt, _stem(doc))


@router.get(
    "/measures/{measure_id}/service-receipt",
    operation_id="measure_service_receipt",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
def measure_service_receipt(measure_id: IdPath, actor: CurrentActor, session: DbSession, fmt: FormatQuery) -> Response:
    """The 送达回证 form for the measure's document, filled from its first recorded service if any."""
    return _file(docs.measure_receipt(session, actor, measure_id), fmt, "送达回证")


@router.get(
    "/hazards/{hazard_id}/service-receipt",
    operation_id="hazard_service_receipt",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
def hazard_service_receipt(hazard_id: IdPath, actor: CurrentActor, session: DbSession, fmt: FormatQuery) -> Response:
    return _file(docs.hazard_receipt(session, actor, hazard_id), fmt, "送达回证")


# --- service records --------------------------------------------------------------------------------------------

Short = Annotated[str, Field(min_length=1, max_length=128)]


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: ServiceMethod
    served_at: datetime
    served_by: Short
    received_by: Short | None = None
    place: str | None = Field(None, max_length=300)
    witnesses: list[Short] = Field(default_factory=list, max_length=5)
    note: str | None = Field(None, max_length=2000)


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    measure_id: int | None
    hazard_id: int | None
    document_kind: str
    document_number: str | None
    method: ServiceMethod
    served_at: datetime
    place: str | None
    served_by: str
    received_by: str | None
    witnesses: list[str]
    has_receipt_scan: bool = False
    note: str | None
    recorded_at: datetime


def _out(row) -> ServiceOut:
    out = ServiceOut.model_validate(row)
    out.has_receipt_scan = row.receipt_attachment_id is not None
    return out


def _parse(
    method: str, served_at: str, served_by: str, received_by: str | None, place: str | None,
    witnesses: list[str] | None, note: str | None,
) -> dict:  # fmt: skip
    try:
        body = ServiceIn.model_validate(
            {
                "method": method,
                "served_at": served_at,
                "served_by": served_by,
                "received_by": received_by or None,
                "place": place or None,
                "witnesses": [w for w in witnesses or [] if w.strip()],
                "note": note or None,
            }
        )
    except ValidationError as exc:
        errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        raise InvalidInput("invalid service record", errors=errors) from None
    data = body.model_dump()
    if data["served_at"].tzinfo is None:  # a time without zone is China time, as an officer writes it
        data["served_at"] = data["served_at"].replace(tzinfo=clock.CHINA)
    data["served_at"] = data["served_at"].astimezone(UTC)
    return data


def _record(request: Request, session, actor, data, receipt: UploadFile | None, **target) -> ServiceOut:
    settings = request.app.state.settings
    row = docs.record_service(
        session,
        actor,
        data,
        receipt=(receipt.filename or "receipt", receipt.file) if receipt is not None and receipt.filename else None,
        root=settings.effective_attachments_dir,
        max_bytes=settings.attachment_max_bytes,
        now=clock.now(),
        **target,
    )
    session.commit()
    return _out(row)


@router.post(
    "/measures/{measure_id}/services",
    response_model=ServiceOut,
    status_code=201,
    operation_id="record_measure_service",
)
def record_measure_service(
    measure_id: IdPath,
    request: Request,
    actor: CurrentActor,
    session: DbSession,
    method: Annotated[ServiceMethod, Form()],
    served_at: Annotated[str, Form(description="When it was served (ISO 8601; without zone: China time)")],
    served_by: Annotated[str, Form(max_length=128)],
    received_by: Annotated[str | None, Form(max_length=128)] = None,
    place: Annotated[str | None, Form(max_length=300)] = None,
    witnesses: Annotated[list[str] | None, Form(description="见证人, for 留置送达")] = None,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    receipt: Annotated[UploadFile | None, File(description="Scan or photo of the signed 送达回证")] = None,
) -> ServiceOut:
    """Record how the measure's document was served (送达), with the signed receipt's scan."""
    data = _parse(method, served_at, served_by, received_by, place, witnesses, note)
    return _record(request, session, actor, data, receipt, measure_id=measure_id)


@router.post(
    "/hazards/{hazard_id}/services",
    response_model=ServiceOut,
    status_code=201,
    operation_id="record_hazard_service",
)
def record_hazard_service(
    hazard_id: IdPath,
    request: Request,
    actor: CurrentActor,
    session: DbSession,
    method: Annotated[ServiceMethod, Form()],
    served_at: Annotated[str, Form(description="When it was served (ISO 8601; without zone: China time)")],
    served_by: Annotated[str, Form(max_length=128)],
    received_by: Annotated[str | None, Form(max_length=128)] = None,
    place: Annotated[str | None, Form(max_length=300)] = None,
    witnesses: Annotated[list[str] | None, Form(description="见证人, for 留置送达")] = None,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    receipt: Annotated[UploadFile | None, File(description="Scan or photo of the signed 送达回证")] = None,
) -> ServiceOut:
    """Record how the hazard's rectification notice was served."""
    data = _parse(method, served_at, served_by, received_by, place, witnesses, note)
    return _record(request, session, actor, data, receipt, hazard_id=hazard_id)


@router.get("/measures/{measure_id}/services", response_model=Page[ServiceOut], operation_id="measure_services")
def measure_services(measure_id: IdPath, actor: CurrentActor, session: DbSession) -> Page[ServiceOut]:
    return Page[ServiceOut](items=[_out(r) for r in docs.measure_services(session, actor, measure_id)])


@router.get("/hazards/{hazard_id}/services", response_model=Page[ServiceOut], operation_id="hazard_services")
def hazard_services(hazard_id: IdPath, actor: CurrentActor, session: DbSession) -> Page[ServiceOut]:
    return Page[ServiceOut](items=[_out(r) for r in docs.hazard_services(session, actor, hazard_id)])


@router.get(
    "/document-services/{service_id}/receipt",
    operation_id="service_receipt_scan",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The scan"}},
)
def service_receipt_scan(service_id: IdPath, request: Request, actor: CurrentActor, session: DbSession):
    row, blob = docs.receipt_scan(session, actor, service_id)
    path = uploads.blob_path(request.app.state.settings.effective_attachments_dir, blob.sha256)
    return FileResponse(
        path,
        media_type=blob.media_type,
        filename=row.receipt_filename or "receipt",
        headers={"X-Content-Type-Options": "nosniff"},
    )


class UnservedItem(BaseModel):
    kind: str = Field(description="warning_letter … public_exposure, or rectification_notice")
    measure_id: int | None
    hazard_id: int | None
    document_number: str | None
    dated: date | None
    target_kind: str
    hazard_number: str | None = None
    enterprise_name: str | None = None


class UnservedPage(BaseModel):
    items: list[UnservedItem]
    next_cursor: str | None


@router.get("/documents/unserved", response_model=UnservedPage, operation_id="unserved_documents")
def unserved_documents(
    actor: CurrentActor,
    session: DbSession,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> UnservedPage:
    """Documents of the caller's scope with no recorded service: issued measures, then assigned hazards'
    rectification notices."""
    items, next_cursor = docs.unserved(session, actor, cursor=cursor, limit=limit)
    return UnservedPage(items=[UnservedItem(**i) for i in items], next_cursor=next_cursor)
