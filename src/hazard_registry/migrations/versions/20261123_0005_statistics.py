"""Statistics: enterprise filings (季报/年报, due_on indexed for lateness sweeps) and imported ledgers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:41:53.739050
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hazard_registry.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enterprise_filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("confirmed_by_name", sa.String(length=64), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", hazard_registry.db.UTCDateTime(), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("created_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_enterprise_filings_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_enterprise_filings_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_filings")),
        sa.UniqueConstraint("enterprise_id", "period", name=op.f("uq_enterprise_filings_enterprise_id_period")),
    )
    with op.batch_alter_table("enterprise_filings", schema=None) as batch_op:
        batch_op.create_index("ix_enterprise_filings_due_on", ["due_on", "filed_at"], unique=False)

    op.create_table(
        "ledger_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("imported_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_at", hazard_registry.db.UTCDateTime(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_imported", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_bad", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["imported_by_id"], ["users.id"], name=op.f("fk_ledger_imports_imported_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_imports")),
    )
    with op.batch_alter_table("ledger_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_imports_sha256"), ["sha256"], unique=False)

    op.create_table(
        "ledger_import_rows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("row_key", sa.String(length=64), nullable=False),
        sa.Column("hazard_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["hazard_id"], ["hazards.id"], name=op.f("fk_ledger_import_rows_hazard_id_hazards")),
        sa.ForeignKeyConstraint(
            ["import_id"], ["ledger_imports.id"], name=op.f("fk_ledger_import_rows_import_id_ledger_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_import_rows")),
        sa.UniqueConstraint("row_key", name=op.f("uq_ledger_import_rows_row_key")),
    )
    with op.batch_alter_table("ledger_import_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_import_rows_hazard_id"), ["hazard_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_import_rows_import_id"), ["import_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ledger_import_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_import_rows_import_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_import_rows_hazard_id"))

    op.drop_table("ledger_import_rows")
    with op.batch_alter_table("ledger_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_imports_sha256"))

    op.drop_table("ledger_imports")
    with op.batch_alter_table("enterprise_filings", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_filings_due_on")

    op.drop_table("enterprise_filings")
