"""open311: partner platforms of the GeoReport v2 interface, their regions, and the requests they filed

Revision ID: 0018_open311
Revises: 0017_sso
Create Date: 2026-11-27 21:00:00

A partner's key is kept only as its SHA-256 (``key_hash``). A request is a complaint (channel ``open311``);
``open311_requests`` keeps what the complaint has no column for: the partner, the point, the address id and
the media URL as sent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0018_open311"
down_revision: str | None = "0017_sso"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "open311_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("owner_region", sa.String(length=12), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_region"], ["regions.code"], name=op.f("fk_open311_partners_owner_region_regions")
        ),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_open311_partners_created_by_id_users")),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["users.id"], name=op.f("fk_open311_partners_revoked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_partners")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_partners_key_hash")),
    )
    op.create_index(op.f("ix_open311_partners_owner_region"), "open311_partners", ["owner_region"], unique=False)
    op.create_table(
        "open311_partner_regions",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["open311_partners.id"],
            name=op.f("fk_open311_partner_regions_partner_id_open311_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_open311_partner_regions_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("partner_id", "region_code", name=op.f("pk_open311_partner_regions")),
    )
    op.create_table(
        "open311_requests",
        sa.Column("complaint_id", BigId, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("long", sa.Float(), nullable=True),
        sa.Column("address_id", sa.String(length=64), nullable=True),
        sa.Column("media_url", sa.String(length=1000), nullable=True),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_open311_requests_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["open311_partners.id"], name=op.f("fk_open311_requests_partner_id_open311_partners")
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_open311_requests")),
    )
    op.create_index(
        "ix_open311_requests_partner_created", "open311_requests", ["partner_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_open311_requests_partner_created", table_name="open311_requests")
    op.drop_table("open311_requests")
    op.drop_table("open311_partner_regions")
    op.drop_index(op.f("ix_open311_partners_owner_region"), table_name="open311_partners")
    op.drop_table("open311_partners")
