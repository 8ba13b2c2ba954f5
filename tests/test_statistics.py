"""Figures against hand-computed answers on the fixed register of tests/stats_data.py."""

from __future__ import annotations

from datetime import date

import pytest

from tests import stats_data
from tests.stats_data import AS_OF


@pytest.fixture
def data(db, world):
    return stats_data.load(db, world)


def get(client, world, user, path, **params):
    r = client.get(f"/api/v1/statistics/{path}", params=params, headers=world.headers(client, user))
    assert r.status_code == 200, r.text
    return r.json()


def test_county_summary_as_of(client, world, data):
    f = get(client, world, "city", "summary", region="440305", as_of=AS_OF.isoformat())["figures"]
    assert f == {
        "found": 6,  # H1 H2 H3 H4 H7 H8 (H5 found later, H6 rejected)
        "open": 3,  # H1 H2 H7 (H7 closed at 00:30 on 1 July, China time)
        "overdue": 2,  # H2 (deadline the day before), H7; not H1 whose deadline is today
        "closed": 3,
        "clearance_rate": 0.5,
        "stock": 2,  # H1 found on the cut-off day, H4
        "stock_open": 1,
        "increment": 4,  # H2 found the day after the cut-off
        "increment_open": 2,
        "days_to_close_median": 30.0,  # 10, 30, 366
        "days_to_close_p90": 298.8,  # 30 + 0.8 × (366 − 30)
    }


def test_deadline_day_and_closing_day_move_with_as_of(client, world, data):
    f = get(client, world, "city", "summary", region="440305", as_of="2026-07-01")["figures"]
    assert f["overdue"] == 2  # H1 now overdue, H7 now closed
    assert f["found"] == 7 and f["closed"] == 4 and f["open"] == 3  # H5 found on 1 July
    f = get(client, world, "city", "summary", region="440305", as_of="2024-01-01")["figures"]
    assert f["found"] == 3 and f["stock"] == 2 and f["increment"] == 1  # H1, H4, H2
    assert f["closed"] == 0 and f["overdue"] == 0 and f["days_to_close_median"] is None


def test_city_rolls_up_its_counties(client, world, data):
    f = get(client, world, "city", "summary", region="440300", as_of=AS_OF.isoformat())["figures"]
    assert (f["found"], f["closed"], f["open"], f["overdue"], f["stock"], f["stock_open"]) == (8, 4, 4, 3, 3, 2)
    assert f["days_to_close_median"] == 25.0  # 10, 20, 30, 366
    assert f["days_to_close_p90"] == 265.2  # 30 + 0.7 × 336
    # The city's region is the default.
    assert get(client, world, "city", "summary", as_of=AS_OF.isoformat())["figures"] == f
    # The province includes the city.
    assert get(client, world, "city", "summary", region="440000", as_of=AS_OF.isoformat())["figures"] == f

    b = get(client, world, "city", "breakdown", region="440300", by="region", as_of=AS_OF.isoformat())
    rows = {r["key"]: (r["name"], r["figures"]["found"], r["figures"]["overdue"]) for r in b["rows"]}
    assert rows == {"440304": ("福田区", 2, 1), "440305": ("南山区", 6, 2)}
    b = get(client, world, "city", "breakdown", region="440000", by="region", as_of=AS_OF.isoformat())
    assert [(r["key"], r["figures"]["found"]) for r in b["rows"]] == [("440300", 8)]


def test_breakdown_by_industry(client, world, data):
    b = get(client, world, "city", "breakdown", region="440300", by="industry", as_of=AS_OF.isoformat())
    rows = {r["key"]: (r["figures"]["found"], r["figures"]["closed"]) for r in b["rows"]}
    assert rows == {"26": (7, 3), "33": (1, 1)}  # chem and futian are industry 26, metal 33
    s = get(client, world, "city", "summary", region="440300", industry_code="33", as_of=AS_OF.isoformat())
    assert s["figures"]["found"] == 1 and s["figures"]["days_to_close_median"] == 30.0


def test_scope_enterprise_sees_only_itself(client, world, data):
    f = get(client, world, "ent_chem", "summary", as_of=AS_OF.isoformat())["figures"]
    assert (f["found"], f["closed"], f["open"]) == (5, 2, 3)
    f = get(client, world, "ent_metal", "summary", region="440300", as_of=AS_OF.isoformat())["figures"]
    assert (f["found"], f["closed"]) == (1, 1)


def test_scope_futian_officer_does_not_see_nanshan(client, world, data):
    f = get(client, world, "futian_officer", "summary", as_of=AS_OF.isoformat())["figures"]
    assert (f["found"], f["overdue"], f["stock_open"]) == (2, 1, 1)
    f = get(client, world, "futian_officer", "summary", region="440300", as_of=AS_OF.isoformat())["figures"]
    assert f["found"] == 2
    f = get(client, world, "futian_officer", "summary", region="440305", as_of=AS_OF.isoformat())["figures"]
    assert f["found"] == 0 and f["clearance_rate"] is None


