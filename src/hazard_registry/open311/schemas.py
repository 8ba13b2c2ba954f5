"""What administrators send and receive about partner platforms, and the fields of a GeoReport v2 POST.

The POST is a url-encoded form (as the spec requires), parsed by ``router.form_fields`` into
``RequestCreate``: the same ``types.Input`` rules as every JSON body (unknown fields, NUL characters, text
longer than it may be), answered in the spec's error format instead of problem+json."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hazard_registry.complaints.schemas import Email, Name, Phone
from hazard_registry.pagination import Page
from hazard_registry.types import Input, RegionCode

# XML 1.0 cannot carry C0 control characters other than tab, line feed and carriage return; refusing them at
# the door keeps every answer well-formed (NUL is refused for every Input already).
NO_CONTROLS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
OneLine = r"^[^\x00-\x1f]*$"

Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=OneLine)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000, pattern=r"^https?://[^\s\x00-\x1f]+$")]


class PartnerCreate(Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=OneLine)]
    regions: list[RegionCode] = Field(min_length=1, max_length=50, description="Where it may file complaints")


class PartnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    key_prefix: str = Field(description="The key's first characters, to tell keys apart (the key is never shown again)")
    regions: list[str]
    owner_region: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class PartnerCreated(PartnerOut):
    api_key: str = Field(description="Shown once: only its hash is kept")


class PartnerPage(Page[PartnerOut]):
    pass


class RequestCreate(Input):
    """A GeoReport v2 POST Service Request (api_key and jurisdiction_id are taken off before)."""

    service_code: Code
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = None
    long: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = None
    address_string: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300, pattern=OneLine)] | None = (
        None
    )
    address_id: Code | None = None
    email: Email | None = None
    device_id: Line | None = None
    account_id: Line | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Phone | None = None
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000, pattern=NO_CONTROLS)] | None
    ) = None
    media_url: Url | None = None
    attribute: dict[Code, str | list[str]] = Field(default_factory=dict)
