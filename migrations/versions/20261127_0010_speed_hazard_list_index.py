"""speed: an index for the hazard list's region + state filter, newest first

Revision ID: 0010_speed
Revises: 0009
Create Date: 2026-11-27 18:20:00

The list filters a region by its code range (a prefecture is every code from 4403 up to 4404) and a state,
newest first. With only (state, id) and (region_code, id), PostgreSQL read every hazard of the prefecture in
every state and sorted them. (state, region_code, id) reads only the rows of that state in that range; they
come out ordered by region, then id, so the 50 newest are a top-N sort of that state's rows in the region.
The comparison is a range in the column's own collation, which a plain btree serves (no LIKE, so no
text_pattern_ops). On PostgreSQL the index is built CONCURRENTLY: the register keeps taking reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_speed"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_hazards_state_region_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                NAME, "hazards", ["state", "region_code", "id"], postgresql_concurrently=True, if_not_exists=True
            )
    else:
        op.create_index(NAME, "hazards", ["state", "region_code", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="hazards")
