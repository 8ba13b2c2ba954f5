"""Time one full escalation sweep (``supervision.engine.run_once``) over a register of N hazards, next to the
same selection written as one hand-written SQL statement on the same data (PostgreSQL).

    python -m benchmarks.bench_escalation --url postgresql+psycopg://… [--generate 1000000] [--now ISO]

Target (issue 3): a sweep within 2× of the hand-written statement.

The generator (``benchmarks/generate.py``) writes hazards but no events and no timers, so the timers are
built here the way ``hazard_changed`` would build them, set-based: one INSERT … SELECT over the hazards in a
watched state × the default rules of that stall, with due days in Chinese working days taken from a
calendar table filled from the service's own ``WorkCalendar``. A sample of hazards is then checked against
``hazard_changed`` itself (inside a rolled-back transaction), so the bench fails loudly if the two drift.

Each timed sweep starts from the same state: measures, their events and the document counters emptied,
every timer unfired, VACUUM ANALYZE. The engine's phases are called by their public names (``run_once``,
``_propose_due``, ``_auto_issue``), so rerunning this script after the engine changes gives the new figures.
Today ``_auto_issue`` issues each measure through the ORM; when issuing them all would take longer than
``--max-issue-minutes`` it is timed on a sample and the full figure is extrapolated, and said so.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from hazard_registry import clock
from hazard_registry.db import make_engine, make_sessionmaker
from hazard_registry.hazards.models import Hazard, HazardEvent
from hazard_registry.supervision import engine as sweep
from hazard_registry.supervision.models import RUNG, STALLS, SupervisionTimer
from hazard_registry.workdays import WorkCalendar

DEFAULT_NOW = "2026-11-24T09:00:00+08:00"  # a Tuesday, the day after the data below was generated
CALENDAR_FROM = date(2018, 1, 1)
PARKED = "bench: parked while the auto-issue is timed on a sample"

# --- the timers, as hazard_changed would build them ----------------------------------------------------------

WATCH = ", ".join(
    f"('{stall.value}', '{state}', '{kind}')" for stall, (states, kind) in STALLS.items() for state in states
)

# The day a hazard entered its state: hazard_changed takes it from the last state-changing event; the
# generator writes no events, and its updated_at is that day (found_at 02:00 UTC), so its China date is used.
TIMERS = f"""
WITH watch(stall, watch_state, target_kind) AS (VALUES {WATCH}),
rules AS (
    SELECT id, stall, threshold, working_days FROM escalation_rules
    WHERE active AND retired_at IS NULL AND region_code IS NULL
),
src AS (
    SELECT h.id AS hazard_id, r.id AS rule_id, r.stall, r.threshold, r.working_days, w.watch_state, w.target_kind,
           CASE r.stall WHEN 'overdue' THEN 'deadline:' || to_char(h.deadline, 'YYYY-MM-DD')
                        WHEN 'verification_failed' THEN 'failed>=' || r.threshold
                        ELSE w.watch_state || '#1' END AS basis,
           CASE r.stall WHEN 'overdue' THEN h.deadline
                        ELSE CAST(h.updated_at + interval '8 hours' AS date) END AS base_on
    FROM hazards h
    JOIN watch w ON w.watch_state = h.state
    JOIN rules r ON r.stall = w.stall
    WHERE (r.stall <> 'overdue' OR h.deadline IS NOT NULL)
      AND (r.stall <> 'verification_failed' OR h.failed_verifications >= r.threshold)
), due AS (
    SELECT s.*,
           CASE WHEN s.stall = 'verification_failed' THEN s.base_on
                WHEN NOT s.working_days THEN s.base_on + s.threshold
                ELSE d.day END AS due_on
    FROM src s
    LEFT JOIN bench_workdays b ON b.day = s.base_on
    LEFT JOIN bench_workdays d ON d.workday AND d.idx = b.idx + s.threshold
)
INSERT INTO supervision_timers (hazard_id, rule_id, basis, watch_state, target_kind, base_on, due_on, missing_year)
SELECT hazard_id, rule_id, basis, watch_state, target_kind, base_on, due_on,
       CASE WHEN due_on IS NOT NULL THEN NULL
            WHEN base_on + 1 > CAST(:last_known AS date) THEN CAST(extract(year FROM base_on + 1) AS integer)
            ELSE CAST(:first_unknown AS integer) END
