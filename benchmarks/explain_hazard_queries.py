"""EXPLAIN (ANALYZE, BUFFERS) of the queries that read ``hazards``, built by the services themselves, with the
indexes named by ``--drop`` dropped inside a transaction that is rolled back: an index review with evidence.

    HAZARD_DATABASE_URL=postgresql+psycopg://…/COPY python -m benchmarks.explain_hazard_queries \\
      [--drop ix_a,ix_b] [--township] [--only list_] [-v]

Run it on a copy of the benchmark's 1,000,000-hazard database (``DROP INDEX`` takes an exclusive lock until
the rollback). The actors and regions are the benchmark's (province 420000; county 421303, the busiest). The
generated register has no township codes: ``--township`` first moves the busiest county's hazards to twelve
township codes below it (same transaction, rolled back), so the township filters have rows to find. Prints, per
statement, its execution time and the indexes its plan uses (``-v``: the whole plan).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import SYSTEM, Actor, Role
from hazard_registry.hazards import service as hs
from hazard_registry.statistics import service as st
from hazard_registry.supervision import engine as se

TODAY = date(2026, 11, 28)
CUTOFF = date(2025, 12, 31)
TOWNSHIP = "421303101"
PROVINCE = Actor(user_id=1, username="admin", role=Role.admin, region_code="420000")
REGULATOR = Actor(user_id=2, username="reg", role=Role.regulator, department_id=1576, region_code="421303")
SECTOR_REGULATOR = Actor(
    user_id=2, username="reg", role=Role.regulator, department_id=1576, region_code="421303",
    sectors=frozenset({"non_coal_mining"}),
)  # fmt: skip
ENTERPRISE = Actor(user_id=3, username="ent", role=Role.enterprise, enterprise_id=4418, region_code="650202")
F = hs.HazardFilters


def _list(actor: Actor, **f: Any) -> Callable[[Session], Any]:
    return lambda s: hs.list_hazards(s, actor, F(**f), cursor=None, limit=50, today=TODAY)


def _summary(region: str, days_ago: int = 0) -> Callable[[Session], Any]:
    f = st.StatFilters(region=region)
    return lambda s: st.summary(s, PROVINCE, f, as_of=TODAY - timedelta(days=days_ago), cutoff=CUTOFF)


CASES: dict[str, Callable[[Session], Any]] = {
    "list_prefecture_state": _list(PROVINCE, state=["reported"], region="421300"),
    "list_county_state": _list(PROVINCE, state=["verified"], region="421303"),
    "list_scope_state": _list(PROVINCE, state=["assigned"]),
    "list_scope_two_states": _list(PROVINCE, state=["assigned", "verified"]),
    "list_province_filter_state": _list(PROVINCE, state=["assigned"], region="420000"),
    "list_scope": _list(PROVINCE),
    "list_county": _list(PROVINCE, region="421303"),
    "list_national_state": _list(SYSTEM, state=["verified"]),
    "list_national_closed": _list(SYSTEM, state=["closed"]),
    "list_regulator_state": _list(REGULATOR, state=["reported"]),
    "list_sector_regulator_state": _list(SECTOR_REGULATOR, state=["reported"]),
    "list_enterprise_state": _list(ENTERPRISE, state=["closed"]),
    "list_township_state": _list(PROVINCE, state=["closed"], region=TOWNSHIP),
    "list_township_rare_state": _list(PROVINCE, state=["verified"], region=TOWNSHIP),
    "list_township": _list(PROVINCE, region=TOWNSHIP),
    "list_officer": _list(PROVINCE, officer_id=2),
    "list_sector": _list(PROVINCE, sector_code="non_coal_mining", region="421303"),
    "list_found_range": _list(PROVINCE, found_from=date(2026, 1, 1), found_to=date(2026, 1, 3)),
    "list_overdue": _list(PROVINCE, overdue=True),
    "console_list_township": lambda s: hs.list_hazards_named(
        s, PROVINCE, F(state=["closed"], region=TOWNSHIP), cursor=None, limit=50, today=TODAY
    ),
    "waiting_for_regulator": lambda s: hs.waiting_for(s, REGULATOR, TODAY),
    "stats_busy_county": _summary("421303"),
    "stats_busy_county_past_day": _summary("421303", 30),
    "stats_small_county": _summary("420102"),
    "stats_small_county_past_day": _summary("420102", 30),
    "trend_small_county": lambda s: st.trend(s, PROVINCE, st.StatFilters(region="420102"), as_of=TODAY, months=12),
    "reminder_window": lambda s: s.execute(
        text("SELECT count(*) FROM hazards WHERE state IN ('assigned', 'rectifying') AND deadline BETWEEN :a AND :b"),
        {"a": TODAY, "b": TODAY + timedelta(days=3)},
    ).all(),
    "due_timers": lambda s: s.execute(se.due_timers(TODAY)).all(),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drop", default="", help="indexes to drop first, comma-separated")
    ap.add_argument("--township", action="store_true", help="move the busiest county's hazards to townships first")
    ap.add_argument("--only", action="append", default=[], help="run the cases whose names start with this")
    ap.add_argument("-v", action="store_true", help="print the plans")
    args = ap.parse_args()
    engine = create_engine(os.environ["HAZARD_DATABASE_URL"])
    captured: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.startswith("EXPLAIN") and "hazards" in statement:
            captured.append((statement, parameters))

    cases = {k: v for k, v in CASES.items() if not args.only or any(k.startswith(o) for o in args.only)}
    with engine.connect() as conn:
        if args.township:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # the codes are not in regions
            conn.exec_driver_sql(
                "UPDATE hazards SET region_code = region_code || '10' || mod(id, 12)::text WHERE region_code = '421303'"
            )
            conn.exec_driver_sql("ANALYZE hazards")
        for index in filter(None, args.drop.split(",")):
            conn.exec_driver_sql(f"DROP INDEX {index}")
        for name, run in cases.items():
            captured.clear()
            run(Session(bind=conn))
            for statement, parameters in list(captured):
                plan = [r[0] for r in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
                ms = next(line for line in plan if line.startswith("Execution Time")).split(":")[1].strip()
                used = sorted(set(re.findall(r"(?:on|using) ((?:ix|pk|uq)_\w+)", " ".join(plan))))
                seq = ["Seq Scan"] if any("Seq Scan on hazards" in line for line in plan) else []
                print(f"{name:30s} {ms:>12s}  {', '.join(seq + used)}", flush=True)
                if args.v:
                    print("\n".join("      " + line for line in plan))
        conn.rollback()


if __name__ == "__main__":
    main()
