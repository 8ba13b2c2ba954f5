"""The quarterly report document (schema ``hazard-registry/quarterly-report/v1``) and the API's bodies.

The document is versioned on its own: its models are written out here, not derived from the statistics
schemas, so a change to those never silently changes what a lower deployment sends or an upper one accepts.
Every field is required; a new field is a new schema version.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from hazard_registry.types import Input, RegionCode

SCHEMA = "hazard-registry/quarterly-report/v1"

Count = Annotated[int, Field(ge=0, le=10**9)]
Key = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_]{1,32}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
QuarterCode = Annotated[str, StringConstraints(pattern=r"^\d{4}Q[1-4]$")]
DeploymentId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
Days = Annotated[float, Field(ge=0, le=100_000)]


class FiguresV1(Input):
    found: Count
    open: Count
    overdue: Count
    closed: Count
    clearance_rate: Annotated[float, Field(ge=0, le=1)] | None
    stock: Count
    stock_open: Count
    increment: Count
    increment_open: Count
    days_to_close_median: Days | None
    days_to_close_p90: Days | None


class RowV1(Input):
    key: Key
    name: Name
    figures: FiguresV1


class SectorCellV1(Input):
    sector: Key
    key: Key
    figures: FiguresV1


class MonthV1(Input):
    month: Month
    found: Count
    closed: Count


class SectorMonthV1(Input):
    sector: Key
    month: Month
    found: Count
    closed: Count


class RegionV1(Input):
    code: RegionCode
    name: Name


class PeriodV1(Input):
    code: QuarterCode
    kind: Literal["quarterly"]
    start: date
    end: date


class FigureSetV1(Input):
    summary: FiguresV1
    by_region: list[RowV1] = Field(max_length=5000, description="Per child region of the report's region")
    by_sector: list[RowV1] = Field(max_length=200, description="Per campaign sector")
    by_industry: list[RowV1] = Field(max_length=2000, description="Per GB/T 4754 industry")
    by_sector_region: list[SectorCellV1] = Field(
        max_length=50_000, description="Per sector and child region (so a sector's share can be counted above)"
    )
    trend: list[MonthV1] = Field(max_length=12)
    trend_by_sector: list[SectorMonthV1] = Field(max_length=5000)


class ReportV1(Input):
    """A region's quarterly report as one deployment sends it to the level above (逐级上报)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: Literal["hazard-registry/quarterly-report/v1"] = Field(alias="schema")
    deployment_id: DeploymentId
    region: RegionV1
    period: PeriodV1
    as_of: date = Field(description="The period's last day: every figure is as of its end (China)")
    cutoff: date = Field(description="The campaign cut-off the stock (存量) is counted against")
    revision: int = Field(ge=1, le=10_000, description="1, then +1 for each corrected re-push (supersedes)")
    generated_at: AwareDatetime = Field(description="When the sender made it, China time (+08:00)")
    figures: FigureSetV1
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="sha256 (hex) of the canonical JSON (keys sorted, no spaces, UTF-8) of the document "
        "without revision, generated_at and digest"
    )


# --- the API ----------------------------------------------------------------------------------------------------


class PushCreate(Input):
    region_code: RegionCode
    period: QuarterCode


class PushOut(BaseModel):
    id: int
    region_code: str
    period: str
    revision: int
    digest: str
    generated_at: datetime
    created_at: datetime
    notice_id: int
    status: str = Field(description="The outbox notice's: pending, sent or dead (retry it at /notices/{id}/retry)")
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    created: bool = Field(True, description="false: the figures were unchanged, the last revision is answered")


class DownstreamCreate(Input):
    deployment_id: DeploymentId
    name: Name
    region_codes: list[RegionCode] = Field(min_length=1, max_length=100)


class DownstreamChange(Input):
    name: Name | None = None
    active: bool | None = None
    region_codes: list[RegionCode] | None = Field(None, min_length=1, max_length=100)


class DownstreamOut(BaseModel):
    id: int
    deployment_id: str
    name: str
    region_code: str = Field(description="The administrator's region it was registered under")
    region_codes: list[str] = Field(description="The regions it may report for")
    active: bool
    created_at: datetime


class DownstreamSecret(DownstreamOut):
    secret: str = Field(description="Shown once: the lower deployment's HAZARD_UPWARD_SECRET")


class ReceiptOut(BaseModel):
    id: int
    deployment_id: str
    region_code: str
    period: str
    revision: int
    digest: str
    generated_at: datetime
    received_at: datetime
    duplicate: bool = Field(description="This revision had been received already: nothing changed")
    counted: bool = Field(description="It is the highest revision received: the statistics count it")