FROM due
"""


def fill_calendar(conn: Connection, calendar: WorkCalendar) -> tuple[date, date]:
    """A temporary (day, is it a working day, working days so far) table from 2018 to the last year the
    calendar knows: the Nth working day after B is the working day whose index is B's index + N."""
    year = CALENDAR_FROM.year
    while calendar.knows(year + 1):
        year += 1
    last = date(year, 12, 31)
    days, flags, idx, n, day = [], [], [], 0, CALENDAR_FROM
    while day <= last:
        work = calendar.is_workday(day)
        n += work
        days.append(day)
        flags.append(work)
        idx.append(n)
        day += timedelta(days=1)
    conn.execute(text("DROP TABLE IF EXISTS bench_workdays"))
    conn.execute(text("CREATE TEMP TABLE bench_workdays (day date PRIMARY KEY, workday boolean, idx integer)"))
    conn.execute(
        text(
            "INSERT INTO bench_workdays SELECT * FROM unnest(CAST(:d AS date[]), CAST(:w AS boolean[]), "
            "CAST(:i AS integer[]))"
        ),
        {"d": days, "w": flags, "i": idx},
    )
    conn.execute(text("ANALYZE bench_workdays"))
    return CALENDAR_FROM, last


def seed_failed_verifications(conn: Connection) -> int:
    """The generator leaves failed_verifications at 0; one rectifying hazard in 20 gets 1–3 failed
    verifications (a failed verification returns a hazard to rectifying), so the verification_failed stall
    is swept too. Deterministic by id, and only when no hazard has any."""
    if conn.execute(text("SELECT EXISTS (SELECT 1 FROM hazards WHERE failed_verifications > 0)")).scalar_one():
        return 0
    return conn.execute(
        text("UPDATE hazards SET failed_verifications = 1 + id % 3 WHERE state = 'rectifying' AND id % 20 = 7")
    ).rowcount


def build_timers(engine: Engine, sm: sessionmaker[Session]) -> dict[str, Any]:
    with sm() as s:
        calendar = sweep.load_calendar(s)
        regional = s.execute(text("SELECT count(*) FROM escalation_rules WHERE region_code IS NOT NULL")).scalar_one()
    assert regional == 0, "the bench builds timers from the national rules only; this database has regional ones"
    t0 = time.perf_counter()
    with engine.begin() as conn:
        seed_failed_verifications(conn)
        failed = conn.execute(text("SELECT count(*) FROM hazards WHERE failed_verifications > 0")).scalar_one()
        conn.execute(
            text(
                "TRUNCATE notices, supervision_measure_events, supervision_measures, supervision_timers, "
                "enterprise_filings, supervision_document_counters RESTART IDENTITY"
            )
        )
        first, last = fill_calendar(conn, calendar)
        lo = conn.execute(
            text("SELECT min(LEAST(found_at, deadline)) FROM hazards WHERE state NOT IN ('closed', 'rejected')")
        ).scalar_one()
        assert lo is None or lo > first, f"hazards from {lo}: widen CALENDAR_FROM"
        n = conn.execute(text(TIMERS), {"last_known": last, "first_unknown": last.year + 1}).rowcount
        conn.execute(text("DROP TABLE bench_workdays"))
    took = time.perf_counter() - t0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE hazards"))
        conn.execute(text("VACUUM ANALYZE supervision_timers"))
    print(
        f"built {n} timers set-based in {took:.1f} s (calendar {first}–{last}; "
        f"{failed} hazards with failed verifications)",
        flush=True,
    )
    return {"timers": n, "build_s": took, "calendar_last_day": last.isoformat(), "seeded_failed": failed}


