"""Onboarding a district in bulk (#14): the enterprise register and user accounts from XLSX or CSV — a dry run
that lists every bad row, a commit that writes all rows or none, a second import that changes nothing, an
update that updates (and is audited where accounts are), and the templates."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from hazard_registry.auth.models import User, UserEvent
from hazard_registry.imports import enterprises as ent_import
from hazard_registry.imports import users as user_import
from hazard_registry.ledgers.export import is_formula_like
from hazard_registry.reference.models import Enterprise
from tests.conftest import _wipe
from tests.factories import uscc
from tests.onboarding import csv_file, forget_imported, xlsx_file

HEAD = ["统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "是否高危", "主要负责人", "主要负责人电话",
        "实际控制人", "实际控制人电话"]  # fmt: skip
A, B, C = uscc("91440300MA5TQMP01"), uscc("91440300MA5TQMP02"), uscc("91440300MA5TQMP03")
GOOD = [
    [A, "导入测试化工有限公司", "440305", "26", "", "王五", "0755-26660001", "赵六", "13900139001"],
    [B, "导入测试五金有限公司", "440305", "33", "否", "钱七", "13800138002", "", ""],
    [C.lower(), "导入测试建筑有限公司", "440305", 47, "是", "孙八", "13800138003", "", ""],
]


@pytest.fixture(autouse=True)
def _forget(app, db):
    yield
    _wipe(app)
    forget_imported(app)


def _post(client, world, user, what, content, name="名录.csv", **form):
    return client.post(
        f"/api/v1/imports/{what}",
        files={"file": (name, content, "application/octet-stream")},
        data=form,
        headers=world.headers(client, user),
    )


def _count(db, model, *where) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_enterprises_dry_run_lists_every_bad_row_and_a_bad_file_imports_nothing(client, world, db):
    before = _count(db, Enterprise)
    rows = [
        *GOOD,
        ["91440300MA5TQMP045", "导入测试一", "440305", "26", "", "甲", "13800138000", "", ""],  # 5: check digit
        [uscc("91440300MA5TQMP05"), "导入测试二", "449999", "26", "", "乙", "13800138000", "", ""],  # 6: no region
        [uscc("91440300MA5TQMP06"), "导入测试三", "440304", "26", "", "丙", "13800138000", "", ""],  # 7: Futian
        [uscc("91440300MA5TQMP07"), "导入测试四", "440305", "99", "", "丁", "13800138000", "", ""],  # 8: industry
        [uscc("91440300MA5TQMP08"), "导入测试五", "440305", "26", "", "戊", "电话号码", "", ""],  # 9: phone
        [A, "导入测试重复", "440305", "26", "", "己", "13800138000", "", ""],  # 10: the credit code of row 2
        [uscc("91440300MA5TQMP09"), "导入测试六", "440305", "26", "也许", "庚", "13800138000", "", ""],  # 11
        [uscc("91440300MA5T00004"), "福田测试化工有限公司", "440305", "26", "", "辛", "13800138000", "", ""],  # 12
    ]
    content = csv_file(HEAD, rows)
    dry = _post(client, world, "admin", "enterprises", content)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True and report["committed"] is False and report["rows_total"] == 11
    bad = {b["row"]: (b["field"], b["reason"]) for b in report["bad"]}
    assert sorted(bad) == [5, 6, 7, 8, 9, 10, 11, 12]
    assert bad[5][0] == "uscc" and "统一社会信用代码" in bad[5][1]
    assert bad[6] == ("region_code", bad[6][1]) and "不存在" in bad[6][1]
    assert bad[7][0] == "region_code" and "440304" in bad[7][1]
    assert bad[8][0] == "industry_code" and "大类" in bad[8][1]
    assert bad[9][0] == "principal_phone" and "主要负责人电话" in bad[9][1]
    assert bad[10][0] == "uscc" and "第2行" in bad[10][1]
    assert bad[11][0] == "high_risk" and "是" in bad[11][1]
    assert bad[12][0] == "uscc" and "其他辖区" in bad[12][1]  # Futian's enterprise, seen from Nanshan
    assert report["created"] == 3 and [r["outcome"] for r in report["rows"]] == ["created"] * 3
    assert all(r["id"] is None for r in report["rows"])

    real = _post(client, world, "admin", "enterprises", content, dry_run="false")
    assert real.status_code == 422 and real.json()["code"] == "import_rejected"
    assert real.headers["content-type"].startswith("application/problem+json")
    assert sorted(e["row"] for e in real.json()["errors"]) == sorted(bad)
    assert real.json()["report"]["committed"] is False
    assert _count(db, Enterprise) == before  # nothing half-imported


def test_enterprises_import_once_then_unchanged_then_updated(client, world, db):
    content = csv_file(HEAD, GOOD)
    real = _post(client, world, "admin", "enterprises", content, dry_run="false")
    assert real.status_code == 200, real.text
    report = real.json()
    assert (report["committed"], report["created"], report["updated"], report["unchanged"]) == (True, 3, 0, 0)
    db.rollback()
    a = db.scalar(select(Enterprise).where(Enterprise.uscc == A))
    assert a.id == report["rows"][0]["id"] and a.name == "导入测试化工有限公司" and a.region_code == "440305"
    assert a.high_risk is True  # 危险化学品, from the industry's sector
    assert (a.principal_name, a.principal_phone, a.controller_name, a.controller_phone) == (
        "王五", "0755-26660001", "赵六", "13900139001"
    )  # fmt: skip
    c = db.scalar(select(Enterprise).where(Enterprise.uscc == C))
    assert c.high_risk is True and c.industry_code == "47" and c.controller_name is None

    again = _post(client, world, "admin", "enterprises", content, dry_run="false").json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)

    changed = [list(r) for r in GOOD]
    changed[1][6] = "13800138999"
    english = ["uscc", "name", "region_code", "industry_code", "high_risk", "principal_name", "principal_phone",
               "controller_name", "controller_phone"]  # fmt: skip
    upd = _post(client, world, "admin", "enterprises", xlsx_file(english, changed), name="x.xlsx", dry_run="false")
    assert upd.status_code == 200, upd.text
    body = upd.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 2)
    row = next(r for r in body["rows"] if r["outcome"] == "updated")
    assert row["key"] == B and row["changed"] == ["principal_phone"]
    db.rollback()
    b = db.scalar(select(Enterprise).where(Enterprise.uscc == B))
    assert b.principal_phone == "13800138999" and b.version == 2


def test_enterprise_import_is_for_administrators_of_the_region(client, world, db):
    content = csv_file(HEAD, GOOD)
    assert _post(client, world, "officer", "enterprises", content).status_code == 403
    assert client.post("/api/v1/imports/enterprises", files={"file": ("a.csv", content)}).status_code == 401
    futian = _post(client, world, "admin_futian", "enterprises", content).json()
    assert {b["field"] for b in futian["bad"]} == {"region_code"} and len(futian["bad"]) == 3
    missing = _post(client, world, "admin", "enterprises", csv_file(["统一社会信用代码", "企业名称"], [[A, "x"]]))
    assert missing.status_code == 422 and missing.json()["code"] == "missing_columns"
    assert _post(client, world, "admin", "enterprises", b"").json()["code"] == "file_empty"


@pytest.mark.parametrize("what", ["enterprises", "users"])
def test_templates_have_chinese_headings_the_reader_takes_back(client, world, what):
    table = {"enterprises": ent_import.TABLE, "users": user_import.TABLE}[what]
    x = client.get(f"/api/v1/imports/{what}/template", headers=world.headers(client, "admin"))
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(x.content))
    head = [c.value for c in wb.worksheets[0][1]]
    assert head == [c.heading for c in table.columns] and all("\u4e00" <= h[0] <= "\u9fff" for h in head)
    assert wb.worksheets[1].title == "填写说明"
    cells = [c.value for row in wb.worksheets[1].iter_rows() for c in row if c.value]
    assert not any(is_formula_like(v) for v in cells) and not any(
        c.data_type == "f" for r in wb.worksheets[1] for c in r
    )
    c = client.get(f"/api/v1/imports/{what}/template", params={"format": "csv"}, headers=world.headers(client, "admin"))
    assert c.content.startswith("\ufeff".encode()) and "attachment" in c.headers["content-disposition"]
    assert next(csv.reader(io.StringIO(c.content.decode("utf-8-sig")))) == head
    # The template, filled in, is read back: the headings are the reader's.
    empty = client.post(
        f"/api/v1/imports/{what}",
        files={"file": ("t.xlsx", x.content)},
        headers=world.headers(client, "admin"),
    )
    assert empty.status_code == 200 and empty.json()["rows_total"] == 0


USER_HEAD = ["用户名", "姓名", "角色", "部门代码", "企业统一社会信用代码", "行政区划代码", "销号权限",
             "受理举报权限", "身份披露审批权限"]  # fmt: skip
CHEM = uscc("91440300MA5T00001")
FUTIAN = uscc("91440300MA5T00004")
GOOD_USERS = [
    ["imp.reg", "李监管", "监管人员", "T-NS-YJ", "", "", "是", "否", "否"],
    ["imp.ent", "王企业", "企业用户", "", CHEM, "", "否", "否", "否"],
    ["imp.admin", "南山管理员", "管理员", "", "", "440305", "否", "否", "否"],
    ["officer", "", "regulator", "T-NS-YJ", "", "", "否", "否", "否"],  # an existing account, as it is
]


def test_users_dry_run_lists_every_bad_row_and_checks_level_and_region(client, world, db):
    before = _count(db, User)
    rows = [
        *GOOD_USERS,
        ["imp.peer", "", "管理员", "", "", "440300", "否", "否", "否"],  # 6: a peer of the city's admin
        ["imp.prov", "", "管理员", "", "", "440000", "否", "否", "否"],  # 7: the province, above
        ["imp.ent2", "", "企业用户", "", CHEM, "", "是", "否", "否"],  # 8: closing authority for an enterprise
        ["imp.nodept", "", "监管人员", "NOPE", "", "", "否", "否", "否"],  # 9: no such department
        ["imp.reveal", "", "监管人员", "T-NS-YJ", "", "", "否", "否", "是"],  # 10: reveal right from its creator
        ["imp.reg", "", "监管人员", "T-NS-YJ", "", "", "否", "否", "否"],  # 11: row 2's username
        ["imp.role", "", "局长", "", "", "", "否", "否", "否"],  # 12: no such role
        ["i", "", "监管人员", "T-NS-YJ", "", "", "否", "否", "否"],  # 13: username too short
        ["imp.move", "", "企业用户", "", FUTIAN, "", "否", "否", "否"],  # 14: Futian is not Shenzhen's? it is
    ]
    content = csv_file(USER_HEAD, rows)
    dry = _post(client, world, "admin_city", "users", content, name="用户.csv")
    assert dry.status_code == 200, dry.text
    assert dry.headers["cache-control"] == "no-store"
    report = dry.json()
    bad = {b["row"]: (b["field"], b["reason"]) for b in report["bad"]}
    assert sorted(bad) == [6, 7, 8, 9, 10, 11, 12, 13]
    assert ("下级管理员" in bad[6][1] and bad[7][0] is None) or "440000" in bad[7][1]
    assert bad[8][0] == "can_close" and bad[9][0] == "department_code"
    assert "创建人以外" in bad[10][1] and "第2行" in bad[11][1] and bad[12][0] == "role" and bad[13][0] == "username"
    assert [(r["key"], r["outcome"]) for r in report["rows"]] == [
        ("imp.reg", "created"), ("imp.ent", "created"), ("imp.admin", "created"), ("officer", "unchanged"),
        ("imp.move", "created"),
    ]  # fmt: skip
    assert all(r["one_time_password"] is None for r in report["rows"])
    rejected = _post(client, world, "admin_city", "users", content, dry_run="false")
    assert rejected.status_code == 422 and rejected.json()["code"] == "import_rejected"
    assert all(r["one_time_password"] is None for r in rejected.json()["report"]["rows"])
    assert _count(db, User) == before

    # A county administrator never makes an account of the prefecture or above, nor one of a city department.
    county = csv_file(USER_HEAD, [
        ["imp.city", "", "管理员", "", "", "440300", "否", "否", "否"],
        ["imp.cityreg", "", "监管人员", "T-SZ-YJ", "", "", "否", "否", "否"],
        ["imp.national", "", "管理员", "", "", "000000", "否", "否", "否"],
        ["imp.futian", "", "企业用户", "", FUTIAN, "", "否", "否", "否"],
    ])  # fmt: skip
    refused = _post(client, world, "admin", "users", county).json()
    assert [b["row"] for b in refused["bad"]] == [2, 3, 4, 5] and refused["rows"] == []
    assert "region" in refused["bad"][0]["reason"] and refused["bad"][3]["field"] == "enterprise_uscc"
    assert _post(client, world, "officer", "users", county).status_code == 403


def test_users_commit_gives_one_time_passwords_once_and_audits(client, world, db):
    content = xlsx_file(USER_HEAD, GOOD_USERS)
    r = _post(client, world, "admin_city", "users", content, name="用户.xlsx", dry_run="false")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["committed"], report["created"], report["unchanged"]) == (True, 3, 1)
    created = {x["key"]: x for x in report["rows"] if x["outcome"] == "created"}
    assert set(created) == {"imp.reg", "imp.ent", "imp.admin"} and all(x["id"] for x in created.values())
    for username, row in created.items():
        token = client.post("/api/v1/auth/token", data={"username": username, "password": row["one_time_password"]})
        assert token.status_code == 200, username
    db.rollback()
    reg = db.scalar(select(User).where(User.username == "imp.reg"))
    assert reg.can_close and reg.display_name == "李监管" and reg.created_by_id == world.ids["admin_city"]
    ent = db.scalar(select(User).where(User.username == "imp.ent"))
    assert ent.enterprise_id == world.ids["chem"] and ent.region_code == "440305"
    actions = list(db.scalars(select(UserEvent.action).where(UserEvent.user_id == reg.id).order_by(UserEvent.id)))
    assert actions == ["created", "rights_granted"]

    again = _post(client, world, "admin_city", "users", content, name="用户.xlsx", dry_run="false").json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert all(x["one_time_password"] is None for x in again["rows"])

    rows = [list(x) for x in GOOD_USERS]
    rows[0][6] = "否"  # withdraw closing authority
    rows[1][1] = "王企业（安全员）"
    rows[2][2] = "监管人员"  # an import does not turn an administrator into an officer
    moved = _post(client, world, "admin_city", "users", csv_file(USER_HEAD, rows), dry_run="false")
    assert moved.status_code == 422 and [e["row"] for e in moved.json()["errors"]] == [4]
    rows[2][2] = "管理员"
    upd = _post(client, world, "admin_city", "users", csv_file(USER_HEAD, rows), dry_run="false").json()
    assert (upd["created"], upd["updated"], upd["unchanged"]) == (0, 2, 2)
    assert {x["key"]: x["changed"] for x in upd["rows"] if x["outcome"] == "updated"} == {
        "imp.reg": ["can_close"], "imp.ent": ["display_name"]
    }  # fmt: skip
    db.rollback()
    events = list(db.scalars(select(UserEvent).where(UserEvent.user_id == reg.id).order_by(UserEvent.id)))
    assert [e.action for e in events][-1] == "rights_withdrawn" and events[-1].data == {"rights": ["can_close"]}
    assert events[-1].actor_id == world.ids["admin_city"]


def test_an_import_keeps_the_ledger_imports_limits(client, world, settings):
    big = csv_file(HEAD, [GOOD[0]]) + b"," * (settings.attachment_max_bytes + 1)
    r = _post(client, world, "admin", "users", big)
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
    r = _post(client, world, "admin", "enterprises", b"PK\x03\x04garbage", name="x.xlsx")
    assert r.status_code == 422 and r.json()["code"] == "unreadable_file"
