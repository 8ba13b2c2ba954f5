"""An administrator onboards a district in a day: downloads the templates, uploads the enterprise register and
the accounts, reads the check, corrects a bad row, confirms, and hands out the one-time passwords."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.conftest import _wipe
from tests.factories import uscc
from tests.onboarding import csv_file, forget_imported

ENT_HEAD = ["统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "主要负责人", "主要负责人电话"]
USER_HEAD = ["用户名", "姓名", "角色", "企业统一社会信用代码", "部门代码"]
A, B = uscc("91440300MA5TWEB01"), uscc("91440300MA5TWEB02")


@pytest.fixture(autouse=True)
def _forget(app, db):
    yield
    _wipe(app)
    forget_imported(app)


def _upload(page: Page, label: str, name: str, content: bytes) -> None:
    page.get_by_label(label).set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def test_an_administrator_imports_the_register_and_the_accounts(page: Page, sign_in, tmp_path) -> None:
    sign_in(page, "admin")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="管理").click()
    page.get_by_role("link", name="批量导入").click()
    expect(page.get_by_role("heading", name="批量导入", exact=True)).to_be_visible()

    with page.expect_download() as download:
        page.get_by_role("link", name="企业名录模板（Excel）").click()
    saved = tmp_path / "template.xlsx"
    download.value.save_as(saved)
    assert [c.value for c in load_workbook(saved).worksheets[0][1]][:2] == ["统一社会信用代码", "企业名称"]

    enterprises = [
        [A, "导入测试网页化工有限公司", "440305", "26", "周一", "13800138011"],
        [B, "导入测试网页五金有限公司", "440305", "33", "吴二", "13800138012"],
    ]
    _upload(page, "企业名录文件（XLSX或CSV）", "名录.csv", csv_file(ENT_HEAD, enterprises))
    page.get_by_role("button", name="检查企业名录").click()
    expect(page.get_by_text("将新增 2 条")).to_be_visible()
    rows = page.get_by_role("table", name="导入的行").get_by_role("row")
    expect(rows).to_have_count(3)
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_role("status").filter(has_text="已导入")).to_contain_text("新增 2 条")

    page.get_by_role("link", name="返回批量导入").click()
    accounts = [
        ["imp.web.ent", "周一", "企业用户", A, ""],
        ["imp.web.reg", "郑三", "监管人员", "", "NOPE"],  # no such department
    ]
    _upload(page, "用户账号文件（XLSX或CSV）", "用户.csv", csv_file(USER_HEAD, accounts))
    page.get_by_role("button", name="检查用户账号").click()
    bad = page.get_by_role("table", name="错误的行")
    expect(bad.get_by_role("row").filter(has_text="部门代码")).to_contain_text("3")
    expect(page.get_by_role("button", name="确认导入")).to_have_count(0)  # nothing is imported with a bad row

    page.get_by_role("link", name="返回批量导入").click()
    accounts[1][4] = "T-NS-YJ"
    _upload(page, "用户账号文件（XLSX或CSV）", "用户.csv", csv_file(USER_HEAD, accounts))
    page.get_by_role("button", name="检查用户账号").click()
    expect(page.get_by_text("将新增 2 条")).to_be_visible()
    page.get_by_role("button", name="确认导入").click()
    table = page.get_by_role("table", name="导入的行")
    expect(table.get_by_role("columnheader", name="一次性初始密码")).to_be_visible()
    password = table.get_by_role("row").filter(has_text="imp.web.reg").locator("code").inner_text()
    assert len(password) == 14
    expect(page.get_by_role("note")).to_contain_text("只显示这一次")
