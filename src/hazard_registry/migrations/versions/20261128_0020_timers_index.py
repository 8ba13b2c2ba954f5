"""timers: drop ix_supervision_timers_hazard_id, which the unique (hazard_id, rule_id, basis) index already serves

Revision ID: 0020_timers_index
Revises: 0019_upward
Create Date: 2026-11-28 03:45:00

Every read of a hazard's timers and the rebuild's DELETE ask by hazard_id, the leading column of the unique
constraint's index, and use it at the same cost (EXPLAIN on 1,000,000 hazards, benchmarks/RESULTS.md "wr").
The second index only cost writes: an assign rewrites its hazard's timers, and each row wrote an entry in both
(527 bytes of WAL per assign, 137 per report). Dropped CONCURRENTLY on PostgreSQL: the register keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020_timers_index"
down_revision: str | None = "0019_upward"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_supervision_timers_hazard_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(NAME, table_name="supervision_timers", postgresql_concurrently=True, if_exists=True)
    else:
        op.drop_index(NAME, table_name="supervision_timers")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(NAME, "supervision_timers", ["hazard_id"], postgresql_concurrently=True)
    else:
        op.create_index(NAME, "supervision_timers", ["hazard_id"])
