"""Reference data: sectors, GB/T 2260 regions, GB/T 4754 industries, the determination-standard catalogue.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from hazard_registry.reference.seed import load_reference_data

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    load_reference_data(op.get_bind())


def downgrade() -> None:
    for table in ("standard_clauses", "standards", "industries", "regions", "sectors"):
        op.execute(f"DELETE FROM {table}")
