from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import StreamingResponse

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.config import AppSettings
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.hazards.router import HazardFiltersQuery
from hazard_registry.imports.router import add_template_route, mapping_form, run_upload
from hazard_registry.ledgers import export, importer, schemas
from hazard_registry.statistics import service as stats
from hazard_registry.statistics.router import AsOf, Cutoff, Filters, _as_of

router = APIRouter(prefix="/api/v1/ledgers", tags=["ledgers"], route_class=SessionRoute)

Format = Literal["csv", "xlsx"]
LedgerMapping = mapping_form(importer.FIELDS)
_FILE = {
    200: {
        "content": {export.CSV_TYPE: {}, export.XLSX_TYPE: {}},
        "description": "The ledger, streamed",
    }
}


@router.get("/hazards", operation_id="export_hazards", summary="Export a hazard ledger", responses=_FILE)
def export_hazards(
    request: Request, actor: CurrentActor, filters: HazardFiltersQuery, format: Format = "csv"
) -> StreamingResponse:
    body, media, headers = export.hazard_ledger(request.app.state, actor, filters, format, clock.today_in_china())
    return StreamingResponse(body, media_type=media, headers=headers)


@router.get("/statistics", operation_id="export_statistics", summary="Export a statistics table", responses=_FILE)
def export_statistics(
    actor: CurrentActor,
    session: DbSession,
    f: Filters,
    cutoff: Cutoff,
    table: Literal["summary", "breakdown", "trend", "clearance"] = "breakdown",
    by: Literal["region", "industry", "sector"] = "region",
    months: Annotated[int, Query(ge=1, le=120)] = 12,
    as_of: AsOf = None,
    format: Format = "csv",
) -> StreamingResponse:
    day = _as_of(as_of)
    if table == "summary":
        headings, rows = export.summary_table(stats.summary(session, actor, f, as_of=day, cutoff=cutoff))
        title = "重大事故隐患统计"
    elif table == "trend":
        headings, rows = export.trend_table(stats.trend(session, actor, f, as_of=day, months=months))
        title = "重大事故隐患月度趋势"
    elif table == "clearance":
        headings, rows = export.clearance_table(stats.clearance(session, actor, f, as_of=day, cutoff=cutoff, oldest=0))
        title = "重大事故隐患动态清零情况"
    else:
        headings, rows = export.breakdown_table(stats.breakdown(session, actor, f, by, as_of=day, cutoff=cutoff))
        title = "重大事故隐患分类统计"
    body, media, headers = export.stream(format, f"{title}_{day.isoformat()}", headings, rows)
    return StreamingResponse(body, media_type=media, headers=headers)


add_template_route(router, "/imports/template", "ledger", importer, "ledger_import_template", "hazard ledger's")


@router.post(
    "/imports",
    response_model=schemas.ImportReport,
    operation_id="import_ledger",
    summary="Import a hazard ledger (XLSX or CSV); a dry run by default",
)
def import_ledger(
    settings: AppSettings,
    actor: CurrentActor,
    session: DbSession,
    file: Annotated[UploadFile, File(description="XLSX or CSV, headings in the first row")],
    mapping: LedgerMapping = None,
    dry_run: Annotated[bool, Form(description="Check every row and report, creating nothing")] = True,
) -> schemas.ImportReport:
    report = run_upload(importer.LEDGER, settings, actor, session, file, mapping, dry_run)
    session.commit()
    return report
