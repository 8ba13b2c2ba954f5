"""The console's links to documents (文书): the same PDF/DOCX the API serves, for the signed-in user's session
(the API wants a bearer token). Scoped like the record: outside it, a 404 page."""

from __future__ import annotations

from enum import StrEnum

from fastapi.responses import Response

from hazard_registry.db import DbSession
from hazard_registry.documents import content
from hazard_registry.documents import service as docs
from hazard_registry.documents.router import document_response
from hazard_registry.types import IdPath
from hazard_registry.web.pages import PageActor, page_router

router = page_router(prefix="/documents")


class Format(StrEnum):
    pdf = "pdf"
    docx = "docx"


@router.get("/measures/{measure_id}.{fmt}")
def measure_document(measure_id: IdPath, fmt: Format, actor: PageActor, session: DbSession) -> Response:
    return document_response(content.measure_document(session, actor, measure_id), fmt.value)


@router.get("/hazards/{hazard_id}.{fmt}")
def hazard_document(hazard_id: IdPath, fmt: Format, actor: PageActor, session: DbSession) -> Response:
    return document_response(content.hazard_document(session, actor, hazard_id), fmt.value)


@router.get("/measures/{measure_id}/service-receipt.{fmt}")
def measure_receipt(measure_id: IdPath, fmt: Format, actor: PageActor, session: DbSession) -> Response:
    return document_response(docs.measure_receipt(session, actor, measure_id), fmt.value)


@router.get("/hazards/{hazard_id}/service-receipt.{fmt}")
def hazard_receipt(hazard_id: IdPath, fmt: Format, actor: PageActor, session: DbSession) -> Response:
    return document_response(docs.hazard_receipt(session, actor, hazard_id), fmt.value)
