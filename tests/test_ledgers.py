"""Ledgers out (CSV, XLSX: headings, content, scope) and in (dry run, bad rows, idempotent re-import)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from hazard_registry import clock
from hazard_registry.hazards.models import Hazard, HazardEvent
from hazard_registry.ledgers.export import HAZARD_HEADINGS
from tests import stats_data
from tests.factories import uscc


def _csv(r) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_hazard_ledger_csv_headings_content_and_scope(client, world, db):
    stats_data.load(db, world)
    rows = _csv(client.get("/api/v1/ledgers/hazards", headers=world.headers(client, "city")))
    assert rows[0] == HAZARD_HEADINGS
    assert rows[0][:4] == ["隐患编号", "状态", "来源", "企业名称"]
    assert sorted(r[0] for r in rows[1:]) == sorted(f"T-{k}" for k in stats_data.ROWS)
    h9 = next(r for r in rows if r[0] == "T-H9")
    assert h9[1] == "整改中" and h9[2] == "督导检查发现" and h9[3] == "福田测试化工有限公司"
    assert h9[5:7] == ["440304", "福田区"] and h9[11:14] == ["2022-05-01", "2023-01-01", "是"]
    h3 = next(r for r in rows if r[0] == "T-H3")
    assert h3[1] == "已销号" and h3[15] == "2024-01-20 10:00" and h3[13] == "否"

    futian = _csv(client.get("/api/v1/ledgers/hazards", headers=world.headers(client, "futian_officer")))
    assert sorted(r[0] for r in futian[1:]) == ["T-H10", "T-H9"]
    mine = _csv(client.get("/api/v1/ledgers/hazards", headers=world.headers(client, "ent_metal")))
    assert [r[0] for r in mine[1:]] == ["T-H8"]
    closed = _csv(
        client.get(
            "/api/v1/ledgers/hazards",
            params={"state": "closed", "region": "440305"},
            headers=world.headers(client, "city"),
        )
    )
    assert sorted(r[0] for r in closed[1:]) == ["T-H3", "T-H4", "T-H7", "T-H8"]


def test_hazard_ledger_xlsx(client, world, db):
    stats_data.load(db, world)
    r = client.get("/api/v1/ledgers/hazards", params={"format": "xlsx"}, headers=world.headers(client, "city"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HAZARD_HEADINGS and len(rows) == 1 + len(stats_data.ROWS)


def test_statistics_table_exports(client, world, db):
    stats_data.load(db, world)
    params = {"table": "breakdown", "by": "region", "region": "440300", "as_of": "2026-06-30"}
    rows = _csv(client.get("/api/v1/ledgers/statistics", params=params, headers=world.headers(client, "city")))
    assert rows[0][:6] == ["行政区划代码", "行政区划", "发现数", "未整改", "逾期", "已销号"]
    assert [r[:6] for r in rows[1:]] == [
        ["440304", "福田区", "2", "1", "1", "1"],
        ["440305", "南山区", "6", "3", "2", "3"],
    ]
    trend = _csv(
        client.get(
            "/api/v1/ledgers/statistics",
            params={"table": "trend", "region": "440305", "as_of": "2024-06-30", "months": 2},
            headers=world.headers(client, "city"),
        )
    )
    assert trend == [["月份", "发现数", "销号数"], ["2024-05", "0", "0"], ["2024-06", "0", "1"]]
    x = client.get(
        "/api/v1/ledgers/statistics",
        params={"table": "summary", "format": "xlsx"},
        headers=world.headers(client, "city"),
    )
    ws = load_workbook(io.BytesIO(x.content), read_only=True).worksheets[0]
    head, first = list(ws.iter_rows(values_only=True))
    assert head[:3] == ("截至日期", "行政区划代码", "发现数") and first[2] == 9  # as of today: H5 too
    clear = _csv(
        client.get(
            "/api/v1/ledgers/statistics",
            params={"table": "clearance", "region": "440300", "as_of": "2026-06-30"},
            headers=world.headers(client, "city"),
        )
    )
    assert clear == [
        ["行政区划代码", "行政区划", "动态清零", "逾期未整改", "未整改", "存量未整改", "存量清零"],
        ["440300", "合计", "否", "3", "4", "2", "否"],
        ["440304", "福田区", "否", "1", "1", "1", "否"],
        ["440305", "南山区", "否", "2", "3", "1", "否"],
    ]
    bad = client.get("/api/v1/ledgers/statistics", params={"table": "x"}, headers=world.headers(client, "city"))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


CHEM = uscc("91440300MA5T00001")
FUTIAN = uscc("91440300MA5T00004")
HEAD = ["序号", "统一社会信用代码", "隐患名称", "隐患描述", "隐患部位", "发现日期", "判定依据条款ID", "是否停产"]


def _ledger(world, rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEAD)
    for i, row in enumerate(rows, start=1):
        w.writerow([i, *row])
    return buf.getvalue().encode("utf-8-sig")


def _post(client, world, user, content, name="台账.csv", **form):
    return client.post(
        "/api/v1/ledgers/imports",
        files={"file": (name, content, "text/csv")},
        data={k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v) for k, v in form.items()},
        headers=world.headers(client, user),
    )


def _count(db, model) -> int:
    db.rollback()  # a fresh snapshot: what the requests committed since
    return db.scalar(select(func.count()).select_from(model))


def test_import_dry_run_reports_every_bad_row_then_imports_once(client, world, db):
    c = world.clause_chem
    day = (clock.today_in_china() - timedelta(days=30)).isoformat()
    future = (clock.today_in_china() + timedelta(days=5)).isoformat()
    content = _ledger(
        world,
        [
            [CHEM, "储罐区未设置紧急切断", "液氨储罐未设紧急切断阀", "储罐区", day, c, "否"],  # row 2: good
            [uscc("91440300MA5T00099"), "甲", "乙", "", day, c, "否"],  # row 3: unknown enterprise
            [CHEM, "乙", "丙", "", "2024-13-45", c, "否"],  # row 4: bad date
            [CHEM, "丁", "戊", "", future, c, "否"],  # row 5: found in the future (the service's own check)
            [CHEM, "", "戊", "", day, c, "否"],  # row 6: no title
            [CHEM, "储罐区未设置紧急切断", "液氨储罐未设紧急切断阀", "储罐区", day, c, "否"],  # row 7: same as row 2
            [CHEM, "己", "庚", "", f"{day[:4]}年{int(day[5:7])}月{int(day[8:])}日", c, "是"],  # row 8: good
            [CHEM, "辛", "壬", "", day, "abc", "否"],  # row 9: bad clause id
            [CHEM, "辛", "壬", "", day, c, "也许"],  # row 10: bad 是否停产
            [FUTIAN, "癸", "子", "", day, c, "否"],  # row 11: outside the 南山 officer's region
        ],
    )
    dry = _post(client, world, "officer", content)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True and report["rows_total"] == 10
    assert [r["row"] for r in report["imported"]] == [2, 8]
    assert report["skipped"] == [{"row": 7, "reason": "same hazard as row 2"}]
    bad = {b["row"]: (b["field"], b["reason"]) for b in report["bad"]}
    assert set(bad) == {3, 4, 5, 6, 9, 10, 11}
    assert bad[3][0] == "enterprise_uscc" and bad[4][0] == "found_at" and bad[5][0] == "found_at"
    assert "future" in bad[5][1] and bad[6][0] == "title" and bad[9][0] == "clause_id"
    assert bad[10][0] == "production_suspended" and "not found" in bad[11][1]
    assert _count(db, Hazard) == 0 and _count(db, HazardEvent) == 0

    real = _post(client, world, "officer", content, dry_run="false").json()
    assert real["dry_run"] is False and real["import_id"] is not None
    assert [r["row"] for r in real["imported"]] == [2, 8] and all(r["hazard_id"] for r in real["imported"])
    assert _count(db, Hazard) == 2
    hid = real["imported"][0]["hazard_id"]
    events = client.get(f"/api/v1/hazards/{hid}/events", headers=world.headers(client, "officer")).json()["items"]
    assert [e["action"] for e in events] == ["report", "import"]
    assert events[1]["data"]["row"] == 2 and events[1]["note"] == "台账.csv row 2"
    h = client.get(f"/api/v1/hazards/{hid}", headers=world.headers(client, "officer")).json()
    assert h["source"] == "inspection" and h["state"] == "reported" and h["enterprise"]["uscc"] == CHEM
    assert client.get(
        f"/api/v1/hazards/{real['imported'][1]['hazard_id']}", headers=world.headers(client, "officer")
    ).json()["production_suspended"]

    again = _post(client, world, "officer", content, dry_run="false").json()
    assert again["imported"] == [] and sorted(s["row"] for s in again["skipped"]) == [2, 7, 8]
    assert _count(db, Hazard) == 2


def test_import_xlsx_with_column_mapping(client, world, db):
    wb = Workbook()
    ws = wb.active
    ws.append(["Credit code", "Hazard", "Details", "Found"])
    ws.append([CHEM, "消防通道堵塞", "二层疏散通道堆放杂物", clock.today_in_china() - timedelta(days=3)])
    buf = io.BytesIO()
    wb.save(buf)
    mapping = {"Credit code": "enterprise_uscc", "Hazard": "title", "Details": "description", "Found": "found_at"}
    r = _post(client, world, "ent_chem", buf.getvalue(), name="ledger.xlsx", mapping=mapping, dry_run="false")
    assert r.status_code == 422 and r.json()["code"] == "missing_columns"  # no clause column
    ws["E1"], ws["E2"] = "Clause", world.clause_chem
    buf = io.BytesIO()
    wb.save(buf)
    r = _post(
        client,
        world,
        "ent_chem",
        buf.getvalue(),
        name="ledger.xlsx",
        mapping={**mapping, "Clause": "clause_id"},
        dry_run="false",
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 1 and r.json()["bad"] == []
    hz = db.scalar(select(Hazard))
    assert hz.source == "self_report" and hz.title == "消防通道堵塞"


def test_import_refuses_malformed_input(client, world, db):
    ok = _ledger(world, [])
    assert _post(client, world, "officer", ok, mapping="not json").json()["code"] == "invalid_mapping"
    assert _post(client, world, "officer", ok, mapping={"x": "planet"}).json()["code"] == "invalid_mapping"
    assert _post(client, world, "officer", b"").json()["code"] == "file_empty"
    broken = _post(client, world, "officer", b"PK\x03\x04garbage", name="x.xlsx")
    assert broken.status_code == 422 and broken.json()["code"] == "unreadable_file"
    assert _post(client, world, "admin", ok).status_code == 403
    assert _post(client, world, "officer", b"\xff\xfe\x00garbage,,\n1,2").status_code == 422


def test_xlsx_continues_on_a_new_sheet_past_the_sheet_limit(client, world, db, monkeypatch):
    from hazard_registry.ledgers import export

    stats_data.load(db, world)
    monkeypatch.setattr(export, "SHEET_ROWS", 4)
    r = client.get("/api/v1/ledgers/hazards", params={"format": "xlsx"}, headers=world.headers(client, "city"))
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    sheets = [list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]
    assert all(list(s[0]) == HAZARD_HEADINGS for s in sheets)
    assert sum(len(s) - 1 for s in sheets) == len(stats_data.ROWS) and len(sheets) == 3


def test_exports_respect_scope_and_refuse_bad_parameters(client, world, db):
    stats_data.load(db, world)
    params = {"table": "breakdown", "by": "region", "region": "440300", "as_of": "2026-06-30"}
    rows = _csv(
        client.get("/api/v1/ledgers/statistics", params=params, headers=world.headers(client, "futian_officer"))
    )
    assert [r[0] for r in rows[1:]] == ["440304"]
    for bad in ({"format": "pdf"}, {"state": "nonsense"}, {"region": "12"}, {"found_from": "yesterday"}):
        r = client.get("/api/v1/ledgers/hazards", params=bad, headers=world.headers(client, "city"))
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/ledgers/hazards").status_code == 401


def test_import_reads_gbk_csv(client, world, db):
    day = (clock.today_in_china() - timedelta(days=2)).isoformat()
    text = (
        "统一社会信用代码,隐患名称,隐患描述,发现日期,判定依据条款ID\n"
        + f"{CHEM},粉尘涉爆,除尘系统未设泄爆,{day},{world.clause_chem}\n"
    )
    r = _post(client, world, "officer", text.encode("gb18030"), dry_run="false")
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 1
    assert db.scalar(select(Hazard.title)) == "粉尘涉爆"


def test_import_damaged_csv_is_422(client, world, db):
    content = "统一社会信用代码,隐患名称\n".encode() + b'a,"' + b"x" * 140_000 + b'"\n'  # past csv's field limit
    r = _post(client, world, "officer", content)
    assert r.status_code == 422 and r.json()["code"] == "unreadable_file"
