"""API schemas for statistics, dynamic clearance and enterprise filings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hazard_registry.pagination import Page


class Figures(BaseModel):
    found: int = Field(0, description="Found on or before as_of (rejected hazards are not counted)")
    open: int = 0
    overdue: int = Field(0, description="Open and past the deadline (the deadline day itself is not overdue)")
    closed: int = Field(0, description="Closed (销号) on or before as_of")
    clearance_rate: float | None = Field(None, description="closed / found; null when nothing was found")
    stock: int = Field(0, description="Found on or before the campaign cut-off (存量)")
    stock_open: int = 0
    increment: int = Field(0, description="Found after the cut-off (增量)")
    increment_open: int = 0
    days_to_close_median: float | None = Field(None, description="Days from found to closed, median")
    days_to_close_p90: float | None = Field(None, description="Days from found to closed, 90th percentile")


class Summary(BaseModel):
    as_of: date
    cutoff: date
    region: str | None
    figures: Figures


class BreakdownRow(BaseModel):
    key: str
    name: str
    figures: Figures


class Breakdown(BaseModel):
    as_of: date
    cutoff: date
    region: str | None
    by: str
    rows: list[BreakdownRow]


class TrendMonth(BaseModel):
    month: str
    found: int
    closed: int


class Trend(BaseModel):
    as_of: date
    region: str | None
    months: list[TrendMonth]


class ClearanceStatus(BaseModel):
    clear: bool = Field(description="No open hazard past its deadline (动态清零)")
    overdue: int = Field(description="How many hazards stand between the region and clear")
    open: int
    stock_open: int
    stock_target_met: bool = Field(description="No hazard found on or before the cut-off is still open")


class OverdueHazard(BaseModel):
    id: int
    number: str
    title: str
    enterprise: str
    region_code: str
    found_at: date
    deadline: date
    days_overdue: int


class ClearanceRow(BaseModel):
    key: str
    name: str
    status: ClearanceStatus


class Clearance(BaseModel):
    as_of: date
    cutoff: date
    region: str | None
    status: ClearanceStatus
    oldest_overdue: list[OverdueHazard]
    children: list[ClearanceRow]


class CampaignStockRow(BaseModel):
    key: str
    name: str
    stock: int = Field(description="Found on or before the cut-off (存量)")
    stock_open: int = Field(description="Of those, not closed as of as_of")


class CampaignIncrement(BaseModel):
    quarter: str
    found: int = Field(description="Found in the quarter (up to as_of)")
    found_year_before: int = Field(description="Found in the same quarter a year before")
    change: float | None = Field(description="found / found_year_before - 1; null when nothing a year before")


class CampaignInTime(BaseModel):
    quarter: str
    due: int = Field(description="Hazards whose deadline fell in the quarter, on or before as_of")
    closed_in_time: int = Field(description="Of those, closed (销号) on or before the deadline, by as_of")
    share: float | None = Field(description="closed_in_time / due; null when nothing fell due")


class Campaign(BaseModel):
    """The 治本攻坚 campaign's three stages for a region: the stock cleared, the increment curbed, dynamic
    clearance as routine."""

    as_of: date
    cutoff: date
    stock_due: date
    region: str | None
    stock: int
    stock_open: int
    stock_target_met: bool
    stock_by_region: list[CampaignStockRow]
    increment: list[CampaignIncrement]
    in_time: list[CampaignInTime]


class ReceivedRef(BaseModel):
    """A report received from a lower deployment (逐级上报) whose figures are in this one."""

    deployment_id: str
    region_code: str
    period: str
    revision: int
    generated_at: datetime
    received_at: datetime


class ChildSource(BaseModel):
    key: str
    name: str
    source: Literal["local", "received", "mixed"] = Field(
        description="local: this register's hazards; received: reports of a lower deployment; mixed: both"
    )
    received: list[ReceivedRef] = Field(default_factory=list)


class RegionReport(BaseModel):
    period: str
    summary: Summary
    by_region: Breakdown
    by_sector: Breakdown
    by_industry: Breakdown
    trend: Trend
    sources: list[ChildSource] = Field(
        default_factory=list, description="Where each child region's figures (by_region) came from"
    )


PeriodCode = Annotated[str, StringConstraints(pattern=r"^\d{4}(Q[1-4])?$")]


class FilingFigures(BaseModel):
    found_in_period: int
    closed_in_period: int
    open_at_end: int
    overdue_at_end: int
    stock_open_at_end: int


class FilingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: PeriodCode = Field(description="2026Q3 for a quarter, 2026 for the annual table")
    confirmed_by_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="The principal (主要负责人) who confirms the table"
    )
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class FilingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int | None = None
    enterprise_id: int
    period: str
    kind: str
    period_start: date
    period_end: date
    due_on: date
    figures: dict[str, Any] | None
    confirmed_by_name: str | None = None
    recorded_by_id: int | None = None
    filed_at: datetime | None = None
    note: str | None = None


class FilingStatusRow(BaseModel):
    enterprise_id: int
    enterprise: str
    uscc: str
    region_code: str
    status: str = Field(description="filed | filed_late | pending (not yet due) | late")
    due_on: date
    filed_at: datetime | None


class FilingStatusList(Page[FilingStatusRow]):
    """A page of the enterprises' filing status, with the counts over all of them."""

    period: str
    due_on: date
    today: date
    filed: int
    late: int
    pending: int
