"""speed2: the list's prefix indexes carry region_code, so a page's ids come from the index alone

Revision ID: 0016_speed2
Revises: 0015_speed
Create Date: 2026-11-27 21:00:00

(state, substr(region_code, 1, n), id) answers the list's WHERE and ORDER BY, but PostgreSQL will not scan
an expression index "index-only" unless every column the query names is in it: the filter names
region_code (inside substr), so each of the page's candidates was fetched from the table. The planner priced
those fetches high and, for a state whose rows it believed the newest ids to hold, walked the primary key
instead (14–127 ms for `closed` in 421300 at 1M); for a rare state it read a bigger index and sorted (1–2 ms).
With region_code INCLUDEd the scan is index-only and the cheapest plan in every case (0.05–0.1 ms).
Rebuilt CONCURRENTLY on PostgreSQL (new index, drop the old, rename): the register keeps taking reports.
SQLite has no INCLUDE and keeps its indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_speed2"
down_revision: str | None = "0015_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_hazards_state_province_id": "substr(region_code, 1, 2)",
    "ix_hazards_state_prefecture_id": "substr(region_code, 1, 4)",
    "ix_hazards_state_county_id": "substr(region_code, 1, 6)",
}


def _rebuild(include: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        for name, prefix in INDEXES.items():
            columns = ["state", sa.text(prefix), "id"]
            new = name + "_new"
            op.drop_index(new, table_name="hazards", postgresql_concurrently=True, if_exists=True)
            op.create_index(new, "hazards", columns, postgresql_concurrently=True, postgresql_include=include)
            op.drop_index(name, table_name="hazards", postgresql_concurrently=True, if_exists=True)
            op.execute(f"ALTER INDEX {new} RENAME TO {name}")


def upgrade() -> None:
    _rebuild(["region_code"])


def downgrade() -> None:
    _rebuild([])
