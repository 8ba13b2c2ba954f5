"""The register: reference data tables, users, hazards, their event chain, attachments, extensions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 15:46:04.807938
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("sha256", name=op.f("uq_attachments_sha256")),
    )
    op.create_table(
        "hazard_counters",
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "year", name=op.f("pk_hazard_counters")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("principal", "key", name=op.f("uq_idempotency_keys_principal_key")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False)

    op.create_table(
        "regions",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(["parent_code"], ["regions.code"], name=op.f("fk_regions_parent_code_regions")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_regions_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "sectors",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("high_risk", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_sectors")),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("is_default_lead", sa.Boolean(), nullable=False),
        sa.Column("head_name", sa.String(length=64), nullable=True),
        sa.Column("head_phone", sa.String(length=32), nullable=True),
        sa.Column("head_email", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_departments_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("code", name=op.f("uq_departments_code")),
    )
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departments_region_code"), ["region_code"], unique=False)

    op.create_table(
        "industries",
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("section", sa.String(length=1), nullable=False),
        sa.Column("sector_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["sector_code"], ["sectors.code"], name=op.f("fk_industries_sector_code_sectors")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_industries")),
    )
    op.create_table(
        "standards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("edition", sa.String(length=32), nullable=False),
        sa.Column("document_number", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=128), nullable=False),
        sa.Column("sector_code", sa.String(length=32), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["sector_code"], ["sectors.code"], name=op.f("fk_standards_sector_code_sectors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standards")),
        sa.UniqueConstraint("family", "edition", name=op.f("uq_standards_family_edition")),
    )
    with op.batch_alter_table("standards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standards_family"), ["family"], unique=False)

    op.create_table(
        "department_sectors",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("sector_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_department_sectors_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sector_code"], ["sectors.code"], name=op.f("fk_department_sectors_sector_code_sectors")
        ),
        sa.PrimaryKeyConstraint("department_id", "sector_code", name=op.f("pk_department_sectors")),
    )
    with op.batch_alter_table("department_sectors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_department_sectors_sector_code"), ["sector_code"], unique=False)

    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("industry_code", sa.String(length=4), nullable=False),
        sa.Column("high_risk", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("principal_name", sa.String(length=64), nullable=False),
        sa.Column("principal_phone", sa.String(length=32), nullable=False),
        sa.Column("principal_email", sa.String(length=254), nullable=True),
        sa.Column("controller_name", sa.String(length=64), nullable=True),
        sa.Column("controller_phone", sa.String(length=32), nullable=True),
        sa.Column("controller_email", sa.String(length=254), nullable=True),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["industry_code"], ["industries.code"], name=op.f("fk_enterprises_industry_code_industries")
        ),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_enterprises_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprises_uscc")),
    )
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enterprises_industry_code"), ["industry_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprises_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_enterprises_region_code"), ["region_code"], unique=False)
        batch_op.create_index("ix_enterprises_region_industry", ["region_code", "industry_code"], unique=False)

    op.create_table(
        "standard_clauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standard_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["standard_id"], ["standards.id"], name=op.f("fk_standard_clauses_standard_id_standards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standard_clauses")),
        sa.UniqueConstraint("standard_id", "number", name=op.f("uq_standard_clauses_standard_id_number")),
    )
    with op.batch_alter_table("standard_clauses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standard_clauses_standard_id"), ["standard_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("can_close", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"], name=op.f("fk_users_department_id_departments")),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprises.id"], name=op.f("fk_users_enterprise_id_enterprises")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_users_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_enterprise_id"), ["enterprise_id"], unique=False)

    op.create_table(
        "hazards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("industry_code", sa.String(length=4), nullable=False),
        sa.Column("sector_code", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("clause_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("found_at", sa.Date(), nullable=False),
        sa.Column("production_suspended", sa.Boolean(), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_by_role", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("completion", sa.JSON(), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("recurrence_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("failed_verifications", sa.Integer(), nullable=False),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clause_id"], ["standard_clauses.id"], name=op.f("fk_hazards_clause_id_standard_clauses")
        ),
        sa.ForeignKeyConstraint(["closed_by_id"], ["users.id"], name=op.f("fk_hazards_closed_by_id_users")),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_hazards_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["duplicate_of_id"], ["hazards.id"], name=op.f("fk_hazards_duplicate_of_id_hazards")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_hazards_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["industry_code"], ["industries.code"], name=op.f("fk_hazards_industry_code_industries")
        ),
        sa.ForeignKeyConstraint(["officer_id"], ["users.id"], name=op.f("fk_hazards_officer_id_users")),
        sa.ForeignKeyConstraint(["recurrence_of_id"], ["hazards.id"], name=op.f("fk_hazards_recurrence_of_id_hazards")),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_hazards_region_code_regions")),
        sa.ForeignKeyConstraint(["reported_by_id"], ["users.id"], name=op.f("fk_hazards_reported_by_id_users")),
        sa.ForeignKeyConstraint(["sector_code"], ["sectors.code"], name=op.f("fk_hazards_sector_code_sectors")),
        sa.ForeignKeyConstraint(["verified_by_id"], ["users.id"], name=op.f("fk_hazards_verified_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazards")),
        sa.UniqueConstraint("number", name=op.f("uq_hazards_number")),
    )
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.create_index("ix_hazards_deadline_state", ["deadline", "state"], unique=False)
        batch_op.create_index("ix_hazards_department_id", ["department_id", "id"], unique=False)
        batch_op.create_index("ix_hazards_enterprise_id", ["enterprise_id", "id"], unique=False)
        batch_op.create_index("ix_hazards_found_at", ["found_at", "id"], unique=False)
        batch_op.create_index("ix_hazards_region_id", ["region_code", "id"], unique=False)
        batch_op.create_index("ix_hazards_sector_region", ["sector_code", "region_code", "id"], unique=False)
        batch_op.create_index("ix_hazards_state_id", ["state", "id"], unique=False)

    op.create_table(
        "hazard_attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hazard_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attachment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_hazard_attachments_attachment_id_attachments"),
        ),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"], name=op.f("fk_hazard_attachments_hazard_id_hazards")),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_hazard_attachments_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_attachments")),
    )
    with op.batch_alter_table("hazard_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_attachments_hazard_id"), ["hazard_id"], unique=False)

    op.create_table(
        "hazard_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hazard_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_hazard_events_actor_id_users")),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"], name=op.f("fk_hazard_events_hazard_id_hazards")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_events")),
        sa.UniqueConstraint("hazard_id", "seq", name=op.f("uq_hazard_events_hazard_id_seq")),
    )
    op.create_table(
        "hazard_extensions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hazard_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("current_deadline", sa.Date(), nullable=False),
        sa.Column("requested_deadline", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_hazard_extensions_decided_by_id_users")),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"], name=op.f("fk_hazard_extensions_hazard_id_hazards")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_hazard_extensions_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_extensions")),
    )
    with op.batch_alter_table("hazard_extensions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_extensions_hazard_id"), ["hazard_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # The history is append-only for everyone, the service included; only a superuser who switches
        # triggers off (session_replication_role = replica) can edit it, and the hash chain shows that.
        op.execute("""
            CREATE FUNCTION hazard_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'hazard_events is append-only';
            END $$;
        """)
        op.execute("""
            CREATE TRIGGER hazard_events_append_only BEFORE UPDATE OR DELETE ON hazard_events
            FOR EACH ROW EXECUTE FUNCTION hazard_events_append_only();
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS hazard_events_append_only ON hazard_events")
        op.execute("DROP FUNCTION IF EXISTS hazard_events_append_only()")
    with op.batch_alter_table("hazard_extensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_extensions_hazard_id"))

    op.drop_table("hazard_extensions")
    op.drop_table("hazard_events")
    with op.batch_alter_table("hazard_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_attachments_hazard_id"))

    op.drop_table("hazard_attachments")
    with op.batch_alter_table("hazards", schema=None) as batch_op:
        batch_op.drop_index("ix_hazards_state_id")
        batch_op.drop_index("ix_hazards_sector_region")
        batch_op.drop_index("ix_hazards_region_id")
        batch_op.drop_index("ix_hazards_found_at")
        batch_op.drop_index("ix_hazards_enterprise_id")
        batch_op.drop_index("ix_hazards_department_id")
        batch_op.drop_index("ix_hazards_deadline_state")

    op.drop_table("hazards")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_users_department_id"))

    op.drop_table("users")
    with op.batch_alter_table("standard_clauses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standard_clauses_standard_id"))

    op.drop_table("standard_clauses")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprises_region_industry")
        batch_op.drop_index(batch_op.f("ix_enterprises_region_code"))
        batch_op.drop_index(batch_op.f("ix_enterprises_name"))
        batch_op.drop_index(batch_op.f("ix_enterprises_industry_code"))

    op.drop_table("enterprises")
    with op.batch_alter_table("department_sectors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_department_sectors_sector_code"))

    op.drop_table("department_sectors")
    with op.batch_alter_table("standards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standards_family"))

    op.drop_table("standards")
    op.drop_table("industries")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_region_code"))

    op.drop_table("departments")
    op.drop_table("sectors")
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_regions_parent_code"))

    op.drop_table("regions")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    op.drop_table("hazard_counters")
    op.drop_table("attachments")
