"""Imports every mapped class so that ``Base.metadata`` is complete (for Alembic and the drift test)."""

from hazard_registry.auth.models import User
from hazard_registry.complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    IdentityReveal,
    Reward,
)
from hazard_registry.db import Base
from hazard_registry.hazards.models import (
    Attachment,
    Extension,
    Hazard,
    HazardAttachment,
    HazardCounter,
    HazardEvent,
    IdempotencyKey,
)
from hazard_registry.reference.models import (
    Department,
    DepartmentSector,
    Enterprise,
    Industry,
    Region,
    Sector,
    Standard,
    StandardClause,
)

__all__ = [
    "Attachment",
    "Base",
    "Complaint",
    "ComplaintAttachment",
    "ComplaintEvent",
    "ComplaintMessage",
    "Department",
    "DepartmentSector",
    "Enterprise",
    "Extension",
    "Hazard",
    "HazardAttachment",
    "HazardCounter",
    "HazardEvent",
    "IdempotencyKey",
    "IdentityReveal",
    "Industry",
    "Region",
    "Reward",
    "Sector",
    "Standard",
    "StandardClause",
    "User",
]
