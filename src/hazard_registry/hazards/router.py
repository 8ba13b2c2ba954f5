from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, Response

from hazard_registry import clock, uploads
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.config import AppSettings, Settings
from hazard_registry.db import DbSession, SessionRoute, on_loop, reads_only
from hazard_registry.hazards import schemas, service
from hazard_registry.hazards.workflow import State
from hazard_registry.idempotency import IdempotencyHeader, fingerprint, run_once
from hazard_registry.pagination import Cursor, Page
from hazard_registry.responses import json_response
from hazard_registry.types import Id, IdPath, IfMatch, RegionQuery, expected_version

router = APIRouter(prefix="/api/v1/hazards", tags=["hazards"], route_class=SessionRoute)


@router.post(
    "",
    status_code=201,
    response_model=schemas.HazardDetail,
    operation_id="report_hazard",
    summary="Report a hazard (上账)",
)
@on_loop
def report_hazard(
    data: schemas.HazardCreate, actor: CurrentActor, session: DbSession, idempotency_key: IdempotencyHeader = None
) -> Response:
    def create() -> tuple[int, dict]:
        return 201, service.report_detail(session, actor, data, clock.now()).model_dump(mode="json")

    return run_once(
        session, actor, idempotency_key, lambda: fingerprint("report", data.model_dump(mode="json")), create
    )


async def hazard_filters(
    state: Annotated[list[State] | None, Query(description="Repeat for several")] = None,
    region: RegionQuery = None,
    industry_code: Annotated[str | None, Query(max_length=4)] = None,
    sector_code: Annotated[str | None, Query(max_length=32)] = None,
    department_id: Id | None = None,
    enterprise_id: Id | None = None,
    officer_id: Annotated[Id | None, Query(description="The hazard's officer (经办人)")] = None,
    source: Literal["self_report", "inspection", "public_report", "other"] | None = None,
    overdue: bool | None = None,
    found_from: date | None = None,
    found_to: date | None = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Text in number, title or description")
    ] = None,
) -> service.HazardFilters:
    """The list's filters as one dependency, shared by the list and the ledger export."""
    return service.HazardFilters(
        state=[s.value for s in state or []],
        region=region,
        industry_code=industry_code,
        sector_code=sector_code,
        department_id=department_id,
        enterprise_id=enterprise_id,
        officer_id=officer_id,
        source=source,
        overdue=overdue,
        found_from=found_from,
        found_to=found_to,
        q=q,
    )


HazardFiltersQuery = Annotated[service.HazardFilters, Depends(hazard_filters)]


