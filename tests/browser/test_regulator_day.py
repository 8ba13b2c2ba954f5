"""A regulator's and a chief's day: the workbench, verification, closing, the ledger and its export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import Page, expect

from hazard_registry import clock
from tests.flow import Flow


@pytest.fixture
def flow(client, world) -> Flow:
    return Flow(client, world)


def test_officer_workbench_lists_what_waits_and_draws_charts_with_data(page: Page, sign_in, flow: Flow) -> None:
    waiting = flow.report("ent_chem", title="反应釜温度联锁未投用")
    flow.to_state("closed")
    sign_in(page, "officer")
    table = page.get_by_role("table", name="待我办理的隐患")
    row = table.get_by_role("row").filter(has_text="反应釜温度联锁未投用")
    expect(row.get_by_role("link", name="交办")).to_be_visible()
    expect(page.get_by_text("累计发现")).to_be_visible()
    trend = page.locator('[data-chart="trend"]')
    expect(trend).to_have_attribute("data-rendered", "true")
    expect(trend.locator("canvas")).to_have_count(1)
    assert int(trend.get_attribute("data-points") or 0) >= 24
    expect(page.locator('[data-chart="sector"]')).to_have_attribute("data-rendered", "true")
    row.get_by_role("link", name="交办").click()
    expect(page.get_by_role("heading", name=re.compile("交办：反应釜温度联锁未投用"))).to_be_visible()
    assert waiting["number"] in page.content()
    page.go_back()  # the screenshot shows the workbench
    expect(trend).to_have_attribute("data-rendered", "true")


def test_officer_verifies_and_the_chief_closes(page: Page, sign_in, flow: Flow) -> None:
    hazard = flow.to_state("verification_requested")
    sign_in(page, "officer")
    page.goto(f"/hazards/{hazard['id']}")
    page.get_by_role("button", name="验收通过").click()
    page.get_by_label("验收记录").fill("现场核查：报警器已更换，联调正常。")
    page.get_by_role("button", name="确认验收通过").click()
    expect(page.get_by_text("已验收", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="销号")).to_have_count(0)  # no closing authority, and the verifier
    page.get_by_role("button", name="退出登录").click()

    sign_in(page, "chief")
    page.goto(f"/hazards/{hazard['id']}")
    page.get_by_role("button", name="销号").click()
    page.get_by_role("button", name="确认销号").click()
    expect(page.get_by_text("已销号", exact=True).first).to_be_visible()
    expect(page.get_by_text("记录链校验通过")).to_be_visible()


@pytest.mark.http_errors(409)
def test_a_stale_form_is_refused_in_chinese_with_what_was_typed_kept(page: Page, sign_in, flow: Flow) -> None:
    hazard = flow.to_state("verification_requested")
    sign_in(page, "officer")
    page.goto(f"/hazards/{hazard['id']}/act/fail_verification")
    page.get_by_label("不通过原因").fill("联锁仍未投用")
    flow.ok(hazard, "officer2", "fail_verification", reasons="另一人先办了")  # meanwhile, someone else acts
    page.get_by_role("button", name="确认验收不通过").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("该记录已被他人修改|当前状态下不能进行此操作"))
    expect(page.get_by_label("不通过原因")).to_have_value("联锁仍未投用")


def test_the_ledger_filters_and_exports_exactly_the_filtered_list(page: Page, sign_in, flow: Flow) -> None:
    mine = flow.to_state("assigned")
    flow.report("ent_chem", title="尚未交办的隐患")
    sign_in(page, "officer")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="隐患台账").click()
    page.get_by_label("已交办").check()
    page.get_by_label("经办人").select_option(label="交办给我的")
    page.get_by_role("button", name="查询").click()
    table = page.get_by_role("table", name="隐患列表")
    expect(table.get_by_role("link", name=mine["number"])).to_be_visible()
    expect(table.get_by_text("尚未交办的隐患")).to_have_count(0)
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 CSV").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    numbers = [r[0] for r in rows[1:]]
    assert numbers == [mine["number"]], rows


def test_an_idle_session_expires_and_says_so(page: Page, sign_in) -> None:
    sign_in(page, "officer")
    with time_machine.travel(clock.now() + timedelta(hours=3), tick=True):
        page.get_by_role("navigation", name="主菜单").get_by_role("link", name="隐患台账").click()
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fhazards$"))
        expect(page.get_by_text("会话已过期，请重新登录")).to_be_visible()