def check_timers(sm: sessionmaker[Session], last_known: date, per_state: int = 40) -> dict[str, int]:
    """Rebuild the timers of a sample of hazards with ``hazard_changed`` itself (after giving each the entry
    event the generator did not write) and compare with the set-based ones; everything is rolled back. The
    sample takes hazards of every watched state, some with failed verifications, and some whose deadline is
    in the last 90 days the calendar knows (due days that cross into a year not yet known)."""
    cols = ("rule_id", "basis", "watch_state", "target_kind", "base_on", "due_on", "missing_year")
    checked = {"hazards": 0, "timers": 0, "waiting_for_calendar": 0}
    with sm() as s:
        ids: list[int] = []
        for state in sorted({state for states, _ in STALLS.values() for state in states}):
            ids += s.scalars(
                select(Hazard.id)
                .where(Hazard.state == state)
                .order_by(Hazard.id.op("%")(997), Hazard.id)
                .limit(per_state)
            ).all()
        ids += s.scalars(
            select(Hazard.id).where(Hazard.failed_verifications >= 2).order_by(Hazard.id).limit(per_state)
        ).all()
        ids += s.scalars(
            select(Hazard.id)
            .where(
                Hazard.state == "rectifying",
                Hazard.deadline > last_known - timedelta(days=90),
                Hazard.deadline <= last_known,
            )
            .order_by(Hazard.deadline.desc(), Hazard.id)
            .limit(per_state)
        ).all()
        for hid in sorted(set(ids)):
            t = SupervisionTimer
            mine = {tuple(getattr(r, c) for c in cols) for r in s.scalars(select(t).where(t.hazard_id == hid))}
            hazard = s.get(Hazard, hid)
            assert hazard is not None
            s.add(
                HazardEvent(
                    hazard_id=hid,
                    seq=1,
                    action="bench",
                    from_state=None,
                    to_state=hazard.state,
                    actor_name="bench",
                    actor_role="system",
                    at=hazard.updated_at,
                    data={},
                    prev_hash="0" * 64,
                    hash="0" * 64,
                )
            )
            s.execute(delete(t).where(t.hazard_id == hid))
            s.flush()
            sweep.hazard_changed(s, hazard, hazard.updated_at)
            theirs = {tuple(getattr(r, c) for c in cols) for r in s.scalars(select(t).where(t.hazard_id == hid))}
            if mine != theirs:
                raise AssertionError(f"hazard {hid} ({hazard.state}): bench {sorted(mine)} != engine {sorted(theirs)}")
            checked["hazards"] += 1
            checked["timers"] += len(theirs)
            checked["waiting_for_calendar"] += sum(1 for x in theirs if x[-1] is not None)
        s.rollback()
    return checked


# --- the hand-written statement --------------------------------------------------------------------------------

REASON = " ".join(f"WHEN '{s.value}' THEN '{r}'" for s, r in sweep.STALL_REASONS.items())
RUNGS = " ".join(f"WHEN '{m.value}' THEN {n}" for m, n in RUNG.items())
COLUMNS = """dedup_key, measure, rung, state, stall, target_kind, target_enterprise_id, target_department_id,
    target_region_code, hazard_id, issuer, issuer_department_id, issuer_region_code, sector_code, rule_id,
    rule_version, needs_confirmation, response_days, reason, legal_basis, proposed_at, version"""
HAND_SELECT = f"""
SELECT 'h' || h.id || ':' || r.stall || ':' || t.basis || ':' || r.measure, r.measure,
       CASE r.measure {RUNGS} ELSE 0 END, 'proposed', r.stall, t.target_kind,
       CASE WHEN t.target_kind = 'enterprise' THEN h.enterprise_id END,
       CASE WHEN t.target_kind <> 'enterprise' THEN h.department_id END,
       h.region_code, h.id, r.issuer,
       CASE WHEN r.issuer <> 'higher_level' THEN h.department_id END,
       CASE WHEN r.issuer = 'higher_level' THEN coalesce(g.parent_code, h.region_code) ELSE h.region_code END,
       h.sector_code, r.id, r.version, r.needs_confirmation, r.response_days,
       CASE r.stall {REASON} ELSE '' END || h.number || ' ' || h.title, r.legal_basis, CAST(:now AS timestamp), 1
FROM supervision_timers t
JOIN hazards h ON h.id = t.hazard_id
JOIN escalation_rules r ON r.id = t.rule_id
JOIN regions g ON g.code = h.region_code
WHERE t.fired_at IS NULL AND t.due_on <= :today AND h.state = t.watch_state
"""
HAND_INSERT = f"INSERT INTO supervision_measures ({COLUMNS}) {HAND_SELECT} ON CONFLICT (dedup_key) DO NOTHING"
HAND_FIRE = """
UPDATE supervision_timers t SET fired_at = :now FROM hazards h
WHERE h.id = t.hazard_id AND t.fired_at IS NULL AND t.due_on <= :today AND h.state = t.watch_state
"""


