"""timers: no foreign keys on supervision_timers (its rule and its hazard), whose check locked hot rows

Revision ID: 0021_rpg
Revises: 0020_timers_index
Create Date: 2026-11-28 04:15:00

Every report writes its hazard's ~7 timers and every transition rewrites them; each row's foreign-key check took
a FOR KEY SHARE lock on its ``escalation_rules`` row and on its hazard. The rules are the same few rows for
every hazard, so concurrent reports and transitions share those locks, and PostgreSQL makes a MultiXact for
every such share (about 2 per report under 8 concurrent reports: CREATE_ID WAL records, the MultiXact SLRUs,
and a heap LOCK record each). Without the two checks the timers' INSERT costs PostgreSQL half as much
(benchmarks/RESULTS.md "rpg").

What the keys guarded cannot happen:
- a rule is never deleted: rules are versioned (``revise_rule`` adds a version, retiring sets ``retired_at``),
  and nothing in the application deletes one;
- a hazard is never deleted: ``hazard_events`` keeps its foreign key to ``hazards``, every hazard is born
  with its first event in the same statement, and events are append-only, so the key forbids deleting any
  hazard;
- a timer is derived data, rebuilt from its hazard whenever the hazard changes, and the sweep inner-joins its
  hazard and rule (``engine._propose_due``, ``timers``), so a timer whose rule were gone would be inert, not
  wrong.
The timers' own writes take their rule ids from the rules just read and their hazard id from the row just
written, so the keys never rejected anything a correct caller could send.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021_rpg"
down_revision: str | None = "0020_timers_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = (
    ("fk_supervision_timers_hazard_id_hazards", "hazards", "hazard_id"),
    ("fk_supervision_timers_rule_id_escalation_rules", "escalation_rules", "rule_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("supervision_timers", schema=None) as batch_op:
        for name, _table, _column in KEYS:
            batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("supervision_timers", schema=None) as batch_op:
        for name, table, column in KEYS:
            batch_op.create_foreign_key(name, table, [column], ["id"])
