"""default escalation rules for late filings and late complaints

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from hazard_registry.supervision.defaults import DEFAULT_RULES_0008, default_rule_rows

    columns = ("key", "version", "region_code", "stall", "threshold", "working_days", "measure", "issuer",
               "needs_confirmation", "response_days", "legal_basis", "active")  # fmt: skip
    rules = sa.table("escalation_rules", *(sa.column(c) for c in columns), sa.column("created_at", sa.DateTime()))
    created = datetime(2026, 11, 23)
    op.bulk_insert(rules, [{**row, "created_at": created} for row in default_rule_rows(DEFAULT_RULES_0008)])


def downgrade() -> None:
    op.execute(
        "DELETE FROM escalation_rules WHERE key IN ('default.filing_late.letter', 'default.complaint_late.letter')"
    )
