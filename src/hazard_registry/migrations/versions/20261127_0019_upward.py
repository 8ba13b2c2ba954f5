"""upward: reports pushed to the level above, the deployments below and the reports received from them

Revision ID: 0019_upward
Revises: 0018_open311
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0019_upward"
down_revision: str | None = "0018_open311"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = hazard_registry.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "upward_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("generated_at", UTC(), nullable=False),
        sa.Column("notice_id", BigId, nullable=False),
        sa.Column("pushed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name=op.f("fk_upward_pushes_notice_id_notices")),
        sa.ForeignKeyConstraint(["pushed_by_id"], ["users.id"], name=op.f("fk_upward_pushes_pushed_by_id_users")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_upward_pushes_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upward_pushes")),
        sa.UniqueConstraint(
            "region_code", "period", "revision", name=op.f("uq_upward_pushes_region_code_period_revision")
        ),
    )
    op.create_table(
        "upward_downstreams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_upward_downstreams_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_upward_downstreams_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upward_downstreams")),
        sa.UniqueConstraint("deployment_id", name=op.f("uq_upward_downstreams_deployment_id")),
    )
    op.create_index(op.f("ix_upward_downstreams_region_code"), "upward_downstreams", ["region_code"])
    op.create_table(
        "upward_downstream_regions",
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("downstream_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["downstream_id"],
            ["upward_downstreams.id"],
            name=op.f("fk_upward_downstream_regions_downstream_id_upward_downstreams"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_upward_downstream_regions_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_upward_downstream_regions")),
    )
    op.create_index(op.f("ix_upward_downstream_regions_downstream_id"), "upward_downstream_regions", ["downstream_id"])
    op.create_table(
        "upward_reports",
        sa.Column("id", BigId, nullable=False),
        sa.Column("downstream_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=64), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("generated_at", UTC(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["downstream_id"],
            ["upward_downstreams.id"],
            name=op.f("fk_upward_reports_downstream_id_upward_downstreams"),
        ),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_upward_reports_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upward_reports")),
        sa.UniqueConstraint(
            "downstream_id",
            "region_code",
            "period",
            "revision",
            name=op.f("uq_upward_reports_downstream_id_region_code_period_revision"),
        ),
    )
    op.create_index("ix_upward_reports_period_region", "upward_reports", ["period", "region_code"])
    op.create_table(
        "upward_signatures",
        sa.Column("signature", sa.String(length=80), nullable=False),
        sa.Column("seen_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_upward_signatures")),
    )
    op.create_index(op.f("ix_upward_signatures_seen_at"), "upward_signatures", ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_upward_signatures_seen_at"), table_name="upward_signatures")
    op.drop_table("upward_signatures")
    op.drop_index("ix_upward_reports_period_region", table_name="upward_reports")
    op.drop_table("upward_reports")
    op.drop_index(op.f("ix_upward_downstream_regions_downstream_id"), table_name="upward_downstream_regions")
    op.drop_table("upward_downstream_regions")
    op.drop_index(op.f("ix_upward_downstreams_region_code"), table_name="upward_downstreams")
    op.drop_table("upward_downstreams")
    op.drop_table("upward_pushes")
