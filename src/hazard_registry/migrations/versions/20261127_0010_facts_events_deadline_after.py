"""facts: each hazard event records the deadline after it; hazards indexed by last change (statistics as of a day)

Revision ID: 0010_facts
Revises: 0009
Create Date: 2026-11-27 18:00:00

``hazard_events.to_state`` already holds the state after each event; ``deadline_after`` adds the deadline,
back-filled from the events themselves: the last ``assign`` (its ``deadline``) or ``extension_approved`` (its
``to``) at or before each event.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_facts"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
UPDATE hazard_events SET deadline_after = (
    SELECT {value} FROM hazard_events p
    WHERE p.hazard_id = hazard_events.hazard_id AND p.seq <= hazard_events.seq
      AND p.action IN ('assign', 'extension_approved')
    ORDER BY p.seq DESC LIMIT 1
)
"""


def upgrade() -> None:
    with op.batch_alter_table("hazard_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_after", sa.Date(), nullable=True))
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index("ix_hazards_updated_at", ["updated_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        value = "CAST(CASE WHEN p.action = 'assign' THEN p.data ->> 'deadline' ELSE p.data ->> 'to' END AS DATE)"
        # The history is append-only (migration 0001); this one back-fill of a derived column is the exception.
        op.execute("ALTER TABLE hazard_events DISABLE TRIGGER hazard_events_append_only")
        op.execute(_BACKFILL.format(value=value))
        op.execute("ALTER TABLE hazard_events ENABLE TRIGGER hazard_events_append_only")
    else:
        value = "CASE WHEN p.action = 'assign' THEN json_extract(p.data, '$.deadline') "
        value += "ELSE json_extract(p.data, '$.to') END"
        op.execute(_BACKFILL.format(value=value))


def downgrade() -> None:
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_index("ix_hazards_updated_at")
    with op.batch_alter_table("hazard_events", schema=None) as batch_op:
        batch_op.drop_column("deadline_after")