# Issuing by hand, set-based, with the numbers service.issue would give: per authority and year, in id order.
HAND_ISSUE = """
WITH todo AS (
    SELECT m.id,
           CASE WHEN m.issuer_department_id IS NOT NULL THEN 'D' || m.issuer_department_id
                ELSE 'R' || m.issuer_region_code END AS authority,
           CASE WHEN m.issuer_department_id IS NOT NULL THEN coalesce(d.name, '监管部门')
                ELSE coalesce(g.name, m.issuer_region_code) || '安委办' END AS aname
    FROM supervision_measures m
    LEFT JOIN departments d ON d.id = m.issuer_department_id
    LEFT JOIN regions g ON g.code = m.issuer_region_code
    WHERE m.state = 'proposed' AND NOT m.needs_confirmation
), numbered AS (
    SELECT todo.*, row_number() OVER (PARTITION BY authority ORDER BY id) AS k,
           count(*) OVER (PARTITION BY authority) AS cnt
    FROM todo
), counters AS (
    INSERT INTO supervision_document_counters (authority, year, last)
    SELECT authority, :year, count(*) FROM todo GROUP BY authority
    ON CONFLICT (authority, year) DO UPDATE SET last = supervision_document_counters.last + excluded.last
    RETURNING authority, last
), issued AS (
    UPDATE supervision_measures m
    SET state = 'issued', issued_at = :now, issued_by_id = NULL,
        document_number = n.aname || '督〔' || :year || '〕' || (c.last - n.cnt + n.k) || '号',
        response_due = CAST(:today AS date) + m.response_days, version = m.version + 1
    FROM numbered n JOIN counters c ON c.authority = n.authority
    WHERE m.id = n.id
    RETURNING m.id, m.document_number, m.chain_seq, m.chain_head
)
-- The events are chained like the service's (seq, link to the previous head); the hand version stands in a
-- digest of the row for the canonical-JSON hash, so it does a little less than the service.
INSERT INTO supervision_measure_events (measure_id, seq, action, actor_id, actor_name, at, note, data, prev_hash, hash)
SELECT id, chain_seq + 1, 'issue', NULL, 'system', :now, document_number, CAST('{}' AS json),
       coalesce(chain_head, repeat('0', 64)),
       encode(sha256(convert_to(id || ':' || document_number || ':' || coalesce(chain_head, ''), 'UTF8')), 'hex')
FROM issued
"""
# Which measure gets which document number follows the measures' ids, i.e. the order the INSERT … SELECT
# happened to produce its rows in (it differs between plans), so numbers are compared as a set, and each
# measure's event must carry its measure's number; every other column is compared measure by measure.
FINGERPRINT = f"""
SELECT count(*),
       md5(string_agg(CAST(ROW({COLUMNS}, issued_at, issued_by_id, response_due, m.version,
                               document_number IS NOT NULL) AS text), '|' ORDER BY dedup_key)),
       count(*) FILTER (WHERE state = 'issued'),
       (SELECT count(*) FROM supervision_timers WHERE fired_at IS NOT NULL),
       md5(string_agg(document_number, '|' ORDER BY document_number)),
       (SELECT md5(string_agg(CAST(ROW(x.dedup_key, e.action, e.actor_id, e.actor_name, e.at,
                                       e.note = x.document_number, CAST(e.data AS text)) AS text),
                              '|' ORDER BY x.dedup_key, e.id))
        FROM supervision_measure_events e JOIN supervision_measures x ON x.id = e.measure_id
        WHERE x.hazard_id IS NOT NULL)
FROM supervision_measures m
WHERE m.hazard_id IS NOT NULL  -- the hand-written sweep covers hazard stalls; regions etc. are run_once's own
"""


def params(now: datetime) -> dict[str, Any]:
    today = clock.today_in_china(now)
    return {"now": now.astimezone(UTC).replace(tzinfo=None), "today": today, "year": today.year}


def hand_select(engine: Engine, now: datetime) -> int:
    """The selection alone, its rows shipped to the client."""
    with engine.connect() as c:
        return len(c.execute(text(HAND_SELECT), params(now)).all())


