"""Time the statistics, the hazard list's first and deepest pages, and a full CSV export, each next to the
hand-written SQL doing the same work on the same data (PostgreSQL).

    python -m benchmarks.bench_statistics --url postgresql+psycopg://… [--generate 1000000]

Targets (issue 5): statistics within 1.5× of the hand-written query; page 10,000 as fast as page 1; export
memory flat as the row count grows.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, text

from hazard_registry.auth.principal import SYSTEM, Actor, Role, region_range
from hazard_registry.clock import today_in_china
from hazard_registry.db import make_engine, make_sessionmaker
from hazard_registry.hazards.service import HazardFilters, list_hazards, to_out
from hazard_registry.ledgers import export
from hazard_registry.pagination import encode_cursor
from hazard_registry.statistics import service as stats
from hazard_registry.statistics.service import StatFilters, day_end_utc

CUTOFF = date(2023, 12, 31)

FIGURES = """
    count(*) AS found,
    count(*) FILTER (WHERE closed_at < :end) AS closed,
    count(*) FILTER (WHERE closed_at IS NULL OR closed_at >= :end) AS open,
    count(*) FILTER (WHERE (closed_at IS NULL OR closed_at >= :end) AND deadline_on < :as_of
                     AND state_on IN ('assigned', 'rectifying')) AS overdue,
    count(*) FILTER (WHERE found_at <= :cutoff) AS stock,
    count(*) FILTER (WHERE found_at <= :cutoff AND (closed_at IS NULL OR closed_at >= :end)) AS stock_open,
    count(*) FILTER (WHERE found_at > :cutoff AND (closed_at IS NULL OR closed_at >= :end)) AS increment_open,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN closed_at < :end
        THEN CAST(closed_at + interval '8 hours' AS date) - found_at END) AS p50,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY CASE WHEN closed_at < :end
        THEN CAST(closed_at + interval '8 hours' AS date) - found_at END) AS p90
