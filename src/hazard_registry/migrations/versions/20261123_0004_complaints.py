"""Public complaints (举报): complaints, their messages, files, history, identity reveals and rewards;
the complaint-desk rights on users.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:40:05.155890
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("receipt_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("sector_code", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("identity_enc", sa.Text(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("handler_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("handling_due_on", sa.Date(), nullable=True),
        sa.Column("extended_days", sa.Integer(), nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("refusal_reason", sa.String(length=32), nullable=True),
        sa.Column("merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("hazard_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("concluded_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("reply_due_on", sa.Date(), nullable=True),
        sa.Column("replied_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("rechecks", sa.Integer(), nullable=False),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_complaints_department_id_departments")
        ),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"], name=op.f("fk_complaints_entered_by_id_users")),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_complaints_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(["handler_id"], ["users.id"], name=op.f("fk_complaints_handler_id_users")),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"], name=op.f("fk_complaints_hazard_id_hazards")),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["complaints.id"], name=op.f("fk_complaints_merged_into_id_complaints")
        ),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_complaints_region_code_regions")),
        sa.ForeignKeyConstraint(["sector_code"], ["sectors.code"], name=op.f("fk_complaints_sector_code_sectors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_complaints_receipt_hash")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index("ix_complaints_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_complaints_department_state", ["department_id", "state", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_enterprise_id"), ["enterprise_id"], unique=False)
        batch_op.create_index("ix_complaints_handling_due_state", ["handling_due_on", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_hazard_id"), ["hazard_id"], unique=False)
        batch_op.create_index("ix_complaints_region_id", ["region_code", "id"], unique=False)
        batch_op.create_index("ix_complaints_reply_due_state", ["reply_due_on", "state"], unique=False)

    op.create_table(
        "complaint_attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("attachment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("from_reporter", sa.Boolean(), nullable=False),
        sa.Column("uploaded_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"], ["attachments.id"], name=op.f("fk_complaint_attachments_attachment_id_attachments")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_attachments_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_attachments")),
    )
    with op.batch_alter_table("complaint_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_attachments_complaint_id"), ["complaint_id"], unique=False)

    op.create_table(
        "complaint_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_complaint_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_events_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_events_complaint_id"), ["complaint_id"], unique=False)

    op.create_table(
        "complaint_identity_reveals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("last_viewed_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_identity_reveals_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_complaint_identity_reveals_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_complaint_identity_reveals_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_identity_reveals")),
    )
    with op.batch_alter_table("complaint_identity_reveals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_identity_reveals_complaint_id"), ["complaint_id"], unique=False)

    op.create_table(
        "complaint_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_complaint_messages_author_id_users")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_messages_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_messages")),
    )
    with op.batch_alter_table("complaint_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_messages_complaint_id"), ["complaint_id"], unique=False)

    op.create_table(
        "complaint_rewards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("complaint_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=24), nullable=False),
        sa.Column("fine_fen", sa.BigInteger(), nullable=True),
        sa.Column("deaths", sa.Integer(), nullable=True),
        sa.Column("accident_class", sa.String(length=16), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("payee_enc", sa.Text(), nullable=True),
        sa.Column("claimed_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("paid_by_id", sa.Integer(), nullable=True),
        sa.Column("paid_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("payment_reference", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_complaint_rewards_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_rewards_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(["paid_by_id"], ["users.id"], name=op.f("fk_complaint_rewards_paid_by_id_users")),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name=op.f("fk_complaint_rewards_proposed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_rewards")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_complaint_rewards_complaint_id")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("can_reveal_identity", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("can_take_complaints", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("can_take_complaints")
        batch_op.drop_column("can_reveal_identity")

    op.drop_table("complaint_rewards")
    with op.batch_alter_table("complaint_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_messages_complaint_id"))

    op.drop_table("complaint_messages")
    with op.batch_alter_table("complaint_identity_reveals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_identity_reveals_complaint_id"))

    op.drop_table("complaint_identity_reveals")
    with op.batch_alter_table("complaint_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_events_complaint_id"))

    op.drop_table("complaint_events")
    with op.batch_alter_table("complaint_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_attachments_complaint_id"))

    op.drop_table("complaint_attachments")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index("ix_complaints_reply_due_state")
        batch_op.drop_index("ix_complaints_region_id")
        batch_op.drop_index(batch_op.f("ix_complaints_hazard_id"))
        batch_op.drop_index("ix_complaints_handling_due_state")
        batch_op.drop_index(batch_op.f("ix_complaints_enterprise_id"))
        batch_op.drop_index("ix_complaints_department_state")
        batch_op.drop_index("ix_complaints_created_at")

    op.drop_table("complaints")
