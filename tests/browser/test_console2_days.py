"""A working day at the console, part 2, in a real Chromium: 督办, 举报处理, 季报/自查 and 管理."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.test_complaints import Desk
from tests.test_console_pages import measures_made
from tests.test_supervision_more import registered_this_year  # noqa: F401  (fixture)


def menu(page):
    return page.get_by_role("navigation", name="主菜单")


def sign_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_text("您已安全退出")).to_be_visible()
    page.wait_for_load_state("load")


def shot(page, name: str) -> None:
    """A screenshot of a main page as the user sees it (var/screenshots, not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"console2_{name}.png"), full_page=True)


def visit(page, url: str) -> None:
    """Go to ``url`` once the page in hand has loaded (leaving earlier would abort its styles and scripts)."""
    page.wait_for_load_state("load")
    page.goto(url)


def test_the_city_issues_a_notice_and_the_district_bureau_acknowledges_it(page, sign_in, app, world, settings):
    notice = next(m for m in measures_made(app, world, settings) if m.measure == "circulated_notice")
    sign_in(page, "city")
    menu(page).get_by_role("link", name="督办").click()
    page.get_by_label("状态").select_option(label="拟办")
    page.get_by_role("button", name="筛选").click()
    row = page.get_by_role("row").filter(has_text="通报")
    expect(row).to_contain_text("南山区应急管理局")
    shot(page, "measures_list")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="办理", exact=True)).to_be_visible()
    shot(page, "measure_detail")
    page.get_by_role("button", name="签发").click()
    expect(page.get_by_role("status")).to_contain_text("已签发：")
    expect(page.get_by_text(re.compile(r"督〔\d{4}〕\d+号")).first).to_be_visible()
    sign_out(page)

    sign_in(page, "officer")
    visit(page, f"/measures/{notice.id}")
    page.get_by_label("签收说明（可选）").fill("已收到，立即交办。")
    page.get_by_role("button", name="签收").click()
    expect(page.get_by_role("status")).to_have_text("已签收")
    expect(page.get_by_role("list").filter(has_text="已收到，立即交办。")).to_be_visible()


def test_a_complaint_is_handled_until_it_is_a_hazard_in_the_register(page, sign_in, client, world):
    Desk(client, world).submit()
    sign_in(page, "officer")
    menu(page).get_by_role("link", name="举报处理").click()
    shot(page, "complaints_queue")
    page.get_by_role("link", name=re.compile(r"^举报\d+$")).first.click()
    page.get_by_role("button", name="受理").click()
    expect(page.get_by_role("status")).to_have_text("已受理")

    page.locator("summary").filter(has_text="办结").click()
    form = page.locator("form").filter(has=page.get_by_label("办理结论"))
    form.get_by_label("办理结论").select_option(label="属实，构成重大事故隐患")
    form.get_by_label("核查情况").fill("现场核查属实：硝化釜温度联锁被短接。")
    form.get_by_label("判定依据条款").select_option(str(world.clause_chem))
    form.get_by_label("隐患名称").fill("硝化釜温度联锁被短接")
    form.get_by_label("隐患描述").fill("现场核查发现两台硝化釜温度联锁被短接，夜间仍在进料。")
    shot(page, "complaint_conclude_form")
    form.get_by_role("button", name="办结").click()
    expect(page.get_by_role("status")).to_contain_text("已生成隐患")
    shot(page, "complaint_detail")

    page.get_by_label("答复内容").fill("经查属实，已登记为重大事故隐患并责令整改。")
    page.get_by_role("button", name="答复").click()
    expect(page.get_by_role("status")).to_have_text("已答复举报人")
    page.get_by_role("link", name="查看登记入账的隐患").click()
    expect(page.get_by_role("heading", name=re.compile("硝化釜温度联锁被短接"))).to_be_visible()


def test_an_administrator_creates_an_officer_who_can_then_sign_in(page, sign_in, world):
    sign_in(page, "admin")
    menu(page).get_by_role("link", name="管理").click()
    shot(page, "admin_index")
    page.get_by_role("link", name="用户与权限").click()
    page.get_by_label("用户名").fill("ns_browser_officer")
    page.get_by_label("姓名").fill("赵六")
    page.get_by_label("初始密码（至少8位）").fill("a-long-password")
    page.get_by_label("角色").select_option(label="监管人员")
    page.get_by_label("所属部门代码（监管人员）").fill("T-NS-YJ")
    page.get_by_label("销号权限（监管人员）").check()
    page.get_by_role("button", name="创建用户").click()
    expect(page.get_by_role("status")).to_have_text("已创建用户 ns_browser_officer")
    expect(page.get_by_role("row").filter(has_text="ns_browser_officer")).to_contain_text("销号")
    sign_out(page)
    sign_in(page, "ns_browser_officer", "a-long-password")
    expect(page.get_by_text("欢迎，赵六")).to_be_visible()


def test_an_enterprise_files_its_quarterly_report_pre_filled_from_the_register(page, sign_in, world):
    sign_in(page, "ent_chem")
    menu(page).get_by_role("link", name="季报").click()
    visit(page, "/filings?period=2026Q1")
    expect(page.get_by_role("heading", name="2026Q1 季报")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("本期新发现重大事故隐患"))).to_be_visible()
    shot(page, "filing_enterprise")
    page.get_by_label("确认的主要负责人").fill("张三")
    page.get_by_role("button", name="确认并报送").click()
    expect(page.get_by_role("status")).to_have_text("2026Q1 报表已报送")
    expect(page.get_by_text("主要负责人 张三 确认")).to_be_visible()


def test_a_regulator_sees_who_is_late(page, sign_in, world, registered_this_year):  # noqa: F811
    sign_in(page, "officer")
    visit(page, "/filings?period=2026Q1")
    page.get_by_label("报送状态").select_option(label="逾期未报")
    page.get_by_role("button", name="筛选").click()
    late = page.get_by_role("row").filter(has_text="逾期未报")
    expect(late.filter(has_text="南山测试化工有限公司")).to_be_visible()
    expect(late.filter(has_text="南山测试建筑有限公司")).to_have_count(0)  # construction is not this bureau's
    shot(page, "filings_status")

    menu(page).get_by_role("link", name="自查").click()
    row = page.get_by_role("row").filter(has_text="南山测试化工有限公司")
    expect(row).to_contain_text("未履行")
    expect(row).to_contain_text("每月（高危行业）")


def test_a_regulator_has_no_admin_menu(page, sign_in, world):
    sign_in(page, "officer")
    expect(menu(page).get_by_role("link", name="督办")).to_be_visible()
    expect(menu(page).get_by_role("link", name="管理")).to_have_count(0)


def test_an_enterprise_opening_another_enterprise_s_measure_gets_not_found(
    browser, live_url, sign_in, client, app, world, settings
):
    """A context of its own: the 404 it expects is exactly what the ``page`` fixture counts as a console error."""
    letter = next(m for m in measures_made(app, world, settings) if m.measure == "warning_letter")
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", base_url=live_url)
    try:
        page = context.new_page()
        sign_in(page, "ent_futian")
        visit(page, "/measures")
        expect(page.get_by_text("没有符合条件的督办措施")).to_be_visible()
        visit(page, f"/measures/{letter.id}")
        expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
        expect(page.get_by_text(letter.reason)).to_have_count(0)
    finally:
        context.close()
