"""治本攻坚: the campaign's three stages, against hand-computed answers on tests/stats_data.py's register
(as of 2026-06-30, cut-off 2023-12-31; eight quarters 2024Q3–2026Q2)."""

from __future__ import annotations

import pytest

from tests import stats_data
from tests.stats_data import AS_OF


@pytest.fixture
def data(db, world):
    return stats_data.load(db, world)


def campaign(client, world, user, **params):
    query = {"as_of": AS_OF.isoformat(), **params}
    r = client.get("/api/v1/statistics/campaign", params=query, headers=world.headers(client, user))
    assert r.status_code == 200, r.text
    return r.json()


def test_stock_left_per_child_region(client, world, data):
    c = campaign(client, world, "city", region="440300")
    assert (c["stock"], c["stock_open"], c["stock_target_met"]) == (3, 2, False)  # H1, H4 (closed), H9
    assert c["stock_due"] == "2024-12-31"
    rows = {r["name"]: (r["stock"], r["stock_open"]) for r in c["stock_by_region"]}
    assert rows["南山区"] == (2, 1) and rows["福田区"] == (1, 1)


def test_increment_against_the_same_quarter_a_year_before(client, world, data):
    c = campaign(client, world, "city", region="440300")
    quarters = {q["quarter"]: q for q in c["increment"]}
    assert list(quarters) == ["2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    assert (quarters["2025Q1"]["found"], quarters["2025Q1"]["found_year_before"]) == (2, 2)  # H7, H8 vs H2, H3
    assert quarters["2025Q1"]["change"] == 0.0
    assert (quarters["2025Q2"]["found"], quarters["2025Q2"]["found_year_before"], quarters["2025Q2"]["change"]) == (
        0,
        1,
        -1.0,
    )  # H10 a year before
    assert quarters["2026Q2"]["found"] == 0  # H5 is found on 2026-07-01, after as_of
    assert quarters["2026Q2"]["change"] is None


def test_share_closed_within_the_deadline(client, world, data):
    c = campaign(client, world, "city", region="440300")
    shares = {q["quarter"]: q for q in c["in_time"]}
    assert (shares["2025Q1"]["due"], shares["2025Q1"]["closed_in_time"], shares["2025Q1"]["share"]) == (1, 1, 1.0)
    # H1 (due on as_of, open), H2 (open), H7 (closed 00:30 China on 2026-07-01: after as_of and late).
    assert (shares["2026Q2"]["due"], shares["2026Q2"]["closed_in_time"], shares["2026Q2"]["share"]) == (3, 0, 0.0)
    assert shares["2024Q3"]["share"] is None


def test_scope_a_county_officer_sees_only_its_county(client, world, data):
    c = campaign(client, world, "officer")
    assert (c["stock"], c["stock_open"]) == (2, 1)
