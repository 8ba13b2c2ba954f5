"""desk: proof of service of documents (送达回证), reminder rules, and notices without a measure (reminders)

Revision ID: 0014_desk
Revises: 0013_console
Create Date: 2026-11-27 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0014_desk"
down_revision: str | None = "0013_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The national reminder defaults (notices.models.DEFAULT_REMINDERS), written out so the migration stays as it was.
DEFAULT_REMINDERS = [
    ("default.rectification.5wd", "rectification_deadline", 5, True),
    ("default.self_inspection.10d", "self_inspection_due", 10, False),
    ("default.filing.5wd", "filing_due", 5, True),
    ("default.complaint.5wd", "complaint_due", 5, True),
]


def upgrade() -> None:
    op.create_table(
        "document_services",
        sa.Column("id", BigId, nullable=False),
        sa.Column("measure_id", BigId, nullable=True),
        sa.Column("hazard_id", BigId, nullable=True),
        sa.Column("document_kind", sa.String(length=32), nullable=False),
        sa.Column("document_number", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("served_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=True),
        sa.Column("served_by", sa.String(length=128), nullable=False),
        sa.Column("received_by", sa.String(length=128), nullable=True),
        sa.Column("witnesses", sa.JSON(), nullable=False),
        sa.Column("receipt_attachment_id", BigId, nullable=True),
        sa.Column("receipt_filename", sa.String(length=255), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["supervision_measures.id"],
            name=op.f("fk_document_services_measure_id_supervision_measures"),
        ),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"], name=op.f("fk_document_services_hazard_id_hazards")),
        sa.ForeignKeyConstraint(
            ["receipt_attachment_id"],
            ["attachments.id"],
            name=op.f("fk_document_services_receipt_attachment_id_attachments"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_document_services_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_services")),
    )
    with op.batch_alter_table("document_services", schema=None) as batch_op:
        batch_op.create_index("ix_document_services_measure", ["measure_id"], unique=False)
        batch_op.create_index("ix_document_services_hazard", ["hazard_id", "measure_id"], unique=False)

    rules = op.create_table(
        "reminder_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("working_days", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_reminder_rules_region_code_regions")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_reminder_rules_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_rules")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_rules_key")),
    )
    created = datetime(2026, 11, 27, tzinfo=UTC)
    op.bulk_insert(
        rules,
        [
            {"key": k, "region_code": None, "kind": kind, "days_before": days, "working_days": working,
             "active": True, "created_at": created}
            for k, kind, days, working in DEFAULT_REMINDERS
        ],
    )  # fmt: skip

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.alter_column("measure_id", existing_type=BigId, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM notices WHERE measure_id IS NULL")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.alter_column("measure_id", existing_type=BigId, nullable=False)
    op.drop_table("reminder_rules")
    with op.batch_alter_table("document_services", schema=None) as batch_op:
        batch_op.drop_index("ix_document_services_hazard")
        batch_op.drop_index("ix_document_services_measure")
    op.drop_table("document_services")
