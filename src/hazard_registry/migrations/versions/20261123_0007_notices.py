"""Notices: the outbox of supervision notices (due ones found through a partial index on pending), and an
e-mail address on users, where notices reach officers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:36:12.661577
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dedup_key", sa.String(length=96), nullable=False),
        sa.Column("measure_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient_role", sa.String(length=32), nullable=False),
        sa.Column("recipient_name", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["supervision_measures.id"], name=op.f("fk_notices_measure_id_supervision_measures")
        ),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_notices_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notices_dedup_key")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notices_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(batch_op.f("ix_notices_measure_id"), ["measure_id"], unique=False)
        batch_op.create_index("ix_notices_status_id", ["status", "id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_status_id")
        batch_op.drop_index(batch_op.f("ix_notices_measure_id"))
        batch_op.drop_index(
            "ix_notices_due", postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'")
        )

    op.drop_table("notices")