def test_monthly_trend(client, world, data):
    t = get(client, world, "city", "trend", region="440305", as_of="2024-06-30", months=6)
    assert [(m["month"], m["found"], m["closed"]) for m in t["months"]] == [
        ("2024-01", 2, 1),
        ("2024-02", 0, 0),
        ("2024-03", 0, 0),
        ("2024-04", 0, 0),
        ("2024-05", 0, 0),
        ("2024-06", 0, 1),
    ]
    t = get(client, world, "city", "trend", region="440300", as_of="2026-07-31", months=2)
    assert [(m["month"], m["found"], m["closed"]) for m in t["months"]] == [("2026-06", 0, 0), ("2026-07", 1, 1)]


def test_dynamic_clearance(client, world, data):
    c = get(client, world, "city", "clearance", region="440300", as_of=AS_OF.isoformat(), oldest=2)
    assert c["status"] == {"clear": False, "overdue": 3, "open": 4, "stock_open": 2, "stock_target_met": False}
    assert [o["number"] for o in c["oldest_overdue"]] == ["T-H9", "T-H7"]
    assert c["oldest_overdue"][0]["days_overdue"] == (AS_OF - date(2023, 1, 1)).days
    kids = {k["key"]: k["status"] for k in c["children"]}
    assert kids["440304"]["overdue"] == 1 and kids["440305"]["overdue"] == 2
    c = get(client, world, "city", "clearance", region="440305", as_of="2024-01-15")
    assert c["status"]["clear"] is True and c["status"]["stock_target_met"] is False
    c = get(client, world, "ent_metal", "clearance", as_of=AS_OF.isoformat())
    assert c["status"] == {"clear": True, "overdue": 0, "open": 0, "stock_open": 0, "stock_target_met": True}


@pytest.mark.parametrize(
    "params",
    [
        {"as_of": "2026-13-01"},
        {"region": "44"},
        {"region": "44030x"},
        {"by": "planet"},
        {"industry_code": "'; drop"},
        {"months": "0"},
        {"oldest": "-1"},
    ],
)
def test_malformed_queries_are_problems(client, world, params):
    for path in ("summary", "breakdown", "trend", "clearance"):
        r = client.get(f"/api/v1/statistics/{path}", params=params, headers=world.headers(client, "city"))
        if r.status_code == 200:
            continue  # the parameter belongs to another table
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_needs_login(client):
    r = client.get("/api/v1/statistics/summary")
    assert r.status_code == 401


def test_region_report_for_a_quarter(client, world, data):
    r = get(client, world, "city", "region-report", region="440300", period="2024Q1")
    assert r["summary"]["as_of"] == "2024-03-31"
    f = r["summary"]["figures"]
    assert (f["found"], f["closed"], f["open"], f["overdue"]) == (5, 1, 4, 2)  # H1 H2 H3 H4 H9; H4 and H9 overdue
    assert [m["month"] for m in r["trend"]["months"]] == ["2024-01", "2024-02", "2024-03"]
    assert {row["key"] for row in r["by_region"]["rows"]} == {"440304", "440305"}


def test_as_of_out_of_range_is_422(client, world):
    for day in ("9999-12-31", "0001-01-01"):
        r = client.get("/api/v1/statistics/summary", params={"as_of": day}, headers=world.headers(client, "city"))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"


def test_each_table_is_one_statement_whatever_the_size(app, db, world, data):
    from sqlalchemy import event

    from hazard_registry.auth.principal import SYSTEM
    from hazard_registry.statistics import service
    from hazard_registry.statistics.service import StatFilters

    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # the transaction's own BEGIN (SQLite) is not a query
            seen.append(statement)

    f = StatFilters(region="440300")
    calls = {
        "summary": (lambda: service.summary(db, SYSTEM, f, as_of=AS_OF, cutoff=date(2023, 12, 31)), 1),
        "breakdown": (lambda: service.breakdown(db, SYSTEM, f, "region", as_of=AS_OF, cutoff=date(2023, 12, 31)), 2),
        "trend": (lambda: service.trend(db, SYSTEM, f, as_of=AS_OF, months=24), 1),
        "clearance": (lambda: service.clearance(db, SYSTEM, f, as_of=AS_OF, cutoff=date(2023, 12, 31)), 4),
    }
    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        for name, (call, expected) in calls.items():
            seen.clear()
            call()
            # One aggregate per table (+ one lookup of names for a breakdown, + the oldest few for clearance).
            assert len(seen) == expected, (name, seen)
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("user", ["admin", "admin_futian", "builder", "officer", "ent_futian", "chief"])
def test_every_role_gets_figures(client, world, data, user):
    for path in ("summary", "breakdown", "trend", "clearance"):
        get(client, world, user, path)
    admin = get(client, world, "admin_futian", "summary", as_of=AS_OF.isoformat())["figures"]
    assert admin["found"] == 2  # an administrator sees the whole of its region (福田), every sector


def test_cutoff_is_a_setting_not_a_constant(db, world, data):
    from hazard_registry.auth.principal import SYSTEM
    from hazard_registry.statistics import service
    from hazard_registry.statistics.service import StatFilters

    f = StatFilters(region="440305")
    moved = service.summary(db, SYSTEM, f, as_of=AS_OF, cutoff=date(2024, 1, 1)).figures
    assert (moved.stock, moved.stock_open, moved.increment) == (3, 2, 3)  # H2, found on 1 January, is stock now
