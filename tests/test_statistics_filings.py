"""季报 and 年报: period bounds, due dates, pre-filled figures, who filed and who is late."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from hazard_registry import clock
from hazard_registry.reference.models import Enterprise
from hazard_registry.statistics import filings
from hazard_registry.statistics.periods import parse_period, period_to_file
from tests import stats_data


@pytest.mark.parametrize(
    ("code", "start", "end", "due"),
    [
        ("2026Q1", date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 15)),
        ("2026Q2", date(2026, 4, 1), date(2026, 6, 30), date(2026, 7, 15)),
        ("2026Q3", date(2026, 7, 1), date(2026, 9, 30), date(2026, 10, 15)),
        ("2026Q4", date(2026, 10, 1), date(2026, 12, 31), date(2027, 1, 15)),
        ("2024Q1", date(2024, 1, 1), date(2024, 3, 31), date(2024, 4, 15)),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), date(2027, 1, 31)),
    ],
)
def test_period_bounds_and_due_dates(code, start, end, due):
    p = parse_period(code)
    assert (p.start, p.end, p.due_on) == (start, end, due)


def test_quarter_to_file_turns_at_midnight_in_china():
    # 31 March 23:59 in Beijing is still Q1: the quarter to file is the one before.
    assert period_to_file(datetime(2026, 3, 31, 15, 59, tzinfo=UTC)).code == "2025Q4"
    assert period_to_file(datetime(2026, 3, 31, 16, 0, tzinfo=UTC)).code == "2026Q1"
    assert period_to_file(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)).code == "2025Q4"


@pytest.mark.parametrize("bad", ["2026Q5", "26Q1", "2026q1", "1999", "2026-Q1"])
def test_bad_periods_are_422(client, world, bad):
    r = client.get("/api/v1/filings/prefill", params={"period": bad}, headers=world.headers(client, "ent_chem"))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


def test_prefill_file_and_list(client, world, db):
    stats_data.load(db, world)
    h = world.headers(client, "ent_chem")
    pre = client.get("/api/v1/filings/prefill", params={"period": "2024Q1"}, headers=h).json()
    expected = {
        "found_in_period": 2,  # H2 on 1 Jan, H3 on 10 Jan
        "closed_in_period": 1,  # H3 on 20 Jan
        "open_at_end": 3,  # H1, H2, H4 (closed in June)
        "overdue_at_end": 1,  # H4, due 1 March
        "stock_open_at_end": 2,  # H1, H4
    }
    assert pre["figures"] == expected and pre["due_on"] == "2024-04-15" and pre["filed_at"] is None

    annual = client.get("/api/v1/filings/prefill", params={"period": "2024"}, headers=h).json()
    assert annual["kind"] == "annual" and annual["due_on"] == "2025-01-31"
    assert annual["figures"] == {
        "found_in_period": 2,  # H2, H3 (H1 was found on 31 December 2023)
        "closed_in_period": 2,  # H3, H4
        "open_at_end": 2,  # H1, H2
        "overdue_at_end": 0,
        "stock_open_at_end": 1,  # H1
    }

    r = client.post("/api/v1/filings", json={"period": "2024Q1", "confirmed_by_name": "张三"}, headers=h)
    assert r.status_code == 201, r.text
    filed = r.json()
    assert filed["figures"] == expected
    assert filed["confirmed_by_name"] == "张三" and filed["recorded_by_id"] == world.ids["ent_chem"]
    assert filed["filed_at"] is not None

    again = client.post("/api/v1/filings", json={"period": "2024Q1", "confirmed_by_name": "张三"}, headers=h)
    assert again.status_code == 409 and again.json()["code"] == "already_filed"
    future = client.post("/api/v1/filings", json={"period": "2099Q1", "confirmed_by_name": "张三"}, headers=h)
    assert future.status_code == 409 and future.json()["code"] == "period_not_ended"
    regulator = client.post(
        "/api/v1/filings", json={"period": "2024Q1", "confirmed_by_name": "x"}, headers=world.headers(client, "officer")
    )
    assert regulator.status_code == 403

    lst = client.get("/api/v1/filings", params={"period": "2024Q1"}, headers=world.headers(client, "officer")).json()
    mine = {world.ids[k] for k in ("chem", "metal", "build", "futian")}  # other tests may add enterprises
    status = {i["enterprise_id"]: i["status"] for i in lst["items"] if i["enterprise_id"] in mine}
    # The officer's department leads chemicals and industry/trade in 南山: chem and metal, not build or futian.
    assert status == {world.ids["chem"]: "filed_late", world.ids["metal"]: "late"}
    assert lst["filed"] == 1 and lst["late"] >= 2 and lst["pending"] == 0
    late = client.get(
        "/api/v1/filings", params={"period": "2024Q1", "status": "late"}, headers=world.headers(client, "officer")
    ).json()
    assert [i["enterprise_id"] for i in late["items"] if i["enterprise_id"] in mine] == [world.ids["metal"]]
    ft = client.get("/api/v1/filings", params={"period": "2099"}, headers=world.headers(client, "futian_officer"))
    assert [(i["enterprise_id"], i["status"]) for i in ft.json()["items"] if i["enterprise_id"] in mine] == [
        (world.ids["futian"], "pending")
    ]
    page1 = client.get(
        "/api/v1/filings", params={"period": "2024Q1", "limit": 1}, headers=world.headers(client, "officer")
    ).json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    page2 = client.get(
        "/api/v1/filings",
        params={"period": "2024Q1", "limit": 1, "cursor": page1["next_cursor"]},
        headers=world.headers(client, "officer"),
    ).json()
    assert page2["items"][0]["enterprise_id"] > page1["items"][0]["enterprise_id"]
    ent = client.get("/api/v1/filings", params={"period": "2024Q1"}, headers=h)
    assert ent.status_code == 403


def test_open_period_makes_lateness_one_indexed_scan(db, world):
    now = clock.now()
    n = db.scalar(select(func.count()).select_from(Enterprise))
    assert filings.open_period(db, "2024Q1", now) == n
    assert filings.open_period(db, "2024Q1", now) == 0
    db.commit()
    # Due on 15 April: late from the 16th, not on the day itself.
    assert len(list(db.scalars(filings.late_filings(date(2024, 4, 16))))) == n
    assert list(db.scalars(filings.late_filings(date(2024, 4, 15)))) == []
