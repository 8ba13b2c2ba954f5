"""A regulator narrows the 隐患台账 by choosing a province, a city and a county, and by typing an enterprise's name:
the cascade and the type-ahead fill in place (htmx), and the list shown is what was chosen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_hazard_day import report_hazard

# The cascade's level is swapped in by htmx, which wires the new <select> when the swap settles: a person cannot
# choose faster than that, a test can, so it waits for htmx to finish as a person would.
HTMX_IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"


def choose(page: Page, select, label: str) -> None:
    expect(select.locator("option", has_text=label)).to_have_count(1)
    page.wait_for_function(HTMX_IDLE)
    select.select_option(label=label)


def test_a_national_administrator_narrows_the_ledger_by_region_and_enterprise(page: Page, sign_in) -> None:
    report_hazard(page, sign_in, title="南山罐区报警器失效")
    page.get_by_role("button", name="退出登录").click()

    sign_in(page, "national")
    page.goto("/hazards")
    filters = page.get_by_role("search", name="筛选隐患")
    choose(page, filters.get_by_label("省份"), "广东省")
    choose(page, filters.get_by_label("市（州、盟）"), "深圳市")
    choose(page, filters.get_by_label("区县"), "南山区")
    filters.get_by_label("企业", exact=True).fill("南山测试化")
    picked = filters.get_by_label("从查找结果中选择企业")
    expect(picked.locator("option", has_text="南山测试化工有限公司")).to_have_count(1)
    picked.select_option(index=1)
    filters.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"region=440305"))
    expect(page.get_by_role("table", name="隐患列表").get_by_text("南山罐区报警器失效")).to_be_visible()
    expect(filters.get_by_label("区县")).to_have_value("440305")
    expect(picked).to_contain_text("南山测试化工有限公司")
