"""Imports every mapped class so that ``Base.metadata`` is complete (for Alembic and the drift test)."""

from hazard_registry.auth.models import User
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
from hazard_registry.ledgers.models import LedgerImport, LedgerImportRow
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
from hazard_registry.statistics.models import Filing

__all__ = [
    "Attachment",
    "Base",
    "Department",
    "DepartmentSector",
    "Enterprise",
    "Extension",
    "Filing",
    "Hazard",
    "HazardAttachment",
    "HazardCounter",
    "HazardEvent",
    "IdempotencyKey",
    "Industry",
    "LedgerImport",
    "LedgerImportRow",
    "Region",
    "Sector",
    "Standard",
    "StandardClause",
    "User",
]
