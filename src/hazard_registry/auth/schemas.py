from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hazard_registry.auth.models import User
from hazard_registry.reference.schemas import Email
from hazard_registry.types import Input, Patch, RegionCode

Username = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.@-]{3,64}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds")


class UserFields(Input):
    """An account as an administrator describes it (the API's body without the password; a row of an import)."""

    __orm__ = User

    username: Username
    role: Literal["enterprise", "regulator", "admin"]
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    email: Email | None = Field(None, description="Where supervision notices reach the user (officers)")
    enterprise_uscc: str | None = Field(None, description="For role enterprise")
    department_code: str | None = Field(None, description="For role regulator")
    region_code: RegionCode | None = Field(None, description="For role admin")
    can_close: bool = Field(False, description="Closing authority (销号), regulators only")
    can_reveal_identity: bool = Field(False, description="May approve revealing a complainant (regulators, admins)")
    can_take_complaints: bool = Field(False, description="May enter hotline/letter/visit complaints")


class UserCreate(UserFields):
    password: Password


class UserUpdate(Patch):
    __orm__ = User

    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    email: Email | None = None
    password: Password | None = None
    active: bool | None = None
    can_close: bool | None = None
    can_reveal_identity: bool | None = None
    can_take_complaints: bool | None = None


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str | None
    email: str | None
    role: str
    enterprise_id: int | None
    department_id: int | None
    region_code: str | None
    can_close: bool
    can_reveal_identity: bool
    can_take_complaints: bool
    active: bool


class UserEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    actor_id: int | None = Field(description="None: the system (the command line)")
    action: str = Field(
        description="created, rights_granted, rights_withdrawn, password_reset, deactivated, reactivated"
    )
    data: dict[str, Any]
    at: datetime


# --- single sign-on (auth/sso.py) -------------------------------------------------------------------------------

ClaimName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ClaimValue = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class OidcLinkCreate(Input):
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)] = Field(
        description="The provider's name for the person (the value of HAZARD_OIDC_SUBJECT_CLAIM, by default sub)"
    )
    issuer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)] | None = Field(
        None, description="Default: the configured provider (HAZARD_OIDC_ISSUER)"
    )


class OidcLinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    issuer: str
    subject: str
    user_id: int
    rule_id: int | None = Field(description="The claim rule that made the account; None: linked by an administrator")
    created_at: datetime
    last_sign_in_at: datetime | None


class ClaimCondition(Input):
    claim: ClaimName
    op: Literal["equals", "contains"] = Field(
        description="equals: the claim is this value; contains: the claim is a list holding this value"
    )
    value: ClaimValue


class OidcRuleCreate(Input):
    """Who signs in with these claims, and as what: exactly this role, place and these rights (the right to
    approve identity reveals is never given by a rule: an administrator grants it to a person)."""

    conditions: list[ClaimCondition] = Field(min_length=1, max_length=10, description="All must hold")
    role: Literal["enterprise", "regulator", "admin"]
    enterprise_uscc: str | None = Field(None, description="For role enterprise")
    department_code: str | None = Field(None, description="For role regulator")
    region_code: RegionCode | None = Field(None, description="For role admin")
    can_close: bool = False
    can_take_complaints: bool = False


class OidcRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conditions: list[dict[str, Any]]
    role: str
    region_code: str
    enterprise_id: int | None
    department_id: int | None
    can_close: bool
    can_take_complaints: bool
    active: bool
    created_at: datetime
