"""kernel: every life-cycle's events chained, each chain's head anchored on its owner, append-only everywhere

Measure and complaint events get seq / prev_hash / hash like hazard events (existing ones are chained here,
in id order); hazards, measures and complaints get chain_seq / chain_head, the head the verifier checks so
a removed last event is caught; the three event tables refuse UPDATE and DELETE on SQLite too.

Revision ID: 0011_kernel
Revises: 0010_facts
Create Date: 2026-11-27 17:40:00
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011_kernel"
down_revision: str | None = "0010_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
OWNERS = ("hazards", "supervision_measures", "complaints")
EVENT_TABLES = ("hazard_events", "supervision_measure_events", "complaint_events")
# (event table, owner column, owner table, the hashed body's keys → columns); the same canonical form as
# hazard_registry.workflow.audit.Chain.hash, written out here so this revision keeps meaning what it meant.
NEW_CHAINS = (
    (
        "supervision_measure_events",
        "measure_id",
        "supervision_measures",
        (("measure_id", "measure_id"), ("seq", "seq"), ("action", "action"), ("actor_id", "actor_id"),
         ("actor_name", "actor_name"), ("at", "at"), ("note", "note"), ("data", "data"), ("prev", "prev_hash")),
    ),
    (
        "complaint_events",
        "complaint_id",
        "complaints",
        (("complaint_id", "complaint_id"), ("seq", "seq"), ("action", "action"), ("from", "from_state"),
         ("to", "to_state"), ("actor_id", "actor_id"), ("actor_name", "actor_name"), ("at", "at"),
         ("note", "note"), ("data", "data"), ("prev", "prev_hash")),
    ),
)  # fmt: skip


def _hash(fields: Sequence[tuple[str, str]], row: dict[str, Any]) -> str:
    body: dict[str, Any] = {}
    for label, col in fields:
        value = row[col]
        if col == "at":
            at: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
            value = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif col == "data":
            value = value or {}
        body[label] = value
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _chain_existing(bind: sa.Connection, table: str, owner_col: str, owner_table: str, fields: Any) -> None:
    meta = sa.MetaData()
    cols = [sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime), sa.Column("data", sa.JSON)]
    cols += [sa.Column(c) for _, c in fields if c not in ("at", "data", "prev_hash", "seq")]
    cols += [sa.Column("seq", sa.Integer), sa.Column("prev_hash", sa.String), sa.Column("hash", sa.String)]
    t = sa.Table(table, meta, *cols)
    owners = sa.Table(owner_table, meta, sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("chain_seq", sa.Integer), sa.Column("chain_head", sa.String))  # fmt: skip
    current, seq, prev = None, 0, GENESIS
    heads: list[dict[str, Any]] = []
    for r in bind.execute(sa.select(t).order_by(t.c[owner_col], t.c.id)).mappings().all():
        if r[owner_col] != current:
            if current is not None:
                heads.append({"o": current, "s": seq, "h": prev})
            current, seq, prev = r[owner_col], 0, GENESIS
        seq += 1
        row = dict(r) | {"seq": seq, "prev_hash": prev}
        digest = _hash(fields, row)
        bind.execute(sa.update(t).where(t.c.id == r["id"]).values(seq=seq, prev_hash=prev, hash=digest))
        prev = digest
    if current is not None:
        heads.append({"o": current, "s": seq, "h": prev})
    if heads:
        bind.execute(
            sa.update(owners)
            .where(owners.c.id == sa.bindparam("o"))
            .values(chain_seq=sa.bindparam("s"), chain_head=sa.bindparam("h")),
            heads,
        )


def upgrade() -> None:
    bind = op.get_bind()
    for owner in OWNERS:
        with op.batch_alter_table(owner, schema=None) as batch_op:
            batch_op.add_column(sa.Column("chain_seq", sa.Integer(), server_default="0", nullable=False))
            batch_op.add_column(sa.Column("chain_head", sa.String(length=64), nullable=True))
    # Hazard chains exist already: their heads are their last events.
    op.execute(
        "UPDATE hazards SET chain_seq = (SELECT max(e.seq) FROM hazard_events e WHERE e.hazard_id = hazards.id), "
        "chain_head = (SELECT e.hash FROM hazard_events e WHERE e.hazard_id = hazards.id "
        "ORDER BY e.seq DESC LIMIT 1) WHERE EXISTS (SELECT 1 FROM hazard_events e WHERE e.hazard_id = hazards.id)"
    )
    for table, owner_col, owner_table, fields in NEW_CHAINS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
            batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        _chain_existing(bind, table, owner_col, owner_table, fields)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
            batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
            batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_{owner_col}_seq"), [owner_col, "seq"])

    if bind.dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END $$;
        """)
        for table in EVENT_TABLES[1:]:  # hazard_events has had its own since 0001
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
            )
    else:
        # SQLite: the same guard as triggers. Someone with the file can drop them, and the chain shows that.
        for table in EVENT_TABLES:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in EVENT_TABLES[1:]:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        for table in EVENT_TABLES:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    for table, owner_col, _owner_table, _fields in NEW_CHAINS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_{owner_col}_seq"), type_="unique")
            batch_op.drop_column("hash")
            batch_op.drop_column("prev_hash")
            batch_op.drop_column("seq")
    for owner in OWNERS:
        with op.batch_alter_table(owner, schema=None) as batch_op:
            batch_op.drop_column("chain_head")
            batch_op.drop_column("chain_seq")
