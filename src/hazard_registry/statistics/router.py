from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from hazard_registry import clock
from hazard_registry.auth.deps import CurrentActor
from hazard_registry.config import AppSettings
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import InvalidInput
from hazard_registry.pagination import Cursor
from hazard_registry.statistics import activity, filings, schemas, service
from hazard_registry.statistics.periods import parse_period
from hazard_registry.types import RegionCode

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"], route_class=SessionRoute)

By = Literal["region", "industry", "sector"]


def stat_filters(
    actor: CurrentActor,
    region: Annotated[
        RegionCode | None, Query(description="This region and below; default: the caller's region")
    ] = None,
    industry_code: Annotated[str | None, Query(max_length=4, pattern=r"^[A-T0-9]{1,4}$")] = None,
    sector_code: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]{1,32}$")] = None,
) -> service.StatFilters:
    return service.StatFilters(region=region or actor.region_code, industry_code=industry_code, sector_code=sector_code)


Filters = Annotated[service.StatFilters, Depends(stat_filters)]
AsOf = Annotated[date | None, Query(description="Figures as of this day (China); default today")]


def _as_of(as_of: date | None) -> date:
    day = as_of or clock.today_in_china()
    if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
        raise InvalidInput(
            "as_of must be between 2000-01-01 and 2100-12-31",
            errors=[{"field": "as_of", "message": "out of range"}],
        )
    return day


def campaign_cutoff(settings: AppSettings) -> date:
    return settings.campaign_cutoff


Cutoff = Annotated[date, Depends(campaign_cutoff)]


@router.get("/summary", response_model=schemas.Summary, operation_id="statistics_summary")
def summary(actor: CurrentActor, session: DbSession, f: Filters, cutoff: Cutoff, as_of: AsOf = None) -> schemas.Summary:
    return service.summary(session, actor, f, as_of=_as_of(as_of), cutoff=cutoff)


@router.get("/activity", response_model=activity.Activity, operation_id="statistics_activity")
def statistics_activity(actor: CurrentActor, session: DbSession, f: Filters, as_of: AsOf = None) -> activity.Activity:
    """Supervision measures by rung, self-inspection compliance in the last finished quarter, and complaints
    received and substantiated, as of a day, in the caller's scope."""
    return activity.activity(session, actor, f, _as_of(as_of))


@router.get("/breakdown", response_model=schemas.Breakdown, operation_id="statistics_breakdown")
def breakdown(
    actor: CurrentActor, session: DbSession, f: Filters, cutoff: Cutoff, by: By = "region", as_of: AsOf = None
) -> schemas.Breakdown:
    return service.breakdown(session, actor, f, by, as_of=_as_of(as_of), cutoff=cutoff)


@router.get("/trend", response_model=schemas.Trend, operation_id="statistics_trend")
def trend(
    actor: CurrentActor,
    session: DbSession,
    f: Filters,
    as_of: AsOf = None,
    months: Annotated[int, Query(ge=1, le=120)] = 12,
) -> schemas.Trend:
    return service.trend(session, actor, f, as_of=_as_of(as_of), months=months)


@router.get(
    "/clearance", response_model=schemas.Clearance, operation_id="statistics_clearance", summary="动态清零 status"
)
def clearance(
    actor: CurrentActor,
    session: DbSession,
    f: Filters,
    cutoff: Cutoff,
    as_of: AsOf = None,
    oldest: Annotated[int, Query(ge=0, le=100)] = 5,
) -> schemas.Clearance:
    return service.clearance(session, actor, f, as_of=_as_of(as_of), cutoff=cutoff, oldest=oldest)


@router.get(
    "/campaign",
    response_model=schemas.Campaign,
    operation_id="statistics_campaign",
    summary="治本攻坚: the stock left per child region, the increment per quarter against a year before, "
    "the share closed within the deadline per quarter",
)
def campaign(
    actor: CurrentActor,
    session: DbSession,
    f: Filters,
    settings: AppSettings,
    as_of: AsOf = None,
    quarters: Annotated[int, Query(ge=1, le=40)] = 8,
) -> schemas.Campaign:
    return service.campaign(
        session,
        actor,
        f,
        as_of=_as_of(as_of),
        cutoff=settings.campaign_cutoff,
        stock_due=settings.campaign_stock_due,
        quarters=quarters,
    )


@router.get(
    "/region-report",
    response_model=schemas.RegionReport,
    operation_id="statistics_region_report",
    summary="A region's quarterly (or annual) report to the level above",
)
def region_report(
    actor: CurrentActor,
    session: DbSession,
    f: Filters,
    cutoff: Cutoff,
    period: Annotated[str, Query(pattern=r"^\d{4}(Q[1-4])?$", description="2026Q3 or 2026 (annual)")],
) -> schemas.RegionReport:
    """The same figures as the statistics tables, as of the period's last day, with its months' trend. Child
    regions reported by a lower deployment (逐级上报) are counted in; `sources` says, per child region, whether
    its figures are local or received (from which deployment, which revision, when)."""
    return service.region_report(session, actor, f, parse_period(period), cutoff=cutoff)


filings_router = APIRouter(prefix="/api/v1/filings", tags=["filings"], route_class=SessionRoute)
PeriodQuery = Annotated[str, Query(pattern=r"^\d{4}(Q[1-4])?$", description="2026Q3 or 2026 (annual)")]


@filings_router.get("/prefill", response_model=schemas.FilingOut, operation_id="prefill_filing")
def prefill(actor: CurrentActor, session: DbSession, cutoff: Cutoff, period: PeriodQuery) -> schemas.FilingOut:
    return filings.prefill(session, actor, period, cutoff)


@filings_router.post("", status_code=201, response_model=schemas.FilingOut, operation_id="file_statistics")
def file_statistics(
    data: schemas.FilingCreate, actor: CurrentActor, session: DbSession, cutoff: Cutoff
) -> schemas.FilingOut:
    filing = filings.file(session, actor, data, now=clock.now(), cutoff=cutoff)
    session.commit()
    return schemas.FilingOut.model_validate(filing)


@filings_router.get("", response_model=schemas.FilingStatusList, operation_id="list_filings")
def list_filings(
    actor: CurrentActor,
    session: DbSession,
    period: PeriodQuery,
    status: Literal["filed", "filed_late", "late", "pending"] | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> schemas.FilingStatusList:
    return filings.status_list(
        session, actor, period, today=clock.today_in_china(), only=status, cursor=cursor, limit=limit
    )
