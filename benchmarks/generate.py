"""Generate a register of N hazards on PostgreSQL, set-based (INSERT … SELECT generate_series).

    python -m benchmarks.generate --url postgresql+psycopg://… --n 1000000

Importable: ``generate(engine, n)`` migrates nothing and assumes the schema is at head (``migrate.upgrade``).
It creates what the hazards need: one emergency-management bureau (the default lead, code ``B-<region>``)
per county of the real regions table, ``n // 20`` enterprises spread unevenly over the counties (a few
counties are busy, most are quiet) and over the industry divisions, and then the hazards: found between
2023-01-01 and today, state by age (older hazards are mostly closed), deadlines 30–180 days after found,
closing 5 days to well past the deadline. No events are written (the chain is per hazard, not set-based).
Re-running replaces the previous hazards (TRUNCATE … CASCADE) and keeps enterprises and departments.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import Engine, text

from hazard_registry.db import make_engine

BATCH = 250_000

DEPARTMENTS = """
INSERT INTO departments (code, name, region_code, is_default_lead)
SELECT 'B-' || code, name || '应急管理局', code, true FROM regions WHERE level = 'county'
ON CONFLICT (code) DO NOTHING
"""

# Counties ranked by a hash, so the skew (power 3 below) is not by province order.
ENTERPRISES = """
WITH c AS (
    SELECT array_agg(code ORDER BY md5(code)) AS codes FROM regions WHERE level = 'county'
), i AS (
    SELECT array_agg(code ORDER BY code) AS codes FROM industries WHERE level = 'division'
)
INSERT INTO enterprises (uscc, name, region_code, industry_code, high_risk, principal_name, principal_phone,
                         created_at, version)
SELECT 'B' || lpad(g::text, 17, '0'),
       '基准测试企业' || g,
       c.codes[1 + floor(power(random(), 3) * array_length(c.codes, 1))::int],
       i.codes[1 + floor(random() * array_length(i.codes, 1))::int],
       random() < 0.2, '负责人' || g, '138' || lpad((g % 100000000)::text, 8, '0'), now(), 1
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) g, c, i
ON CONFLICT (uscc) DO NOTHING
"""

HAZARDS = """
WITH e AS (
    SELECT row_number() OVER (ORDER BY id) AS k, id, region_code, industry_code
    FROM enterprises WHERE uscc LIKE 'B%'
), ne AS (SELECT count(*) AS n FROM e),
clause AS (SELECT min(id) AS id FROM standard_clauses),
s AS (
    SELECT g,
           1 + floor(random() * (SELECT n FROM ne))::int AS k,
           DATE '2023-01-01' + floor(random() * (CURRENT_DATE - DATE '2023-01-01' + 1))::int AS found_at,
           random() AS r_state, random() AS r_kind, (30 + floor(random() * 151))::int AS allow,
           random() AS r_close, random() AS r_src
    FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) g
), t AS (
    SELECT s.*, CURRENT_DATE - s.found_at AS age,
           CASE
             WHEN s.r_kind < 0.03 THEN 'rejected'
             WHEN s.r_state < LEAST(0.97, (CURRENT_DATE - s.found_at) / 240.0) THEN 'closed'
             WHEN s.r_kind < 0.13 THEN 'reported'
             WHEN s.r_kind < 0.38 THEN 'assigned'
             WHEN s.r_kind < 0.83 THEN 'rectifying'
             WHEN s.r_kind < 0.93 THEN 'verification_requested'
             ELSE 'verified'
           END AS state
    FROM s
)
INSERT INTO hazards (number, grade, state, source, enterprise_id, industry_code, sector_code, region_code,
                     department_id, clause_id, title, description, location, found_at, production_suspended,
                     reported_by_role, deadline, closed_at, failed_verifications, created_at, updated_at, version)
SELECT 'B' || lpad(t.g::text, 12, '0'), 'major', t.state,
       CASE WHEN t.r_src < 0.55 THEN 'self_report' WHEN t.r_src < 0.93 THEN 'inspection'
            WHEN t.r_src < 0.98 THEN 'public_report' ELSE 'other' END,
       e.id, e.industry_code, ind.sector_code, e.region_code, d.id, clause.id,
       '基准隐患 ' || t.g, '生成的基准数据', '车间', t.found_at, false, 'regulator',
       CASE WHEN t.state IN ('reported', 'rejected') THEN NULL ELSE t.found_at + t.allow END,
       CASE WHEN t.state = 'closed' THEN
            LEAST(now() AT TIME ZONE 'UTC',
                  (t.found_at + (5 + floor(t.r_close * (t.allow + 60)))::int) + TIME '02:00')
       END,
       0, t.found_at + TIME '02:00',
       -- last changed when closed, if it was (statistics as of an earlier day look such hazards up in history)
       CASE WHEN t.state = 'closed' THEN
            LEAST(now() AT TIME ZONE 'UTC',
                  (t.found_at + (5 + floor(t.r_close * (t.allow + 60)))::int) + TIME '02:00')
            ELSE t.found_at + TIME '02:00' END,
       1
FROM t
JOIN e ON e.k = t.k
JOIN industries ind ON ind.code = e.industry_code
JOIN departments d ON d.code = 'B-' || e.region_code
CROSS JOIN clause
"""


def generate(engine: Engine, n: int = 1_000_000, *, seed: float = 0.42, verbose: bool = True) -> dict[str, float]:
    """Fill the register with ``n`` hazards (replacing any there were); returns seconds per step."""
    assert engine.dialect.name == "postgresql", "the generator is set-based SQL for PostgreSQL"
    took: dict[str, float] = {}

    def step(name: str, sql: str, **params: int) -> None:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SELECT setseed(:s)"), {"s": seed})
            conn.execute(text(sql), params)
        took[name] = took.get(name, 0.0) + time.perf_counter() - t0
        if verbose:
            print(f"  {name} {params or ''} {took[name]:.1f}s", flush=True)

    with engine.begin() as conn:
        conn.execute(text("TRUNCATE hazards, hazard_counters RESTART IDENTITY CASCADE"))
    step("departments", DEPARTMENTS)
    step("enterprises", ENTERPRISES, first=1, last=max(1000, n // 20))
    for first in range(1, n + 1, BATCH):
        step("hazards", HAZARDS, first=first, last=min(n, first + BATCH - 1))
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE hazards"))
        conn.execute(text("ANALYZE enterprises"))
        conn.execute(text("ANALYZE departments"))
    took["analyze"] = time.perf_counter() - t0
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of a PostgreSQL database")
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    from hazard_registry.migrate import upgrade

    upgrade(args.url)
    engine = make_engine(args.url)
    took = generate(engine, args.n)
    print(f"generated {args.n} hazards in {sum(took.values()):.1f}s: {took}")


if __name__ == "__main__":
    main()