"""
WHERE = "state_on <> 'rejected' AND found_at <= :as_of"
# The register as it stood at the end of :as_of: a hazard changed since (updated_at, an index range) takes its
# state and deadline from its last event before then.
ON_DAY = """(SELECT h.*, CASE WHEN ev.hazard_id IS NULL THEN h.state ELSE ev.to_state END AS state_on,
        CASE WHEN ev.hazard_id IS NULL THEN h.deadline ELSE ev.deadline_after END AS deadline_on
    FROM hazards h LEFT JOIN (
        SELECT DISTINCT ON (e.hazard_id) e.hazard_id, e.to_state, e.deadline_after FROM hazard_events e
        WHERE e.hazard_id IN (SELECT id FROM hazards WHERE updated_at >= :end) AND e.at < :end
        ORDER BY e.hazard_id, e.seq DESC
    ) ev ON ev.hazard_id = h.id) AS hazards"""


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    fn()  # warm the cache and the plan
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def busiest(engine: Engine, width: int) -> str:
    with engine.connect() as c:
        prefix = c.execute(
            text(f"SELECT substr(region_code, 1, {width}) FROM hazards GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one()
    return prefix + "0" * (6 - width)


def run(engine: Engine) -> dict[str, Any]:
    sm = make_sessionmaker(engine)
    as_of = today_in_china()
    p = {"as_of": as_of, "end": day_end_utc(as_of), "cutoff": CUTOFF}
    year_before = as_of - timedelta(days=365)
    province, prefecture = busiest(engine, 2), busiest(engine, 4)
    plo, phi = region_range(province)
    clo, chi = region_range(prefecture)
    admin_prov = Actor(user_id=None, username="bench", role=Role.admin, region_code=province)
    admin_pref = Actor(user_id=None, username="bench", role=Role.admin, region_code=prefecture)
    results: dict[str, Any] = {"province": province, "prefecture": prefecture}
    with engine.connect() as c:
        results["hazards"] = c.execute(text("SELECT count(*) FROM hazards")).scalar_one()

    def sql(q: str, **extra: Any) -> Callable[[], Any]:
        def go() -> Any:
            with engine.connect() as c:
                return c.execute(text(q), {**p, **extra}).all()

        return go

    def ours(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def go() -> Any:
            with sm() as s:
                return fn(s)

        return go

    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "summary, whole register",
            ours(lambda s: stats.summary(s, SYSTEM, StatFilters(), as_of=as_of, cutoff=CUTOFF)),
            sql(f"SELECT {FIGURES} FROM {ON_DAY} WHERE {WHERE}"),
        ),
        (
            "summary, whole register, as of a year before",
            ours(lambda s: stats.summary(s, SYSTEM, StatFilters(), as_of=year_before, cutoff=CUTOFF)),
            sql(f"SELECT {FIGURES} FROM {ON_DAY} WHERE {WHERE}", as_of=year_before, end=day_end_utc(year_before)),
        ),
        (
            f"breakdown by prefecture of {province}",
            ours(
                lambda s: stats.breakdown(
                    s, admin_prov, StatFilters(region=province), "region", as_of=as_of, cutoff=CUTOFF
                )
            ),
            sql(
                f"SELECT substr(region_code, 1, 4) || '00' AS g, {FIGURES} FROM {ON_DAY} "
                f"WHERE {WHERE} AND region_code >= :lo AND region_code < :hi GROUP BY 1 ORDER BY 1",
                lo=plo,
                hi=phi,
            ),
        ),
        (
            "breakdown by industry, whole register",
            ours(lambda s: stats.breakdown(s, SYSTEM, StatFilters(), "industry", as_of=as_of, cutoff=CUTOFF)),
            sql(f"SELECT industry_code, {FIGURES} FROM {ON_DAY} WHERE {WHERE} GROUP BY 1 ORDER BY 1"),
        ),
        (
            "monthly trend (12 months), whole register",
            ours(lambda s: stats.trend(s, SYSTEM, StatFilters(), as_of=as_of, months=12)),
            sql(
                "SELECT m, sum(f), sum(c) FROM ("
                f" SELECT to_char(found_at, 'YYYY-MM') m, 1 f, 0 c FROM {ON_DAY}"
                f"  WHERE {WHERE} AND found_at >= :first"
                f" UNION ALL SELECT to_char(closed_at + interval '8 hours', 'YYYY-MM'), 0, 1 FROM {ON_DAY}"
                f"  WHERE {WHERE} AND closed_at >= :first_utc AND closed_at < :end) u GROUP BY m",
                first=stats.month_range(as_of, 12)[0],
                first_utc=day_end_utc(date.fromordinal(stats.month_range(as_of, 12)[0].toordinal() - 1)),
            ),
        ),
        (
            f"clearance (动态清零) of {prefecture}",
            ours(lambda s: stats.clearance(s, admin_pref, StatFilters(region=prefecture), as_of=as_of, cutoff=CUTOFF)),
            lambda: [
                sql(
                    f"SELECT {FIGURES} FROM {ON_DAY} WHERE {WHERE} AND region_code >= :lo AND region_code < :hi",
                    lo=clo,
                    hi=chi,
                )(),
                sql(
                    f"SELECT substr(region_code, 1, 6), {FIGURES} FROM {ON_DAY} WHERE {WHERE} "
                    "AND region_code >= :lo AND region_code < :hi GROUP BY 1 ORDER BY 1",
                    lo=clo,
                    hi=chi,
                )(),
                sql(
                    "SELECT h.id, h.number, h.title, h.region_code, h.deadline_on, h.found_at, e.name "
                    f"FROM {ON_DAY.removesuffix('AS hazards')} h "
                    "JOIN enterprises e ON e.id = h.enterprise_id WHERE h.state_on <> 'rejected' "
                    "AND h.found_at <= :as_of AND h.region_code >= :lo AND h.region_code < :hi "
                    "AND (h.closed_at IS NULL OR h.closed_at >= :end) "
                    "AND h.deadline_on < :as_of AND h.state_on IN ('assigned', 'rectifying') "
                    "ORDER BY h.deadline_on, h.id LIMIT 5",
                    lo=clo,
                    hi=chi,
                )(),
            ],
        ),
    ]

    rows = []
    for name, mine, hand in cases:
        t_mine, _ = timed(mine)
        t_hand, _ = timed(hand)
        rows.append({"work": name, "ours_s": t_mine, "hand_s": t_hand, "ratio": t_mine / t_hand})
        print(
            f"{name:48s} ours {t_mine * 1000:9.1f} ms   hand {t_hand * 1000:9.1f} ms   ×{t_mine / t_hand:.2f}",
            flush=True,
        )

    # The hazard list: page 1 and the deepest page of the busiest province, by keyset.
    with engine.connect() as c:
        total = c.execute(
            text("SELECT count(*) FROM hazards WHERE region_code >= :lo AND region_code < :hi"), {"lo": plo, "hi": phi}
        ).scalar_one()
        last_cursor = c.execute(
            text("SELECT id FROM hazards WHERE region_code >= :lo AND region_code < :hi ORDER BY id OFFSET 50 LIMIT 1"),
            {"lo": plo, "hi": phi},
        ).scalar_one()
    deepest = total // 50
    f = HazardFilters()
    page_sql = (
        "SELECT * FROM hazards WHERE region_code >= :lo AND region_code < :hi {cond} ORDER BY id DESC LIMIT 51 {off}"
    )

    def page_of(s: Any, cursor: str | None) -> list[Any]:
        rows, _next = list_hazards(s, admin_prov, f, cursor=cursor, limit=50, today=as_of)
        return [to_out(h, admin_prov, as_of) for h in rows]  # what the route serialises

    pages = [
        (
            "list page 1",
            ours(lambda s: page_of(s, None)),
            sql(page_sql.format(cond="", off=""), lo=plo, hi=phi),
        ),
        (
            f"list page {deepest} (keyset cursor)",
            ours(lambda s: page_of(s, encode_cursor(last_cursor))),
            sql(page_sql.format(cond="AND id < :c", off=""), lo=plo, hi=phi, c=last_cursor),
        ),
        (
            f"  for contrast: page {deepest} by OFFSET (hand only)",
            sql(page_sql.format(cond="", off=f"OFFSET {max(0, total - 50)}"), lo=plo, hi=phi),
            sql(page_sql.format(cond="", off=f"OFFSET {max(0, total - 50)}"), lo=plo, hi=phi),
        ),
    ]
    for name, mine, hand in pages:
        t_mine, _ = timed(mine, repeat=5)
        t_hand, _ = timed(hand, repeat=5)
        rows.append({"work": name, "ours_s": t_mine, "hand_s": t_hand, "ratio": t_mine / t_hand})
        print(
            f"{name:48s} ours {t_mine * 1000:9.1f} ms   hand {t_hand * 1000:9.1f} ms   ×{t_mine / t_hand:.2f}",
            flush=True,
        )
    results["province_rows"] = total
    results["timings"] = rows
    results["export"] = bench_export(engine, sm, as_of, admin_pref, prefecture)
    return results


class Sink:
    """Counts bytes; stands for the socket."""

    def __init__(self) -> None:
        self.n = 0

    def write(self, b: bytes) -> None:
        self.n += len(b)


def our_export(sm: Any, actor: Actor, as_of: date) -> int:
    sink = Sink()
    rows = export.in_own_session(sm, lambda s: export.hazard_rows(s, actor, HazardFilters(), as_of))
    for chunk in export.csv_stream(export.HAZARD_HEADINGS, rows):
        sink.write(chunk)
    return sink.n


def hand_export(engine: Engine, as_of: date, lo: str | None, hi: str | None) -> int:
    """The same columns and joins by raw psycopg: a named (server-side) cursor and csv.writer."""
    sink = Sink()
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor(name="hand_export")
        cur.itersize = 2000
        where = "WHERE h.region_code >= %(lo)s AND h.region_code < %(hi)s" if lo else ""
        states = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in export.STATE_NAMES.items())
        sources = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in export.SOURCE_NAMES.items())
        cur.execute(
            f"SELECT h.number, CASE h.state {states} ELSE h.state END, CASE h.source {sources} ELSE h.source END,"
            " e.name, e.uscc, h.region_code, r.name, h.industry_code, h.sector_code, h.title, h.location,"
            " h.found_at, h.deadline,"
            " CASE WHEN h.state IN ('assigned', 'rectifying') AND h.deadline < %(as_of)s THEN '是' ELSE '否' END,"
            " CASE WHEN h.production_suspended THEN '是' ELSE '否' END,"
            " to_char(h.closed_at + interval '8 hours', 'YYYY-MM-DD HH24:MI')"
            " FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id"
            f" JOIN regions r ON r.code = h.region_code {where} ORDER BY h.id DESC",
            {"as_of": as_of, "lo": lo, "hi": hi},
        )
        buf = io.StringIO()
        w = csv.writer(buf)
        buf.write("\ufeff")
        w.writerow(export.HAZARD_HEADINGS)
        for n, row in enumerate(cur, start=1):
            w.writerow(row)
            if n % 2000 == 0:
                sink.write(buf.getvalue().encode())
                buf.seek(0)
                buf.truncate()
        sink.write(buf.getvalue().encode())
        cur.close()
        raw.commit()
    finally:
        raw.close()
    return sink.n


def peak(fn: Callable[[], Any]) -> tuple[float, int, Any]:
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    took = time.perf_counter() - t0
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return took, top, out


def bench_export(engine: Engine, sm: Any, as_of: date, admin_pref: Actor, prefecture: str) -> dict[str, Any]:
    lo, hi = region_range(prefecture)
    out: dict[str, Any] = {}
    with engine.connect() as c:
        out["prefecture_rows"] = c.execute(
            text("SELECT count(*) FROM hazards WHERE region_code >= :lo AND region_code < :hi"), {"lo": lo, "hi": hi}
        ).scalar_one()
        out["all_rows"] = c.execute(text("SELECT count(*) FROM hazards")).scalar_one()
    t0 = time.perf_counter()
    size = our_export(sm, SYSTEM, as_of)
    out["ours_full_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    hsize = hand_export(engine, as_of, None, None)
    out["hand_full_s"] = time.perf_counter() - t0
    out["bytes"], out["hand_bytes"] = size, hsize
    print(
        f"{'full CSV export (' + str(out['all_rows']) + ' rows)':48s} ours {out['ours_full_s']:9.1f} s    "
        f"hand {out['hand_full_s']:9.1f} s    ×{out['ours_full_s'] / out['hand_full_s']:.2f}   {size / 1e6:.0f} MB",
        flush=True,
    )
    _, small, _ = peak(lambda: our_export(sm, admin_pref, as_of))
    _, big, _ = peak(lambda: our_export(sm, SYSTEM, as_of))
    _, hand_big, _ = peak(lambda: hand_export(engine, as_of, None, None))
    out["peak_prefecture_bytes"], out["peak_full_bytes"], out["peak_hand_full_bytes"] = small, big, hand_big
    print(
        f"export peak Python memory (tracemalloc): {out['prefecture_rows']} rows {small / 2**20:.1f} MiB, "
        f"{out['all_rows']} rows {big / 2**20:.1f} MiB; hand-written {hand_big / 2**20:.1f} MiB",
        flush=True,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--generate", type=int, default=0, help="first generate this many hazards")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    engine = make_engine(args.url)
    if args.generate:
        from benchmarks.generate import generate
        from hazard_registry.migrate import upgrade

        upgrade(args.url)
        took = generate(engine, args.generate)
        print(f"generated {args.generate} hazards in {sum(took.values()):.0f} s", flush=True)
    results = run(engine)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
