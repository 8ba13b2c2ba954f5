"""A hazard's life in the console, as the people who handle it see it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from hazard_registry import clock


def report_hazard(page: Page, sign_in, title: str = "储罐区可燃气体报警器失效") -> str:
    sign_in(page, "ent_chem")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="上报隐患").click()
    page.get_by_label("查找判定条款").fill("")
    page.get_by_label("判定依据（标准条款）").select_option(index=1)
    page.get_by_label("隐患名称").fill(title)
    page.get_by_label("隐患描述").fill("罐区东侧两台报警器无显示，已联系厂家。")
    page.get_by_label("隐患部位").fill("储罐区东侧")
    page.get_by_role("button", name="提交上报").click()
    expect(page.get_by_text(re.compile(r"已上报，隐患编号 \S+"))).to_be_visible()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    return page.url


def test_enterprise_reports_a_hazard_and_sees_it_in_its_ledger(page: Page, sign_in) -> None:
    url = report_hazard(page, sign_in)
    expect(page.get_by_text("已上报", exact=True).first).to_be_visible()
    expect(page.get_by_text("记录链校验通过")).to_be_visible()
    page.get_by_role("link", name="← 隐患台账").click()
    expect(page.get_by_role("table", name="隐患列表").get_by_text("储罐区可燃气体报警器失效")).to_be_visible()
    assert url.rsplit("/", 1)[-1].isdigit()


def test_regulator_assigns_with_a_deadline_and_the_enterprise_plans_and_asks_for_verification(
    page: Page, sign_in, tmp_path
) -> None:
    url = report_hazard(page, sign_in)
    page.get_by_role("button", name="退出登录").click()

    sign_in(page, "officer")
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.goto(url)
    page.get_by_role("button", name="交办").click()
    page.get_by_label("经办人").select_option(label="officer")
    deadline = clock.today_in_china() + timedelta(days=30)
    page.get_by_label("整改期限").fill(deadline.isoformat())
    page.get_by_role("button", name="确认交办").click()
    expect(page.get_by_text("已交办", exact=True).first).to_be_visible()
    page.get_by_role("button", name="退出登录").click()

    sign_in(page, "ent_chem")
    page.goto(url)
    page.get_by_role("button", name="开始整改").click()
    page.get_by_label("整改措施").fill("更换报警器并联调")
    page.get_by_label("责任单位").fill("设备部")
    page.get_by_label("责任人").fill("李四")
    page.get_by_label("整改资金和物资").fill("2万元")
    page.get_by_label("整改期间安全防范措施").fill("人工巡检每2小时一次")
    page.get_by_label("应急预案").fill("泄漏处置预案")
    page.get_by_role("button", name="确认开始整改").click()
    expect(page.get_by_text("整改中", exact=True).first).to_be_visible()

    photo = tmp_path / "after.png"
    photo.write_bytes(PNG)
    page.get_by_role("button", name="申请验收").click()
    page.get_by_label("整改完成情况").fill("两台报警器已更换，联调正常。")
    page.get_by_label("上传整改后照片或报告").set_input_files(str(photo))
    page.get_by_role("button", name="确认申请验收").click()
    expect(page.get_by_text("待验收", exact=True).first).to_be_visible()
    expect(page.get_by_role("img", name="after.png")).to_be_visible()


# A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201"
    "ff9bd4a1f30000000049454e44ae426082"
)


@pytest.mark.http_errors(404)
def test_another_enterprises_hazard_answers_404(page: Page, sign_in) -> None:
    url = report_hazard(page, sign_in)
    page.get_by_role("button", name="退出登录").click()
    sign_in(page, "ent_metal")
    page.goto(url)
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
