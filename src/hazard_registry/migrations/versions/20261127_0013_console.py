"""console: hazards by officer (the list's "assigned to me" and the workbench)

Revision ID: 0013_console
Revises: 0012_harden_priv
Create Date: 2026-11-27 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013_console"
down_revision: str | None = "0012_harden_priv"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index("ix_hazards_officer_id", ["officer_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_index("ix_hazards_officer_id")