@router.get("", response_model=schemas.HazardPage, operation_id="list_hazards", summary="List hazards")
@on_loop
@reads_only
def list_hazards(
    actor: CurrentActor,
    session: DbSession,
    filters: HazardFiltersQuery,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    today = clock.today_in_china()
    rows, next_cursor = service.list_hazards(session, actor, filters, cursor=cursor, limit=limit, today=today)
    return Response(service.hazard_page_json(rows, actor, today, next_cursor), media_type="application/json")


@router.get("/{hazard_id}", response_model=schemas.HazardDetail, operation_id="get_hazard")
@on_loop
@reads_only
def get_hazard(hazard_id: IdPath, actor: CurrentActor, session: DbSession) -> Response:
    detail = service.get_detail(session, actor, hazard_id, clock.today_in_china())
    return json_response(detail, headers={"ETag": f'"{detail.version}"'})


@router.post(
    "/{hazard_id}/transitions",
    response_model=schemas.HazardDetail,
    operation_id="transition_hazard",
    summary="Take a workflow action",
    responses={409: {"description": "Wrong state, failed gate or stale version"}},
)
@on_loop
def transition_hazard(
    hazard_id: IdPath,
    body: Annotated[schemas.TransitionBody, Body()],
    actor: CurrentActor,
    session: DbSession,
    if_match: IfMatch = None,
) -> Response:
    detail = service.transition_detail(
        session, actor, hazard_id, body, expected_version=expected_version(if_match, body.version), now=clock.now()
    )
    session.commit()
    return json_response(detail, headers={"ETag": f'"{detail.version}"'})


@router.get(
    "/{hazard_id}/officers",
    response_model=Page[schemas.OfficerOut],
    operation_id="list_assignable_officers",
    summary="Who may be assigned as the hazard's officer (the lead department's active regulators)",
)
@on_loop
@reads_only
def list_officers(hazard_id: IdPath, actor: CurrentActor, session: DbSession) -> Response:
    return json_response(service.officers_page(session, actor, hazard_id))


@router.get("/{hazard_id}/events", response_model=Page[schemas.EventOut], operation_id="list_hazard_events")
@on_loop
@reads_only
def list_events(hazard_id: IdPath, actor: CurrentActor, session: DbSession) -> Response:
    return json_response(service.events_page(session, actor, hazard_id))


@router.post(
    "/{hazard_id}/attachments",
    status_code=201,
    response_model=schemas.AttachmentOut,
    operation_id="add_hazard_attachment",
)
def add_attachment(
    hazard_id: IdPath,
    settings: AppSettings,
    actor: CurrentActor,
    session: DbSession,
    file: Annotated[UploadFile, File(description="Photo (JPEG, PNG, WebP, HEIC), PDF, DOCX or XLSX")],
    kind: Annotated[schemas.AttachmentKind, Form()] = "other",
    idempotency_key: IdempotencyHeader = None,
) -> Response:
    def create() -> tuple[int, dict]:
        link, blob = service.add_attachment(
            session,
            actor,
            hazard_id,
            kind=kind,
            filename=file.filename or "upload",
            stream=file.file,
            root=settings.effective_attachments_dir,
            max_bytes=settings.attachment_max_bytes,
            allowed_types=settings.attachment_types,
            now=clock.now(),
            max_pixels=settings.attachment_image_max_pixels,
        )
        return 201, service.attachment_out(link, blob).model_dump(mode="json")

    # The key alone identifies a retried upload: hashing the body would mean reading it twice.
    return run_once(session, actor, idempotency_key, fingerprint("attach", hazard_id, kind, file.filename), create)


@router.get(
    "/{hazard_id}/attachments", response_model=Page[schemas.AttachmentOut], operation_id="list_hazard_attachments"
)
@on_loop
@reads_only
def list_attachments(hazard_id: IdPath, actor: CurrentActor, session: DbSession) -> Response:
    return json_response(service.attachments_page(session, actor, hazard_id))


@router.get(
    "/{hazard_id}/attachments/{attachment_id}/content",
    operation_id="download_hazard_attachment",
    response_class=FileResponse,
    responses=uploads.file_responses(Settings.model_fields["attachment_types"].default),
)
@reads_only
def download_attachment(
    hazard_id: IdPath, attachment_id: IdPath, settings: AppSettings, actor: CurrentActor, session: DbSession
) -> FileResponse:
    file = service.attachment_file(session, actor, hazard_id, attachment_id)
    path = uploads.blob_path(settings.effective_attachments_dir, file.sha256)
    return uploads.download(path, file.media_type, file.filename)


@router.post(
    "/{hazard_id}/extensions",
    status_code=201,
    response_model=schemas.ExtensionOut,
    operation_id="request_extension",
    summary="Ask for a later deadline (延期)",
)
def request_extension(
    hazard_id: IdPath,
    data: schemas.ExtensionCreate,
    actor: CurrentActor,
    session: DbSession,
    idempotency_key: IdempotencyHeader = None,
) -> Response:
    def create() -> tuple[int, dict]:
        ext = service.request_extension(session, actor, hazard_id, data, clock.now())
        return 201, schemas.ExtensionOut.model_validate(ext).model_dump(mode="json")

    return run_once(
        session, actor, idempotency_key, fingerprint("extension", hazard_id, data.model_dump(mode="json")), create
    )


@router.get("/{hazard_id}/extensions", response_model=Page[schemas.ExtensionOut], operation_id="list_extensions")
@on_loop
@reads_only
def list_extensions(hazard_id: IdPath, actor: CurrentActor, session: DbSession) -> Response:
    return json_response(service.extensions_page(session, actor, hazard_id))


@router.post(
    "/{hazard_id}/extensions/{extension_id}/decision",
    response_model=schemas.ExtensionOut,
    operation_id="decide_extension",
    summary="Approve or refuse an extension",
)
def decide_extension(
    hazard_id: IdPath, extension_id: IdPath, data: schemas.ExtensionDecision, actor: CurrentActor, session: DbSession
) -> schemas.ExtensionOut:
    ext = service.decide_extension(session, actor, hazard_id, extension_id, data, clock.now())
    session.commit()
    return schemas.ExtensionOut.model_validate(ext)
