"""speed: indexes for the hazard list's region + state filter, newest first

Revision ID: 0015_speed
Revises: 0014_desk
Create Date: 2026-11-27 18:20:00

The list filters a region and a state, newest first. With only (state, id) and (region_code, id), PostgreSQL
read every hazard of the prefecture in every state and sorted them (or walked the newest ids of the state
until enough of them were in the region). A range of codes cannot come out of an index in id order, an
equality can: the list asks for the region's prefix (2, 4 or 6 digits: province, prefecture, county) or, for a
township, its code, and each has an index (state, prefix, id) whose entries are already newest first.
On PostgreSQL they are built CONCURRENTLY: the register keeps taking reports meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_speed"
down_revision: str | None = "0014_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_hazards_state_region_id": "region_code",
    "ix_hazards_state_province_id": "substr(region_code, 1, 2)",
    "ix_hazards_state_prefecture_id": "substr(region_code, 1, 4)",
    "ix_hazards_state_county_id": "substr(region_code, 1, 6)",
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, region in INDEXES.items():
        columns = ["state", sa.text(region) if "(" in region else region, "id"]
        if postgres:
            with op.get_context().autocommit_block():
                op.create_index(name, "hazards", columns, postgresql_concurrently=True, if_not_exists=True)
        else:
            op.create_index(name, "hazards", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="hazards")
