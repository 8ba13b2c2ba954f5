"""A bureau chief looks at the campaign; each role sees only the buttons and menus it may use."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import stats_data
from tests.flow import Flow


def test_chief_sees_the_three_stages_per_region(page: Page, sign_in, db, world) -> None:
    stats_data.load(db, world)
    sign_in(page, "city")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="治本攻坚").click()
    stock = page.get_by_role("table", name="各地区存量隐患")
    expect(stock.get_by_role("row").filter(has_text="福田区")).to_contain_text("1")
    expect(page.get_by_role("table", name="每季度新发现隐患").get_by_role("row")).to_have_count(9)
    expect(page.locator('[data-chart="in_time"]')).to_have_attribute("data-rendered", "true")
    stock.get_by_role("link", name="南山区").click()
    expect(page.get_by_role("heading", name="治本攻坚三年行动 · 南山区")).to_be_visible()


def test_an_enterprise_sees_no_regulators_buttons_or_menus(page: Page, sign_in, client, world) -> None:
    hazard = Flow(client, world).report("ent_chem", title="待交办的隐患")
    sign_in(page, "ent_chem")
    expect(page.get_by_role("navigation", name="主菜单").get_by_role("link", name="治本攻坚")).to_have_count(0)
    page.goto(f"/hazards/{hazard['id']}")
    expect(page.get_by_text("当前没有需要您办理的操作。")).to_be_visible()
    expect(page.get_by_role("button", name="交办")).to_have_count(0)
    expect(page.get_by_role("button", name="退回")).to_have_count(0)


@pytest.mark.http_errors(409)
def test_an_action_not_allowed_is_not_offered_even_by_url(page: Page, sign_in, client, world) -> None:
    hazard = Flow(client, world).report("ent_chem")
    sign_in(page, "ent_chem")
    page.goto(f"/hazards/{hazard['id']}/act/assign")
    expect(page.get_by_role("alert")).to_have_text("当前状态下不能进行此操作")
