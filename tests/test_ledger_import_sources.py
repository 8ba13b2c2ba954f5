"""What a district's ledger really holds (#14): each row's true source, the clause by standard code and clause
number (the edition in force on the found date), and the register's own export imported back unchanged."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from hazard_registry import clock
from hazard_registry.hazards.models import Hazard
from hazard_registry.ledgers.export import HAZARD_HEADINGS
from hazard_registry.reference.models import StandardClause
from tests.conftest import _wipe
from tests.factories import uscc
from tests.flow import Flow
from tests.onboarding import csv_file

CHEM = uscc("91440300MA5T00001")
METAL = uscc("91440300MA5T00002")
HEAD = ["统一社会信用代码", "隐患名称", "隐患描述", "发现日期", "判定依据条款ID", "判定标准", "条款号", "来源"]


def _post(client, world, user, content, name="台账.csv", dry_run="false"):
    return client.post(
        "/api/v1/ledgers/imports",
        files={"file": (name, content, "text/csv")},
        data={"dry_run": dry_run},
        headers=world.headers(client, user),
    )


def _day(days_ago: int = 20) -> str:
    return (clock.today_in_china() - timedelta(days=days_ago)).isoformat()


def _clause(db, clause_id: int) -> StandardClause:
    return db.scalar(select(StandardClause).where(StandardClause.id == clause_id))


def test_a_regulator_importing_keeps_each_rows_true_source(client, world, db):
    c = world.clause_chem
    rows = [
        [CHEM, "企业自报的隐患", "描述一", _day(), c, "", "", "企业自报"],  # 2
        [CHEM, "举报核实的隐患", "描述二", _day(), c, "", "", "举报核实"],  # 3
        [CHEM, "监管检查的隐患", "描述三", _day(), c, "", "", "监管检查"],  # 4
        [CHEM, "没有来源的隐患", "描述四", _day(), c, "", "", ""],  # 5: the importer's own, an inspection
        [CHEM, "来源不明的隐患", "描述五", _day(), c, "", "", "路人甲"],  # 6
        [CHEM, "英文来源", "描述六", _day(), c, "", "", "self_report"],  # 7
    ]
    r = _post(client, world, "officer", csv_file(HEAD, rows))
    assert r.status_code == 200, r.text
    report = r.json()
    assert [b["row"] for b in report["bad"]] == [6] and report["bad"][0]["field"] == "source"
    assert "来源" in report["bad"][0]["reason"] and "企业自报" in report["bad"][0]["reason"]
    db.rollback()
    sources = dict(db.execute(select(Hazard.title, Hazard.source)).all())
    assert sources == {
        "企业自报的隐患": "self_report",
        "举报核实的隐患": "public_report",
        "监管检查的隐患": "inspection",
        "没有来源的隐患": "inspection",
        "英文来源": "self_report",
    }
    # An enterprise's own ledger holds its self-reports: it cannot enter an inspection's finding.
    mine = _post(client, world, "ent_chem", csv_file(HEAD, [[CHEM, "自称检查", "x", _day(), c, "", "", "监管检查"]]))
    assert mine.json()["bad"][0]["field"] == "source" and "来源" in mine.json()["bad"][0]["reason"]


def test_a_clause_by_standard_code_and_number_in_force_on_the_found_date(client, world, db):
    chem = _clause(db, world.clause_chem)
    trade = _clause(db, world.clause_trade)
    old = _clause(db, world.clause_old)
    before_old_ended = (world.old_until - timedelta(days=30)).isoformat()
    rows = [
        [CHEM, "按文号", "d", _day(), "", chem.standard.document_number, chem.number, ""],  # 2
        [METAL, "按标准名称", "d", _day(), "", trade.standard.family, trade.number, ""],  # 3: the edition in force
        [METAL, "旧版标准", "d", _day(), "", old.standard.document_number, old.number, ""],  # 4: superseded today
        [METAL, "旧版当时有效", "d", before_old_ended, "", old.standard.document_number, old.number, ""],  # 5
        [CHEM, "没有此标准", "d", _day(), "", "AQ 3013-2008", "5.2.1", ""],  # 6
        [CHEM, "没有此条款", "d", _day(), "", chem.standard.document_number, "99.99", ""],  # 7
        [CHEM, "只有条款号", "d", _day(), "", "", "5.2.1", ""],  # 8
        # 9: the document number written with other spacing and case still names the edition
        [CHEM, "文号空格", "d", _day(), "", " ".join(chem.standard.document_number).lower(), chem.number, ""],
    ]
    r = _post(client, world, "officer", csv_file(HEAD, rows))
    assert r.status_code == 200, r.text
    report = r.json()
    bad = {b["row"]: (b["field"], b["reason"]) for b in report["bad"]}
    assert sorted(bad) == [4, 6, 7, 8]
    assert bad[4][0] == "standard_code" and "not in force" in bad[4][1]
    assert bad[6][0] == "standard_code" and bad[7][0] == "clause_number" and bad[8][0] == "standard_code"
    db.rollback()
    clauses = dict(db.execute(select(Hazard.title, Hazard.clause_id)).all())
    assert clauses == {
        "按文号": chem.id,
        "按标准名称": trade.id,
        "旧版当时有效": old.id,
        "文号空格": chem.id,
    }


KEPT = ["来源", "企业名称", "统一社会信用代码", "行政区划代码", "隐患名称", "隐患部位", "发现日期", "是否停产",
        "隐患描述", "判定标准", "条款号"]  # fmt: skip


def _export(client, world, **params) -> tuple[list[list[str]], bytes]:
    r = client.get("/api/v1/ledgers/hazards", params=params, headers=world.headers(client, "officer"))
    assert r.status_code == 200
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))), r.content


def _kept(rows: list[list[str]]) -> list[tuple[str, ...]]:
    cols = [rows[0].index(h) for h in KEPT]
    return sorted(tuple(r[i] for i in cols) for r in rows[1:])


def test_the_registers_export_imports_back_as_the_same_hazards(app, client, world, db):
    flow = Flow(client, world)
    flow.report("ent_chem", title="=1+1 储罐区（企业自报）", location="储罐区")
    flow.report("officer", enterprise_id=world.ids["metal"], clause_id=world.clause_trade, title="粉尘涉爆",
                description="除尘系统未泄爆\n第二行", production_suspended=True)  # fmt: skip
    flow.report("officer", enterprise_id=world.ids["chem"], found_at=date(2024, 3, 1).isoformat(), title="老隐患")
    flow.report("futian_officer", enterprise_id=world.ids["futian"], title="福田的隐患")  # not in the filter
    exported, content = _export(client, world, region="440305")
    assert exported[0] == HAZARD_HEADINGS and len(exported) == 4
    assert any(r[exported[0].index("隐患名称")] == "'=1+1 储罐区（企业自报）" for r in exported)  # neutralised

    _wipe(app)  # a fresh register: the reference data (regions, enterprises, standards) stays
    r = _post(client, world, "officer", content, name="导出台账.csv")
    assert r.status_code == 200, r.text
    assert r.json()["bad"] == [] and len(r.json()["imported"]) == 3
    again, _ = _export(client, world, region="440305")
    assert _kept(again) == _kept(exported)
    db.rollback()
    assert db.scalar(select(Hazard.title).where(Hazard.source == "self_report")) == "=1+1 储罐区（企业自报）"

    twice = _post(client, world, "officer", content, name="导出台账.csv").json()
    assert twice["imported"] == [] and len(twice["skipped"]) == 3 and twice["bad"] == []
    assert _kept(_export(client, world, region="440305")[0]) == _kept(exported)


def test_the_ledger_template_is_what_the_import_reads(client, world):
    x = client.get("/api/v1/ledgers/imports/template", headers=world.headers(client, "officer"))
    assert x.status_code == 200
    head = [c.value for c in load_workbook(io.BytesIO(x.content)).worksheets[0][1]]
    assert head[:3] == ["统一社会信用代码", "隐患名称", "隐患描述"] and "来源" in head and "条款号" in head
    back = _post(client, world, "officer", x.content, name="模板.xlsx", dry_run="true")
    assert back.status_code == 200 and back.json()["rows_total"] == 0
