"""The console's pages cost what the API calls behind them cost: statements per page render, counted warm (the
caller and the filter choices cached, as on a server that has been up for a minute; tests/test_speed.py counts
the API the same way)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import World
from tests.flow import Flow
from tests.statements import count_statements
from tests.test_console import sign_in
from tests.test_speed import LIST

# The list page: the API's list (its statements, LIST) and nothing else — the names of the rows' enterprises
# come in the same statement, the caller and the filter choices from the worker's caches.
LIST_PAGE = LIST


def _warm(client: TestClient, *urls: str) -> None:
    for url in urls:
        assert client.get(url).status_code == 200


def test_the_list_page_costs_the_api_lists_statements(client: TestClient, world: World, app: Any) -> None:
    flow = Flow(client, world)
    for _ in range(3):
        flow.report()
    for username in ("officer", "admin_city", "national", "ent_chem"):
        sign_in(client, username)
        _warm(client, "/hazards")
        with count_statements(app) as sql:
            page = client.get("/hazards")
        assert page.status_code == 200 and "硝化釜未设置自动化联锁" in page.text
        assert len(sql) <= LIST_PAGE, f"{username}:\n{sql.listing()}"


def test_a_filtered_page_costs_the_same_and_a_chosen_enterprise_one_more(
    client: TestClient, world: World, app: Any
) -> None:
    flow = Flow(client, world)
    for _ in range(3):
        flow.report()
    sign_in(client, "admin_city")
    filters = [("region", "440305"), ("state", "reported"),
               ("overdue", "no"), ("found_from", "2020-01-01")]  # fmt: skip
    _warm(client, "/hazards?region=440305")
    with count_statements(app) as sql:
        page = client.get("/hazards", params=filters)
    assert page.status_code == 200 and "硝化釜未设置自动化联锁" in page.text
    assert len(sql) <= LIST_PAGE, sql.listing()
    with count_statements(app) as sql:
        page = client.get("/hazards", params=[*filters, ("enterprise_id", str(world.ids["chem"]))])
    assert page.status_code == 200 and "硝化釜未设置自动化联锁" in page.text
    assert len(sql) <= LIST_PAGE + 1, "the chosen enterprise's name, for its option:\n" + sql.listing()


# The home page: the statistics the API answers as six calls (summary, clearance, trend, activity, breakdown by
# region and by sector — one statement each, names of the breakdown's rows one more each), the hazards waiting
# for the caller (their count and their page), and one statement per panel of another domain (measures,
# complaints, rewards, filings). Nothing per row.
HOME = 17


def test_the_home_page_costs_its_api_calls_statements(client: TestClient, world: World, app: Any) -> None:
    flow = Flow(client, world)
    for _ in range(3):
        flow.report()
    for username in ("officer", "chief", "admin_city", "national", "ent_chem"):
        sign_in(client, username)
        _warm(client, "/")
        with count_statements(app) as sql:
            page = client.get("/")
        assert page.status_code == 200 and "工作台" in page.text
        assert len(sql) <= HOME, f"{username}:\n{sql.listing()}"


# The detail page: the hazard with its enterprise and clause, its extensions, events (read once more by the
# chain's check), attachments and measures, the people and the department by name; region, industry and sector
# names from the cached reference lists.
DETAIL = 16


def test_the_detail_page_looks_no_name_up_per_field(client: TestClient, world: World, app: Any) -> None:
    flow = Flow(client, world)
    hazard = flow.to_state("verified")
    for username in ("officer", "ent_chem", "admin_city"):
        sign_in(client, username)
        _warm(client, f"/hazards/{hazard['id']}")
        with count_statements(app) as sql:
            page = client.get(f"/hazards/{hazard['id']}")
        assert page.status_code == 200 and "广东省深圳市南山区" in page.text
        assert len(sql) <= DETAIL, f"{username}:\n{sql.listing()}"