def hand_propose(engine: Engine, now: datetime, *, rollback: bool = False, issue: bool = False) -> int:
    """What ``_propose_due`` does, by hand: INSERT … SELECT … ON CONFLICT DO NOTHING, then the UPDATE marking
    the timers fired, in one transaction (and, with ``issue``, the set-based issue too)."""
    with engine.connect() as c:
        n = c.execute(text(HAND_INSERT), params(now)).rowcount
        c.execute(text(HAND_FIRE), params(now))
        if issue:
            c.execute(text(HAND_ISSUE), params(now))
        if rollback:
            c.rollback()
        else:
            c.commit()
    return n


def hand_issue(engine: Engine, now: datetime) -> int:
    """What ``_auto_issue`` does, by hand and set-based: document numbers, states, one event each."""
    with engine.begin() as c:
        return c.execute(text(HAND_ISSUE), params(now)).rowcount


def fingerprint(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as c:
        return tuple(c.execute(text(FINGERPRINT)).one())


def vacuum(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        for table in (
            "supervision_timers",
            "supervision_measures",
            "supervision_measure_events",
            "supervision_document_counters",
        ):
            c.execute(text(f"VACUUM ANALYZE {table}"))


def reset(engine: Engine) -> None:
    """Back to the state before any sweep: no measures, no events, no document numbers, no timer fired."""
    with engine.begin() as c:
        c.execute(
            text(
                "TRUNCATE notices, supervision_measure_events, supervision_measures, supervision_document_counters, "
                "enterprise_filings "
                "RESTART IDENTITY"
            )
        )
        c.execute(text("UPDATE supervision_timers SET fired_at = NULL WHERE fired_at IS NOT NULL"))
        c.execute(text(SHARED_NAMES), {"years": list(SEED_YEARS)})
    vacuum(engine)


# service.issue numbers documents per authority (D<department id>, R<region code>) but writes only its name
# ("…应急管理局督〔2026〕1号"), and document_number is unique: two authorities of the same name (鼓楼区 is a
# county of four prefectures, 重庆市 names two prefecture-level regions) give the same number, the flush fails
# and the sweep stops. Until the engine tells them apart, the bench starts the counter of every authority but
# the first of a name at 100,000 × its rank, so their numbers cannot meet.
SEED_YEARS: list[int] = []
SHARED_NAMES = """
INSERT INTO supervision_document_counters (authority, year, last)
SELECT authority, y, (rank - 1) * 100000
FROM (
    SELECT authority, row_number() OVER (PARTITION BY name ORDER BY authority) AS rank
    FROM (SELECT 'D' || id AS authority, name FROM departments
          UNION ALL SELECT 'R' || code, name || '安委办' FROM regions) a
) x, unnest(CAST(:years AS integer[])) y
WHERE rank > 1
"""


def park(engine: Engine, keep: int) -> int:
    """Leave ``keep`` of the auto-issued proposals (evenly spread by id) for ``_auto_issue``; park the rest as
    withdrawn, which no sweep touches. Returns how many are left."""
    with engine.begin() as c:
        total = c.execute(
            text("SELECT count(*) FROM supervision_measures WHERE state = 'proposed' AND NOT needs_confirmation")
        ).scalar_one()
        step = max(1, total // keep)
        c.execute(
            text(
                "UPDATE supervision_measures m SET state = 'withdrawn', withdrawn_reason = :p FROM ("
                " SELECT id, row_number() OVER (ORDER BY id) AS rn FROM supervision_measures"
                " WHERE state = 'proposed' AND NOT needs_confirmation) x"
                " WHERE m.id = x.id AND (x.rn % :step <> 0 OR x.rn / :step > :keep)"
            ),
            {"p": PARKED, "step": step, "keep": keep},
        )
        return c.execute(
            text("SELECT count(*) FROM supervision_measures WHERE state = 'proposed' AND NOT needs_confirmation")
        ).scalar_one()


def count_auto(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(
            text("SELECT count(*) FROM supervision_measures WHERE state = 'proposed' AND NOT needs_confirmation")
        ).scalar_one()


def clocked(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def propose_phase(sm: sessionmaker[Session], now: datetime) -> int:
    """``run_once``'s first step exactly: ``_propose_due`` in its own session, committed."""
    with sm() as s:
        n = sweep._propose_due(s, now)
        s.commit()
    return n


def next_working_day(sm: sessionmaker[Session], now: datetime) -> datetime:
    with sm() as s:
        calendar = sweep.load_calendar(s)
    day = calendar.add_working_days(clock.today_in_china(now), 1)
    return datetime.combine(day, clock_time(9), clock.CHINA)


# --- the run -------------------------------------------------------------------------------------------------


def describe(engine: Engine, now: datetime) -> dict[str, Any]:
    p = params(now)
    with engine.connect() as c:
        out = dict(
            c.execute(
                text(
                    "SELECT count(*) AS timers, count(*) FILTER (WHERE due_on <= :today) AS due,"
                    " count(*) FILTER (WHERE due_on IS NULL) AS waiting_for_calendar,"
                    " count(DISTINCT hazard_id) AS hazards_watched FROM supervision_timers"
                ),
                p,
            )
            .one()
            ._mapping
        )
        out["hazards"] = c.execute(text("SELECT count(*) FROM hazards")).scalar_one()
        out["found_after_now"] = c.execute(text("SELECT count(*) FROM hazards WHERE found_at > :today"), p).scalar_one()
        out["due_by_stall"] = dict(
            c.execute(
                text(
                    "SELECT r.stall, count(*) FROM supervision_timers t JOIN escalation_rules r ON r.id = t.rule_id"
                    " WHERE t.due_on <= :today GROUP BY 1 ORDER BY 1"
                ),
                p,
            ).all()
        )
    return out


class Table:
    """Rows of figure, seconds per run, rows, and the ratio to a hand-written figure."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, name: str, seconds: float, rows: Any, vs: str | None = None, note: str = "") -> None:
        row = self.rows.setdefault(name, {"work": name, "runs_s": [], "rows": rows, "vs": vs, "note": note})
        row["runs_s"].append(seconds)
        row["rows"] = rows
        ratio = ""
        if vs and vs in self.rows and len(self.rows[vs]["runs_s"]) >= len(row["runs_s"]):
            ratio = f"×{seconds / self.rows[vs]['runs_s'][len(row['runs_s']) - 1]:.2f} of «{vs}»"
        print(f"  {name:58s} {seconds * 1000:11.1f} ms  {rows!s:>9}  {ratio} {note}", flush=True)

    def summary(self) -> list[dict[str, Any]]:
        out = []
        for row in self.rows.values():
            vs = self.rows.get(row["vs"]) if row["vs"] else None
            ratios = [a / b for a, b in zip(row["runs_s"], vs["runs_s"], strict=False)] if vs else []
            out.append({**row, "ratios": ratios})
        return out

    def print(self) -> None:
        print(f"\n{'figure':58s} {'ms (each run)':>24s} {'rows':>9s}  ratio")
        for row in self.summary():
            ms = " / ".join(f"{s * 1000:.0f}" for s in row["runs_s"])
            ratio = " / ".join(f"{r:.2f}" for r in row["ratios"])
            vs = f" of «{row['vs']}»" if row["vs"] else ""
            print(f"{row['work']:58s} {ms:>24s} {row['rows']!s:>9}  {ratio}{vs} {row['note']}")


def run(
    engine: Engine, now: datetime, *, repeat: int = 2, sample: int = 2000, max_issue_minutes: float = 15.0
) -> dict[str, Any]:
    sm = make_sessionmaker(engine)
    results: dict[str, Any] = {"now": now.isoformat()}
    SEED_YEARS[:] = sorted({clock.today_in_china(now).year, clock.today_in_china(next_working_day(sm, now)).year})
    results["timers"] = build_timers(engine, sm)
    results["checked_against_hazard_changed"] = checked = check_timers(
        sm, date.fromisoformat(results["timers"]["calendar_last_day"])
    )
    print(
        f"the timers of {checked['hazards']} sampled hazards ({checked['timers']} timers, "
        f"{checked['waiting_for_calendar']} waiting for a holiday table) are those hazard_changed builds",
        flush=True,
    )
    results["data"] = data = describe(engine, now)
    print(f"data at {now.isoformat()}: {data}", flush=True)
    if data["found_after_now"]:
        print(f"  note: {data['found_after_now']} hazards are found after --now; their timers are not due", flush=True)

    # Warm the cache and the plans, and learn the rate of the auto-issue on a sample.
    reset(engine)
    hand_select(engine, now)
    proposed = propose_phase(sm, now)
    auto = count_auto(engine)
    left = park(engine, min(sample, auto)) if auto else 0
    t_sample, issued = clocked(lambda: sweep._auto_issue(sm, now))
    assert issued == left, (issued, left)
    rate = t_sample / max(1, left)
    estimate = rate * auto
    full = estimate <= max_issue_minutes * 60
    results["auto_issue"] = {
        "auto": auto,
        "sample": left,
        "sample_s": t_sample,
        "per_row_ms": rate * 1000,
        "estimate_full_s": estimate,
        "timed_in_full": full,
    }
    print(
        f"warm-up: {proposed} proposed, {auto} to issue automatically; a sample of {left} issued in "
        f"{t_sample:.2f} s ({rate * 1000:.2f} ms a row) → all {auto} ≈ {estimate:.0f} s: "
        + ("timed in full" if full else f"over {max_issue_minutes:g} min, timed on the sample and extrapolated"),
        flush=True,
    )
    reset(engine)

    table = Table()
    prints: dict[str, tuple[Any, ...]] = {}
    for i in range(1, repeat + 1):
        print(f"run {i}", flush=True)
        t, n = clocked(lambda: hand_select(engine, now))
        table.add("hand: SELECT of the due pairs (rows to the client)", t, n)
        t, n = clocked(lambda: hand_propose(engine, now))
        table.add("hand: INSERT … SELECT ON CONFLICT + UPDATE fired", t, n)
        t, n = clocked(lambda: hand_issue(engine, now))
        table.add("hand: issue the automatic ones (set-based)", t, n)
        prints["hand"] = fingerprint(engine)
        hand_total = sum(
            table.rows[k]["runs_s"][-1]
            for k in ("hand: INSERT … SELECT ON CONFLICT + UPDATE fired", "hand: issue the automatic ones (set-based)")
        )
        table.add("hand: whole sweep (propose + issue)", hand_total, f"{prints['hand'][0]}+{prints['hand'][2]}")
        reset(engine)

        t, n = clocked(lambda: propose_phase(sm, now))
        table.add("ours: _propose_due (+ commit)", t, n, vs="hand: INSERT … SELECT ON CONFLICT + UPDATE fired")
        propose_s = t
        mine = fingerprint(engine)
        assert mine[0] == prints["hand"][0] and mine[3] == prints["hand"][3], (mine, prints["hand"])
        with engine.connect() as c:
            same = c.execute(
                text(
                    f"SELECT md5(string_agg(CAST(ROW({COLUMNS}) AS text), '|' ORDER BY dedup_key)) "
                    "FROM supervision_measures"
                )
            ).scalar_one()
        prints["ours_proposed"] = (mine[0], same)
        if full:
            t, n = clocked(lambda: sweep._auto_issue(sm, now))
            table.add("ours: _auto_issue", t, n, vs="hand: issue the automatic ones (set-based)")
            prints["ours_phases"] = fingerprint(engine)
            reset(engine)
            t, res = clocked(lambda: sweep.run_once(sm, now))
            table.add(
                "ours: run_once (whole sweep)",
                t,
                f"{res.proposed}+{res.issued}",
                vs="hand: whole sweep (propose + issue)",
            )
            prints["ours_run_once"] = fingerprint(engine)
        else:
            left = park(engine, min(sample, auto))
            t, n = clocked(lambda: sweep._auto_issue(sm, now))
            table.add(f"ours: _auto_issue, sample of {left}", t, n)
            per_row = t / max(1, left)
            table.add(
                f"ours: _auto_issue, all {auto} (extrapolated)",
                per_row * auto,
                auto,
                vs="hand: issue the automatic ones (set-based)",
                note="ESTIMATE",
            )
            table.add(
                "ours: run_once (propose + extrapolated issue)",
                propose_s + per_row * auto,
                f"{proposed}+{auto}",
                vs="hand: whole sweep (propose + issue)",
                note="ESTIMATE",
            )
        table.add(
            "  same run_once vs the hand SELECT alone (the issue's target)",
            table.rows["ours: run_once (whole sweep)" if full else "ours: run_once (propose + extrapolated issue)"][
                "runs_s"
            ][-1],
            "",
            vs="hand: SELECT of the due pairs (rows to the client)",
        )
        reset(engine)

    # Identical output: the same proposals (every column); when issued in full, the same numbers and events.
    hand_propose(engine, now)
    with engine.connect() as c:
        hand_same = c.execute(
            text(
                f"SELECT md5(string_agg(CAST(ROW({COLUMNS}) AS text), '|' ORDER BY dedup_key)) "
                "FROM supervision_measures"
            )
        ).scalar_one()
    reset(engine)
    results["same_proposals"] = prints["ours_proposed"][1] == hand_same
    results["same_after_issue"] = (
        prints.get("ours_phases") == prints["hand"] and prints.get("ours_run_once") == prints["hand"] if full else None
    )
    print(
        f"proposals identical to the hand-written statement's: {results['same_proposals']} "
        f"({prints['ours_proposed'][0]} rows); issued measures, numbers and events identical: "
        f"{results['same_after_issue'] if full else 'not compared (auto-issue sampled)'}",
        flush=True,
    )

    # Steady state: the next working day only the newly due fire; then a rerun with nothing to do.
    later = next_working_day(sm, now)
    for i in range(1, repeat + 1):
        print(f"steady state {i}: first sweep at {now.isoformat()}, then {later.isoformat()}", flush=True)
        reset(engine)
        # The first sweep: our propose, then the set-based hand issue, which writes the same numbers and events
        # as _auto_issue (checked above when it ran in full) in a fraction of the time.
        propose_phase(sm, now)
        hand_issue(engine, now)
        vacuum(engine)
        t, n = clocked(lambda: hand_propose(engine, later, rollback=True, issue=True))
        table.add("hand: next working day, propose + issue (rolled back)", t, n)
        vacuum(engine)
        t, res = clocked(lambda: sweep.run_once(sm, later))
        table.add(
            "ours: run_once next working day",
            t,
            f"{res.proposed}+{res.issued}",
            vs="hand: next working day, propose + issue (rolled back)",
        )
        t, n = clocked(lambda: hand_propose(engine, later, rollback=True, issue=True))
        table.add("hand: no-op rerun, propose + issue", t, n)
        t, res = clocked(lambda: sweep.run_once(sm, later))
        table.add(
            "ours: run_once no-op rerun", t, f"{res.proposed}+{res.issued}", vs="hand: no-op rerun, propose + issue"
        )
        results["waiting_for_calendar"] = res.waiting_for_calendar
    reset(engine)
    table.print()
    results["timings"] = table.summary()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of a PostgreSQL database")
    ap.add_argument(
        "--generate",
        type=int,
        default=1_000_000,
        help="hazards wanted; generated (replacing the register) when there are fewer",
    )
    ap.add_argument("--now", default=DEFAULT_NOW, help=f"the sweep's now, ISO 8601 with offset (default {DEFAULT_NOW})")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each figure")
    ap.add_argument("--sample", type=int, default=2000, help="auto-issued measures timed when not timed in full")
    ap.add_argument(
        "--max-issue-minutes",
        type=float,
        default=15.0,
        help="time the auto-issue in full only if all of it is estimated to take less",
    )
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    now = datetime.fromisoformat(args.now)
    assert now.tzinfo is not None, "--now needs an offset, e.g. +08:00"
    from hazard_registry.migrate import upgrade

    upgrade(args.url)
    engine = make_engine(args.url)
    assert engine.dialect.name == "postgresql", "the bench is for PostgreSQL"
    with engine.connect() as c:
        have = c.execute(text("SELECT count(*) FROM hazards")).scalar_one()
    generated = None
    if have < args.generate:
        from benchmarks.generate import generate

        t0 = time.perf_counter()
        generate(engine, args.generate)
        generated = time.perf_counter() - t0
        print(f"generated {args.generate} hazards in {generated:.0f} s", flush=True)
    else:
        print(f"using the {have} hazards already there", flush=True)
    results = run(engine, now, repeat=args.repeat, sample=args.sample, max_issue_minutes=args.max_issue_minutes)
    results["generate_s"] = generated
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
