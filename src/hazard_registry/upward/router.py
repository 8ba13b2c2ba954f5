"""Upward reporting API: push a region's quarterly report up (this deployment's administrators), register the
deployments below and receive their reports (the upper deployment)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.complaints.crypto import Vault
from hazard_registry.config import AppSettings
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.notices.models import Notice
from hazard_registry.pagination import Cursor, Page
from hazard_registry.types import IdPath
from hazard_registry.upward import service
from hazard_registry.upward.models import Downstream, Push, ReceivedReport
from hazard_registry.upward.schemas import (
    DownstreamChange,
    DownstreamCreate,
    DownstreamOut,
    DownstreamSecret,
    PushCreate,
    PushOut,
    QuarterCode,
    ReceiptOut,
    ReportV1,
)

router = APIRouter(prefix="/api/v1/upward", tags=["upward"], route_class=SessionRoute)
PeriodFilter = Annotated[QuarterCode | None, Query(description="One quarter, e.g. 2026Q3")]
Limit = Annotated[int, Query(ge=1, le=200)]


def install(app: FastAPI) -> None:
    app.state.upward_vault = Vault(app.state.settings.effective_upward_keys)
    app.include_router(router)


def vault(request: Request) -> Vault:
    return request.app.state.upward_vault


VaultDep = Annotated[Vault, Depends(vault)]


def _push_out(push: Push, notice: Notice, created: bool = True) -> PushOut:
    return PushOut(
        id=push.id,
        region_code=push.region_code,
        period=push.period,
        revision=push.revision,
        digest=push.digest,
        generated_at=push.generated_at,
        created_at=push.created_at,
        notice_id=notice.id,
        status=notice.status,
        attempts=notice.attempts,
        last_error=notice.last_error,
        sent_at=notice.sent_at,
        created=created,
    )


@router.post("/pushes", response_model=PushOut, status_code=201, operation_id="push_upward_report")
def push_report(
    body: PushCreate, actor: CurrentActor, session: DbSession, settings: AppSettings, response: Response
) -> PushOut:
    """Queue a region's report for an ended quarter to the level above (an administrator of the region). The
    same figures again answer the last revision (200); changed figures are the next revision (201)."""
    push, created = service.push(session, actor, body.region_code, body.period, now=clock.now(), settings=settings)
    session.commit()
    if not created:
        response.status_code = 200
    return _push_out(push, session.get_one(Notice, push.notice_id), created)


@router.get("/pushes", response_model=Page[PushOut], operation_id="list_upward_pushes")
def list_pushes(
    actor: CurrentActor, session: DbSession, period: PeriodFilter = None, cursor: Cursor = None, limit: Limit = 50
) -> Page[PushOut]:
    rows, next_cursor = service.pushes(session, actor, period=period, cursor=cursor, limit=limit)
    return Page[PushOut](items=[_push_out(p, n) for p, n in rows], next_cursor=next_cursor)


def _downstream_out(session: DbSession, rows: list[Downstream]) -> list[DownstreamOut]:
    regions = service.downstream_regions(session, [r.id for r in rows])
    return [
        DownstreamOut(
            id=r.id,
            deployment_id=r.deployment_id,
            name=r.name,
            region_code=r.region_code,
            region_codes=regions[r.id],
            active=r.active,
            created_at=r.created_at,
        )
        for r in rows
    ]


@router.get("/downstreams", response_model=Page[DownstreamOut], operation_id="list_downstreams")
def list_downstreams(
    actor: CurrentActor, session: DbSession, cursor: Cursor = None, limit: Limit = 50
) -> Page[DownstreamOut]:
    rows, next_cursor = service.list_downstreams(session, actor, cursor=cursor, limit=limit)
    return Page[DownstreamOut](items=_downstream_out(session, rows), next_cursor=next_cursor)


@router.post("/downstreams", response_model=DownstreamSecret, status_code=201, operation_id="create_downstream")
def create_downstream(
    body: DownstreamCreate, actor: CurrentActor, session: DbSession, vault: VaultDep
) -> DownstreamSecret:
    """Register a lower deployment and the regions (within yours, not another's) it reports for. The answer
    carries its secret once: give it to that deployment as HAZARD_UPWARD_SECRET."""
    row, secret = service.create_downstream(session, actor, body, vault, clock.now())
    session.commit()
    return DownstreamSecret(**_downstream_out(session, [row])[0].model_dump(), secret=secret)


@router.patch("/downstreams/{downstream_id}", response_model=DownstreamOut, operation_id="change_downstream")
def change_downstream(
    downstream_id: IdPath, body: DownstreamChange, actor: CurrentActor, session: DbSession
) -> DownstreamOut:
    row = service.change_downstream(session, actor, downstream_id, body)
    session.commit()
    return _downstream_out(session, [row])[0]


@router.post(
    "/downstreams/{downstream_id}/secret", response_model=DownstreamSecret, operation_id="rotate_downstream_secret"
)
def rotate_secret(downstream_id: IdPath, actor: CurrentActor, session: DbSession, vault: VaultDep) -> DownstreamSecret:
    """A new secret for the deployment (shown once); the old one stops working at once."""
    row, secret = service.rotate_secret(session, actor, downstream_id, vault)
    session.commit()
    return DownstreamSecret(**_downstream_out(session, [row])[0].model_dump(), secret=secret)


async def verified_sender(
    request: Request, session: DbSession, settings: AppSettings, vault: VaultDep
) -> service.Signed:
    """Runs before the body is validated: an unsigned, stale, replayed or unknown sender is refused first."""
    body = await request.body()
    return await run_in_threadpool(
        service.verify,
        session,
        request.headers,
        body,
        vault,
        now=clock.now(),
        skew=settings.upward_max_skew_seconds,
    )


def _receipts(session: DbSession, rows: list[ReceivedReport], duplicate: bool = False) -> list[ReceiptOut]:
    counted = service.counted_ids(session, rows)
    return [
        ReceiptOut(
            id=row.id,
            deployment_id=row.deployment_id,
            region_code=row.region_code,
            period=row.period,
            revision=row.revision,
            digest=row.digest,
            generated_at=row.generated_at,
            received_at=row.received_at,
            duplicate=duplicate,
            counted=row.id in counted,
        )
        for row in rows
    ]


@router.post(
    "/reports",
    response_model=ReceiptOut,
    status_code=201,
    operation_id="receive_upward_report",
)
def receive_report(
    report: ReportV1,
    signed: Annotated[service.Signed, Depends(verified_sender)],
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> ReceiptOut:
    """A lower deployment's quarterly report (schema hazard-registry/quarterly-report/v1), signed with the
    secret registered for it: headers X-Hazard-Deployment, X-Hazard-Timestamp (Unix seconds, within
    HAZARD_UPWARD_MAX_SKEW_SECONDS) and X-Hazard-Signature (sha256=HMAC-SHA256(secret, "{timestamp}.{body}")).
    201 when stored, 200 when this revision was received already (nothing changes)."""
    row, duplicate = service.receive(
        session, signed, report, json.loads(signed.body), now=clock.now(), cutoff=settings.campaign_cutoff
    )
    session.commit()
    if duplicate:
        response.status_code = 200
    return _receipts(session, [row], duplicate)[0]


@router.get("/reports", response_model=Page[ReceiptOut], operation_id="list_upward_reports")
def list_reports(
    actor: CurrentActor, session: DbSession, period: PeriodFilter = None, cursor: Cursor = None, limit: Limit = 50
) -> Page[ReceiptOut]:
    """Reports received from the deployments below, for regions within yours, newest first."""
    rows, next_cursor = service.received_reports(session, actor, period=period, cursor=cursor, limit=limit)
    return Page[ReceiptOut](items=_receipts(session, rows), next_cursor=next_cursor)
