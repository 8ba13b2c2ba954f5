"""Reports from one county at 32 concurrent clients, served by 1 and then 2 workers (PostgreSQL).

    python -m benchmarks.bench_county --url postgresql+psycopg://… [--workers 1,2] [--duration 10] [--conc 32]

Every report of a county takes the next number of that county's register (``hazard_counters``). If its
counter row stayed locked until the report committed, a county's reports would run one at a time whatever
the number of workers; the counter is bumped in its own short transaction, so they do not. This runs
``hazard-registry serve`` (access log off, no sweep) with each worker count against the given database, drives
``POST /api/v1/hazards`` with wrk from 20 enterprise users of the county with the most enterprises, and prints
req/s, latency, the app's CPU per request, and whether the county's numbers stayed unique.
Needs ``wrk``; the register must exist (``benchmarks/generate.py``). Users ``bench-county-<i>`` are made once.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select, text

from hazard_registry import clock
from hazard_registry.auth.models import User
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.auth.schemas import UserCreate
from hazard_registry.auth.security import issue_token
from hazard_registry.auth.service import create_user
from hazard_registry.db import make_engine, make_sessionmaker

LUA = """
local tokens = {%(tokens)s}
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"clause_id":%(clause)d,"title":"county bench %%d","description":"one county, many ' ..
    'clients","location":"workshop","found_at":"%(found)s"}', n)
  return wrk.format("POST", "/api/v1/hazards", {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1],
    ["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%%d non2xx=%%d errors=%%d p50=%%.2f p99=%%.2f\\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and every process below it."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [p for p, pp in parents.items() if pp == pid]
    return total


def prepare(url: str, secret: str, users: int) -> tuple[str, int, list[str]]:
    engine = make_engine(url)
    with engine.begin() as c:
        county = c.execute(
            text("SELECT region_code FROM enterprises GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        ).scalar_one()
        usccs = c.execute(
            text("SELECT uscc FROM enterprises WHERE region_code = :c ORDER BY id LIMIT :k"), {"c": county, "k": users}
        ).scalars()
        usccs = list(usccs)
        clause = c.execute(
            text(
                "SELECT sc.id FROM standard_clauses sc JOIN standards s ON s.id = sc.standard_id "
                "WHERE s.effective_from <= CURRENT_DATE - 10 AND (s.effective_to IS NULL "
                "OR s.effective_to > CURRENT_DATE) ORDER BY sc.id LIMIT 1"
            )
        ).scalar_one()
    tokens = []
    with make_sessionmaker(engine)() as s:
        for i, uscc in enumerate(usccs):
            name = f"bench-county-{i}"
            user = s.scalar(select(User).where(User.username == name))
            if user is None:
                data = UserCreate(username=name, password="bench-pass-2026", role="enterprise", enterprise_uscc=uscc)
                user = create_user(s, SYSTEM, data)
                s.commit()
            tokens.append(
                issue_token(
                    user_id=user.id,
                    generation=user.token_generation,
                    role=user.role,
                    secret=secret,
                    now=datetime.now(UTC),
                    ttl=timedelta(hours=2),
                )
            )
    engine.dispose()
    return county, clause, tokens


def run(url: str, secret: str, workers: int, script: Path, duration: int, conc: int) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "HAZARD_DATABASE_URL": url,
        "HAZARD_JWT_SECRET": secret,
        "HAZARD_ACCESS_LOG": "false",
        "HAZARD_SERVE_SWEEP": "off",
        "HAZARD_DATA_DIR": tempfile.mkdtemp(prefix="bench-county-"),
    }
    exe = Path(sys.executable).with_name("hazard-registry")
    cmd = [str(exe), "serve", "--no-migrate", "--workers", str(workers), "--port", str(port)]
    serve = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit(f"serve --workers {workers} did not answer /healthz")
        time.sleep(2 * workers)  # every worker up, so the load spreads over all of them
        wrk = ["wrk", "-t1", f"-c{conc}", "--timeout", "10s", "-s", str(script), base]
        subprocess.run([*wrk[:1], "-d2s", *wrk[1:]], capture_output=True, check=True)  # warm-up
        cpu0, t0 = tree_cpu_seconds(serve.pid), time.perf_counter()
        out = subprocess.run([*wrk[:1], f"-d{duration}s", *wrk[1:]], capture_output=True, text=True, check=True)
        cpu, wall = tree_cpu_seconds(serve.pid) - cpu0, time.perf_counter() - t0
    finally:
        os.killpg(serve.pid, 15)
        serve.wait(30)
    m = re.search(r"RESULT requests=(\d+) non2xx=(\d+) errors=(\d+) p50=([\d.]+) p99=([\d.]+)", out.stdout)
    assert m, out.stdout + out.stderr
    requests, non2xx, errors = int(m[1]), int(m[2]), int(m[3])
    ok = requests - non2xx
    return {
        "workers": workers,
        "req_s": ok / wall,
        "p50": float(m[4]),
        "p99": float(m[5]),
        "cpu_ms": 1000 * cpu / max(ok, 1),
        "app_cores": cpu / wall,
        "bad": non2xx + errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conc", type=int, default=32)
    ap.add_argument("--users", type=int, default=20)
    args = ap.parse_args()
    secret = os.environ.get("HAZARD_JWT_SECRET") or secrets.token_hex(32)
    county, clause, tokens = prepare(args.url, secret, args.users)
    found = (clock.today_in_china() - timedelta(days=2)).isoformat()
    script = Path(tempfile.mkdtemp(prefix="bench-county-")) / "county.lua"
    script.write_text(LUA % {"tokens": ",".join(f'"{t}"' for t in tokens), "clause": clause, "found": found})
    print(f"county {county}, {len(tokens)} enterprise users, clause {clause}, wrk -c{args.conc} {args.duration}s")
    print("| workers | reports/s | p50 ms | p99 ms | app CPU ms/report | app cores | non-2xx + errors |")
    print("|---|---|---|---|---|---|---|")
    for w in (int(x) for x in args.workers.split(",")):
        r = run(args.url, secret, w, script, args.duration, args.conc)
        print(
            f"| {w} | {r['req_s']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['cpu_ms']:.2f} | "
            f"{r['app_cores']:.2f} | {r['bad']} |",
            flush=True,
        )
    engine = make_engine(args.url)
    with engine.connect() as c:
        total, distinct = c.execute(
            text("SELECT count(*), count(DISTINCT number) FROM hazards WHERE region_code = :c"), {"c": county}
        ).one()
    engine.dispose()
    print(f"county {county}: {total} hazards, {distinct} distinct numbers")


if __name__ == "__main__":
    main()
