from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from hazard_registry.reference.models import Department, Enterprise, Region, Standard, StandardClause
from hazard_registry.types import Input, Patch, RegionCode, Version

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{5,32}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


Strict = Input


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    parent_code: str | None


class RegionCreate(Strict):
    __orm__ = Region

    code: Annotated[str, StringConstraints(pattern=r"^\d{9}$")] = Field(description="A nine-digit township code")
    name: Person


class SectorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    high_risk: bool


class IndustryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: str
    section: str
    sector_code: str


DepartmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class DepartmentCreate(Strict):
    __orm__ = Department

    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{2,32}$")]
    name: DepartmentName
    region_code: RegionCode
    sectors: list[str] = Field(default_factory=list, description="Campaign sectors this department leads")
    is_default_lead: bool = False
    head_name: Person | None = None
    head_phone: Phone | None = None
    head_email: Email | None = None


class DepartmentUpdate(Patch):
    __orm__ = Department

    name: DepartmentName | None = None
    sectors: list[str] | None = None
    is_default_lead: bool | None = None
    head_name: Person | None = None
    head_phone: Phone | None = None
    head_email: Email | None = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    region_code: str
    sectors: list[str]
    is_default_lead: bool
    head_name: str | None
    head_phone: str | None = Field(description="Only for users of the department's region line; else null")
    head_email: str | None = Field(description="Only for users of the department's region line; else null")


def _valid_uscc(value: str) -> str:
    try:
        return stdnum_uscc.validate(value)
    except StdnumError as exc:
        raise ValueError(f"not a valid 统一社会信用代码: {exc}") from exc


class EnterpriseBase(Strict):
    __orm__ = Enterprise

    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    principal_email: Email | None = None
    controller_name: Person | None = None
    controller_phone: Phone | None = None
    controller_email: Email | None = None


class EnterpriseCreate(EnterpriseBase):
    uscc: Annotated[str, StringConstraints(strip_whitespace=True, max_length=18)] = Field(
        description="统一社会信用代码 (GB 32100-2015), checked with its mod-31 check character"
    )
    name: Name
    region_code: RegionCode
    industry_code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")] = Field(description="GB/T 4754 division")
    high_risk: bool | None = Field(None, description="Defaults to the high-risk flag of the industry's sector")
    principal_name: Person
    principal_phone: Phone

    _uscc = field_validator("uscc")(_valid_uscc)


class EnterpriseUpdate(EnterpriseBase, Patch):
    name: Name | None = None
    industry_code: Annotated[str, StringConstraints(pattern=r"^\d{2}$")] | None = None
    high_risk: bool | None = None
    principal_name: Person | None = None
    principal_phone: Phone | None = None
    version: Version | None = None


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    uscc: str
    name: str
    region_code: str
    industry_code: str
    high_risk: bool
    address: str | None
    principal_name: str
    principal_phone: str
    principal_email: str | None
    controller_name: str | None
    controller_phone: str | None
    controller_email: str | None
    version: int


class ClauseIn(Strict):
    __orm__ = StandardClause

    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    title: Name


class ClauseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    title: str


class StandardCreate(Strict):
    __orm__ = Standard

    family: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64)] = Field(
        description="What the editions have in common, e.g. 工贸企业重大事故隐患判定标准"
    )
    title: Name
    edition: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    document_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    issuer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    sector_code: Annotated[str, StringConstraints(max_length=32)]
    published_on: date | None = None
    effective_from: date
    effective_to: date | None = None
    note: str | None = None
    clauses: list[ClauseIn] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _dates(self) -> StandardCreate:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self


class StandardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    family: str
    title: str
    edition: str
    document_number: str
    issuer: str
    sector_code: str
    published_on: date | None
    effective_from: date
    effective_to: date | None
    note: str | None
    clauses: list[ClauseOut]
