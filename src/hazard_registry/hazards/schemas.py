"""API schemas for hazards. ORM classes stay in models.py; these are what clients send and receive."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hazard_registry.hazards.models import Hazard
from hazard_registry.pagination import Page
from hazard_registry.types import Id, Input, RegionCode, Version

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

Source = Literal["self_report", "inspection", "public_report", "other"]


Strict = Input


class HazardCreate(Strict):
    __orm__ = Hazard

    enterprise_id: Id | None = Field(None, description="Required for regulators; enterprises report for themselves")
    clause_id: Id = Field(description="The cited clause of a determination standard in force on found_at")
    title: Text200
    description: LongText
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    found_at: date
    source: Source | None = Field(None, description="Defaults to self_report (enterprise) or inspection")
    region_code: RegionCode | None = Field(None, description="Defaults to the enterprise's region")
    production_suspended: bool = False
    recurrence_of_id: Id | None = Field(None, description="A closed hazard this one brings back")


class AssignBody(Strict):
    action: Literal["assign"]
    version: Version | None = None
    note: ShortText | None = None
    officer_id: Id
    deadline: date
    production_suspended: bool | None = None


class RejectBody(Strict):
    action: Literal["reject"]
    version: Version | None = None
    note: ShortText | None = None
    reason: Literal["not_major", "duplicate", "not_a_hazard", "outside_scope"]
    duplicate_of_id: Id | None = None


class Plan(Strict):
    """The five-point plan (五落实): measures, responsibility, funds and materials, deadline, contingency."""

    measures: str = ""
    responsible_unit: str = ""
    responsible_person: str = ""
    funds: str = Field("", description="Funds and materials committed")
    deadline: date
    safety_measures: str = ""
    contingency_plan: str = ""


class StartRectificationBody(Strict):
    action: Literal["start_rectification"]
    version: Version | None = None
    note: ShortText | None = None
    plan: Plan
    production_suspended: bool | None = None


class RequestVerificationBody(Strict):
    action: Literal["request_verification"]
    version: Version | None = None
    note: ShortText | None = None
    report: LongText = Field(description="The completion report")
    evaluated_by: Literal["self", "expert", "agency"]
    evidence_ids: list[Id] = Field(
        default_factory=list, max_length=100, description="Ids of this hazard's attachments that prove the fix"
    )
    completed_on: date | None = None


class VerifyBody(Strict):
    action: Literal["verify"]
    version: Version | None = None
    note: ShortText | None = None
    check_record: LongText = Field(description="What was checked on site and found")


class FailVerificationBody(Strict):
    action: Literal["fail_verification"]
    version: Version | None = None
    note: ShortText | None = None
    reasons: LongText


class CloseBody(Strict):
    action: Literal["close"]
    version: Version | None = None
    note: ShortText | None = None


TransitionBody = Annotated[
    AssignBody
    | RejectBody
    | StartRectificationBody
    | RequestVerificationBody
    | VerifyBody
    | FailVerificationBody
    | CloseBody,
    Field(discriminator="action"),
]


class StandardRef(BaseModel):
    id: int
    title: str
    edition: str
    document_number: str


class ClauseRef(BaseModel):
    id: int
    number: str
    title: str
    standard: StandardRef


class EnterpriseRef(BaseModel):
    id: int
    name: str
    uscc: str


class HazardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    state: str
    version: int
    grade: str
    source: str
    enterprise_id: int
    industry_code: str
    sector_code: str
    region_code: str
    department_id: int
    clause_id: int
    title: str
    description: str
    location: str | None
    found_at: date
    production_suspended: bool
    reported_by_id: int | None
    officer_id: int | None
    deadline: date | None
    overdue: bool = False
    plan: dict[str, Any] | None
    completion: dict[str, Any] | None
    verified_by_id: int | None
    verified_at: datetime | None
    closed_by_id: int | None
    closed_at: datetime | None
    rejection_reason: str | None
    duplicate_of_id: int | None
    recurrence_of_id: int | None
    failed_verifications: int
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str] = Field(default_factory=list, description="What the caller may do now")


class HazardDetail(HazardOut):
    enterprise: EnterpriseRef
    clause: ClauseRef


class HazardPage(Page[HazardOut]):
    pass


class OfficerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str | None


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int
    action: str
    from_state: str | None
    to_state: str | None
    actor_id: int | None
    actor_name: str
    actor_role: str
    at: datetime
    note: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class AttachmentOut(BaseModel):
    id: int
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by_id: int | None
    uploaded_at: datetime


AttachmentKind = Literal["photo_before", "photo_after", "plan", "report", "verification", "other"]


class ExtensionCreate(Strict):
    requested_deadline: date
    reason: LongText


class ExtensionDecision(Strict):
    decision: Literal["approve", "refuse"]
    note: ShortText | None = None


class ExtensionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    hazard_id: int
    state: str
    current_deadline: date
    requested_deadline: date
    reason: str
    requested_by_id: int | None
    requested_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None
    decision_note: str | None
