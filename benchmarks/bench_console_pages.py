"""Time the console's 督办 and 举报处理 pages next to the API calls behind them, on the same data, in one process.

    python -m benchmarks.bench_console_pages [--url postgresql+psycopg://…/fresh_db] [--rows 20000]

Without --url a temporary SQLite file is used. The database must be empty: the test world (two districts,
their departments, enterprises and users) is made in it, then ``--rows`` measures and complaints in the scope
of one district officer. Target (issue 15): a page renders in about the time of the API call behind it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert
from tests.factories import PASSWORD, make_world

from hazard_registry import clock
from hazard_registry.complaints.models import Complaint
from hazard_registry.config import Settings
from hazard_registry.main import create_app
from hazard_registry.migrate import upgrade
from hazard_registry.supervision.models import SupervisionMeasure


def _fill(app, rows: int) -> None:
    with app.state.sessionmaker() as s:
        w = make_world(s)
        s.commit()
        now, dept = clock.now(), w.ids["T-NS-YJ"]
        measures = [
            {"dedup_key": f"bench{i}", "measure": "warning_letter", "rung": 1, "state": ("proposed", "issued")[i % 2],
             "stall": "not_started", "target_kind": "enterprise", "target_enterprise_id": w.ids["chem"],
             "target_region_code": "440305", "issuer": "lead_department", "issuer_department_id": dept,
             "issuer_region_code": "440305", "sector_code": "hazardous_chemicals", "reason": "基准测试",
             "proposed_at": now, "needs_confirmation": True, "response_days": 10, "version": 1}
            for i in range(rows)
        ]  # fmt: skip
        complaints = [
            {"receipt_hash": f"bench{i}", "channel": "web", "state": "received", "region_code": "440305",
             "sector_code": "hazardous_chemicals", "department_id": dept, "title": "基准测试举报", "description": "—",
             "anonymous": True, "rechecks": 0, "created_at": now, "updated_at": now, "version": 1}
            for i in range(rows)
        ]  # fmt: skip
        for start in range(0, rows, 5000):
            s.execute(insert(SupervisionMeasure), measures[start : start + 5000])
            s.execute(insert(Complaint), complaints[start : start + 5000])
        s.commit()


def _median_ms(fn: Callable[[], object], n: int) -> float:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = fn()
        times.append(time.perf_counter() - t0)
        assert getattr(r, "status_code", 200) == 200
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=40)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, data_dir=tmp, jwt_secret="bench-" + "x" * 40, serve_sweep="off"))
    _fill(app, args.rows)
    with TestClient(app) as c:
        token = c.post("/api/v1/auth/token", data={"username": "officer", "password": PASSWORD}).json()
        h = {"Authorization": f"Bearer {token['access_token']}"}
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert csrf
        c.post("/login", data={"username": "officer", "password": PASSWORD, "csrf_token": csrf.group(1), "next": "/"})
        mid = c.get("/api/v1/measures?limit=1", headers=h).json()[0]["id"]
        pairs = [
            ("measures, first page of 50", "/api/v1/measures?limit=50", "/measures"),
            ("complaints queue, first page of 50", "/api/v1/complaints?limit=50", "/complaints"),
            ("one measure (API: the measure and its events)", f"/api/v1/measures/{mid}", f"/measures/{mid}"),
        ]
        print(f"{args.rows} measures and {args.rows} complaints in one officer's scope; {url.split(':')[0]}")
        print("| page | API ms | console ms |\n|---|---|---|")
        for name, api, page in pairs:
            if "events" in name:
                api_ms = _median_ms(
                    lambda a=api: (c.get(a, headers=h), c.get(a + "/events", headers=h))[1], args.repeat
                )
            else:
                api_ms = _median_ms(lambda a=api: c.get(a, headers=h), args.repeat)
            page_ms = _median_ms(lambda p=page: c.get(p), args.repeat)
            print(f"| {name} | {api_ms:.1f} | {page_ms:.1f} |")


if __name__ == "__main__":
    main()
