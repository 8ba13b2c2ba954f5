"""Imports every mapped class so that ``Base.metadata`` is complete (for Alembic and the drift test)."""

from hazard_registry.auth.models import OidcClaimRule, OidcLink, OidcNonce, User, UserEvent
from hazard_registry.complaints.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    IdentityReveal,
    Reward,
)
from hazard_registry.db import Base
from hazard_registry.documents.models import DocumentService
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
from hazard_registry.notices.models import Notice, ReminderRule
from hazard_registry.open311.models import Partner, PartnerRegion, ServiceRequest
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
from hazard_registry.supervision.models import (
    CalendarDay,
    CalendarYear,
    DocumentCounter,
    EscalationRule,
    MeasureEvent,
    SelfInspection,
    SupervisionMeasure,
    SupervisionTimer,
)
from hazard_registry.upward.models import Downstream, DownstreamRegion, Push, ReceivedReport, SeenSignature

__all__ = [
    "Attachment",
    "Base",
    "CalendarDay",
    "CalendarYear",
    "Complaint",
    "ComplaintAttachment",
    "ComplaintEvent",
    "ComplaintMessage",
    "Department",
    "DepartmentSector",
    "DocumentCounter",
    "DocumentService",
    "Downstream",
    "DownstreamRegion",
    "Enterprise",
    "EscalationRule",
    "Extension",
    "Filing",
    "Hazard",
    "HazardAttachment",
    "HazardCounter",
    "HazardEvent",
    "IdempotencyKey",
    "IdentityReveal",
    "Industry",
    "LedgerImport",
    "LedgerImportRow",
    "MeasureEvent",
    "Notice",
    "OidcClaimRule",
    "OidcLink",
    "OidcNonce",
    "Partner",
    "PartnerRegion",
    "Push",
    "ReceivedReport",
    "Region",
    "ReminderRule",
    "Reward",
    "Sector",
    "SeenSignature",
    "SelfInspection",
    "ServiceRequest",
    "Standard",
    "StandardClause",
    "SupervisionMeasure",
    "SupervisionTimer",
    "User",
    "UserEvent",
]
