"""What the public, the handlers and the paying office send and receive about complaints.

Three views of one complaint: ``ReporterView`` (receipt holder: status and messages meant for them),
``ComplaintOut`` (handlers: the facts, never the identity), ``RewardOut`` (the paying office)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hazard_registry.complaints.models import Complaint
from hazard_registry.hazards.schemas import LongText, RegionCode, ShortText, Text200
from hazard_registry.pagination import Page
from hazard_registry.types import Id, Input, Version

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 -]{5,20}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}$")]
Uscc = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[0-9A-Z]{18}$")]
SectorCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,32}$")]
Channel = Literal["web", "hotline_12350", "letter", "visit"]
RefusalReason = Literal["duplicate", "no_target_or_facts", "outside_scope"]
Outcome = Literal["substantiated", "general_violation", "unsubstantiated"]


Strict = Input


class Reporter(Strict):
    """Who reports. Encrypted at rest; handlers never see it without an approved reveal."""

    name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    employee_of_target: bool = Field(False, description="Works for the reported enterprise (needs a real name)")

    @model_validator(mode="after")
    def _employee_named(self) -> Reporter:
        if self.employee_of_target and not self.name:
            raise ValueError("an employee reporting their own employer must give their real name")
        return self


class ComplaintCreate(Strict):
    __orm__ = Complaint

    title: Text200 = Field(description="In one line: what is wrong")
    description: LongText = Field(description="What was seen, where exactly, how often")
    region_code: RegionCode
    sector_code: SectorCode | None = Field(None, description="Defaults to the enterprise's, else 'other'")
    enterprise_name: Text200 | None = None
    enterprise_uscc: Uscc | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = None
    observed_on: date | None = None
    reporter: Reporter | None = Field(None, description="Leave out to report anonymously")


class IntakeCreate(ComplaintCreate):
    channel: Literal["hotline_12350", "letter", "visit"]


class Receipt(BaseModel):
    receipt_code: str = Field(description="Shown once. Keep it: it is the only way to follow the case")
    status: str
    message: str


class PublicMessage(BaseModel):
    kind: str
    direction: Literal["to_reporter", "from_reporter"]
    body: str
    at: datetime


class ReporterView(BaseModel):
    status: str
    submitted_on: date
    title: str
    handling_due_on: date | None
    messages: list[PublicMessage]
    files: int
    can_answer: bool
    can_request_recheck: bool
    reward: ReporterReward | None = None


class ReporterReward(BaseModel):
    amount_yuan: str
    status: Literal["approved", "claimed", "paid"]


class ReporterMessage(Strict):
    body: LongText


class RecheckRequest(Strict):
    reason: LongText


class RewardClaim(Strict):
    payee_name: Name
    bank: Text200
    account: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9 ]{8,34}$")]


class ComplaintOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    state: str
    channel: str
    title: str
    description: str
    region_code: str
    sector_code: str
    department_id: int
    enterprise_id: int | None
    enterprise_name: str | None
    enterprise_uscc: str | None
    address: str | None
    observed_on: date | None
    anonymous: bool
    handler_id: int | None
    handling_due_on: date | None
    extended_days: int | None
    refusal_reason: str | None
    merged_into_id: int | None
    outcome: str | None
    outcome_note: str | None
    hazard_id: int | None
    reply_due_on: date | None
    rechecks: int
    created_at: datetime
    version: int
    handling_overdue: bool = False
    reply_overdue: bool = False
    allowed_actions: list[str] = []


class ComplaintPage(Page[ComplaintOut]):
    pass


class DuplicateSuggestion(BaseModel):
    id: int
    title: str
    state: str
    created_at: datetime
    score: float = Field(description="Text similarity, 0–1")
    same_enterprise: bool
    same_address: bool


class MessageCreate(Strict):
    kind: Literal["question", "note"] = Field(description="question: to the reporter; note: internal")
    body: LongText


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str
    kind: str
    body: str
    author_id: int | None
    at: datetime


class HazardFromComplaint(Strict):
    enterprise_id: Id
    clause_id: Id
    title: Text200
    description: LongText
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    found_at: date


class _Act(Strict):
    version: Version | None = None
    note: ShortText | None = None


class AcceptBody(_Act):
    action: Literal["accept"]


class RefuseBody(_Act):
    action: Literal["refuse"]
    reason: RefusalReason
    reply: LongText = Field(description="What the reporter is told")


class TransferBody(_Act):
    action: Literal["transfer"]
    department_id: Id


class MergeBody(_Act):
    action: Literal["merge"]
    into_id: Id


class ExtendBody(_Act):
    action: Literal["extend"]
    days: int = Field(ge=1, le=30)
    reason: ShortText


class ConcludeBody(_Act):
    action: Literal["conclude"]
    outcome: Outcome
    finding: LongText = Field(description="What was found; for unsubstantiated, why")
    hazard: HazardFromComplaint | None = Field(None, description="Required when substantiated")


class ReplyBody(_Act):
    action: Literal["reply"]
    reply: LongText = Field(description="The result as the reporter reads it")


class StartRecheckBody(_Act):
    action: Literal["start_recheck"]


class DeclineRecheckBody(_Act):
    action: Literal["decline_recheck"]
    reply: LongText


ActionBody = Annotated[
    AcceptBody
    | RefuseBody
    | TransferBody
    | MergeBody
    | ExtendBody
    | ConcludeBody
    | ReplyBody
    | StartRecheckBody
    | DeclineRecheckBody,
    Field(discriminator="action"),
]


class RevealCreate(Strict):
    reason: LongText


class RevealDecision(Strict):
    decision: Literal["approve", "refuse"]
    note: ShortText | None = None


class RevealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    complaint_id: int
    state: str
    reason: str
    requested_by_id: int
    requested_at: datetime
    decided_by_id: int | None
    decided_at: datetime | None
    decision_note: str | None
    views: int
    last_viewed_at: datetime | None


class IdentityOut(BaseModel):
    name: str | None
    phone: str | None
    email: str | None
    address: str | None
    employee_of_target: bool


class RewardPropose(Strict):
    basis: Literal["fine", "concealed_deaths"]
    fine_yuan: Annotated[str, StringConstraints(pattern=r"^\d{1,12}(\.\d{1,2})?$")] | None = Field(
        None, description="The administrative fine, in yuan as a decimal string ('12345.67')"
    )
    deaths: int | None = Field(None, ge=1, le=1000)
    accident_class: Literal["general", "larger", "major", "especially_major"] | None = None


class RewardPay(Strict):
    payment_reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class RewardOut(BaseModel):
    id: int
    complaint_id: int
    state: str
    basis: str
    fine_fen: int | None
    deaths: int | None
    accident_class: str | None
    amount_fen: int
    amount_yuan: str
    claimed: bool
    payment_reference: str | None


class Payee(BaseModel):
    """Only what a bank transfer needs: no contact, no complaint text."""

    payee_name: str
    bank: str
    account: str


class RewardPayment(RewardOut):
    payee: Payee | None


ReporterView.model_rebuild()
