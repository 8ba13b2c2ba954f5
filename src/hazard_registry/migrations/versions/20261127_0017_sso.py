"""sso: single sign-on (OpenID Connect) — links of provider subjects to users, administrators' claim rules, and
the nonces already used (a replayed sign-in answer is refused)

Revision ID: 0017_sso
Revises: 0016_speed2
Create Date: 2026-11-27 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0017_sso"
down_revision: str | None = "0016_speed2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oidc_claim_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("can_close", sa.Boolean(), nullable=False),
        sa.Column("can_take_complaints", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_oidc_claim_rules_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_oidc_claim_rules_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_oidc_claim_rules_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_oidc_claim_rules_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_claim_rules")),
    )
    with op.batch_alter_table("oidc_claim_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_claim_rules_region_code"), ["region_code"], unique=False)

    op.create_table(
        "oidc_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_oidc_links_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["oidc_claim_rules.id"], name=op.f("fk_oidc_links_rule_id_oidc_claim_rules")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_oidc_links_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_links")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_oidc_links_issuer_subject")),
    )
    with op.batch_alter_table("oidc_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_links_user_id"), ["user_id"], unique=False)

    op.create_table(
        "oidc_nonces",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash", name=op.f("pk_oidc_nonces")),
    )


def downgrade() -> None:
    op.drop_table("oidc_nonces")
    with op.batch_alter_table("oidc_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_links_user_id"))
    op.drop_table("oidc_links")
    with op.batch_alter_table("oidc_claim_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_claim_rules_region_code"))
    op.drop_table("oidc_claim_rules")
