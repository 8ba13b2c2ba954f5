"""Time the console's pages next to the API calls behind them, on a big register (PostgreSQL).

    python -m benchmarks.bench_console --url postgresql+psycopg://… [--generate 1000000] [--repeat 5]

Target (issue 15): the hazard list and a regulator's home page render in about the time of the API call(s)
behind them. Both go through the whole app in process (ASGI, middleware, session cookie or bearer token),
so the difference is the page's own work: the session, the template, the names and filter choices.

- list: ``GET /hazards`` (first page, 50 rows) vs ``GET /api/v1/hazards?limit=50``; and a deep page by the
  same keyset cursor;
- home: ``GET /`` vs the API calls that give the same figures: statistics summary, clearance, trend,
  breakdown by region and by sector, activity, plus the hazard list filtered to the states where the
  regulator has an action (what the workbench's "waiting for me" reads).

Users: the bureau of the busiest county (from ``benchmarks/generate.py``: one bureau per county, ``B-<code>``)
gets a regulator ``bench-officer``; the busiest province an administrator ``bench-admin`` (the heaviest
figures, no waiting list). Created once, password ``bench-pass-2026``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from tests.statements import count_statements

from hazard_registry.auth.models import User
from hazard_registry.auth.principal import SYSTEM
from hazard_registry.auth.schemas import UserCreate
from hazard_registry.auth.service import create_user
from hazard_registry.config import Settings
from hazard_registry.main import create_app
from hazard_registry.migrate import upgrade

PASSWORD = "bench-pass-2026"


CPU: dict[int, float] = {}  # id(fn) → its median CPU seconds (this process, every thread): Python's own work


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall seconds of ``fn``; its median CPU seconds go to ``CPU`` (on a shared machine the wall time is
    mostly waiting for a core, the CPU time is what the code costs)."""
    fn()  # warm the caches and the plans
    runs, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    CPU[id(fn)] = statistics.median(cpu)
    return statistics.median(runs)


def busiest(engine: Any, width: int) -> str:
    with engine.connect() as conn:
        prefix = conn.execute(
            text(f"SELECT substr(region_code, 1, {width}) AS p FROM hazards GROUP BY p ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one()
    return prefix + "0" * (6 - width)


def ensure_users(app: Any, county: str, province: str) -> None:
    with app.state.sessionmaker() as session:
        if session.scalar(select(User.id).where(User.username == "bench-officer")) is None:
            create_user(
                session,
                SYSTEM,
                UserCreate(
                    username="bench-officer", password=PASSWORD, role="regulator", department_code=f"B-{county}"
                ),
            )
            create_user(
                session,
                SYSTEM,
                UserCreate(username="bench-admin", password=PASSWORD, role="admin", region_code=province),
            )
            session.commit()


def console_client(app: Any, username: str) -> TestClient:
    c = TestClient(app)
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    r = c.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return c


def api_headers(c: TestClient, username: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def ok(r: Any) -> Any:
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r


def statements(app: Any, calls: list[Callable[[], Any]]) -> int:
    """SQL statements one warm round of ``calls`` sends (tests/statements.py, as the budget tests count)."""
    with count_statements(app) as sql:
        for call in calls:
            call()
    return len(sql)


def compare(app: Any, name: str, page: Callable[[], Any], api: list[Callable[[], Any]], repeat: int) -> dict[str, Any]:
    t_page = timed(page, repeat)
    c_page = CPU[id(page)]
    t_api = sum(timed(call, repeat) for call in api)
    c_api = sum(CPU[id(call)] for call in api)
    n_page, n_api = statements(app, [page]), statements(app, api)
    print(
        f"{name:44s} page {t_page * 1000:8.1f} ms  api {t_api * 1000:8.1f} ms  ×{t_page / t_api:.2f}"
        f"  CPU {c_page * 1000:7.1f} / {c_api * 1000:7.1f} ms  statements {n_page} / {n_api}",
        flush=True,
    )
    return {"work": name, "page_s": t_page, "api_s": t_api, "ratio": t_page / t_api, "page_cpu_s": c_page,
            "api_cpu_s": c_api, "statements": [n_page, n_api]}  # fmt: skip


def bench_user(app: Any, api: TestClient, user: str, repeat: int) -> list[dict[str, Any]]:
    page = console_client(app, user)
    h = api_headers(api, user)
    rows = [
        compare(
            app,
            f"{user}: hazard list, first page",
            lambda: ok(page.get("/hazards")),
            [lambda: ok(api.get("/api/v1/hazards", params={"limit": 50}, headers=h))],
            repeat,
        )
    ]
    cursor = None
    for _ in range(20):  # the 21st page, by the cursor the pages hand out
        params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        cursor = ok(api.get("/api/v1/hazards", params=params, headers=h)).json()["next_cursor"] or cursor
    rows.append(
        compare(
            app,
            f"{user}: hazard list, page 21 (keyset)",
            lambda: ok(page.get("/hazards", params={"cursor": cursor})),
            [lambda: ok(api.get("/api/v1/hazards", params={"limit": 50, "cursor": cursor}, headers=h))],
            repeat,
        )
    )
    rare = {"state": "verification_requested"}
    rows.append(
        compare(
            app,
            f"{user}: hazard list, a rare state",
            lambda: ok(page.get("/hazards", params=rare)),
            [lambda: ok(api.get("/api/v1/hazards", params={"limit": 50, **rare}, headers=h))],
            repeat,
        )
    )
    calls = [lambda p=p: ok(api.get(f"/api/v1/statistics/{p}", headers=h)) for p in ("summary", "clearance", "trend")]
    calls.append(lambda: ok(api.get("/api/v1/statistics/activity", headers=h)))
    calls += [
        lambda by=by: ok(api.get("/api/v1/statistics/breakdown", params={"by": by}, headers=h))
        for by in ("region", "sector")
    ]
    if user == "bench-officer":
        waiting = {"state": ["reported", "verification_requested"], "limit": 15}
        calls.append(lambda: ok(api.get("/api/v1/hazards", params=waiting, headers=h)))
    rows.append(compare(app, f"{user}: home (工作台)", lambda: ok(page.get("/")), calls, repeat))
    page.close()
    return rows


def run(url: str, repeat: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-console-"))
    settings = Settings(database_url=url, data_dir=data_dir, jwt_secret="bench-" + "x" * 40, serve_sweep="off")
    app = create_app(settings)
    county, province = busiest(app.state.engine, 6), busiest(app.state.engine, 2)
    ensure_users(app, county, province)
    with app.state.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM hazards")).scalar_one()
        in_county = conn.execute(
            text("SELECT count(*) FROM hazards WHERE region_code = :c"), {"c": county}
        ).scalar_one()
    out: dict[str, Any] = {"hazards": n, "county": county, "county_hazards": in_county, "province": province}
    rows = []

    with TestClient(app) as api:
        for user in ("bench-officer", "bench-admin"):
            rows += bench_user(app, api, user, repeat)
    out["timings"] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of a PostgreSQL database")
    ap.add_argument("--generate", type=int, default=0, help="first fill the register with N hazards")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    upgrade(args.url)
    if args.generate:
        from benchmarks.generate import generate
        from hazard_registry.db import make_engine

        engine = make_engine(args.url)
        took = generate(engine, args.generate)
        print(f"generated {args.generate} hazards in {sum(took.values()):.1f}s", flush=True)
        engine.dispose()
    print(json.dumps(run(args.url, args.repeat), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
