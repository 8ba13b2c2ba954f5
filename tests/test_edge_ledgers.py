"""Hostile ledgers: decompression bombs refused before parsing, formulas neutralised in exports, exports that
fail before or during streaming told apart from a complete file."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
import zipfile
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy.exc import OperationalError

from hazard_registry.ledgers import export
from tests import edge
from tests.factories import hazard_body
from tests.test_ledgers import _post

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _post_xlsx(client, world, content: bytes):
    return _post(client, world, "officer", content, name="台账.xlsx")


def test_xlsx_bomb_is_refused_before_it_is_parsed(client, world, db):
    bomb = edge.empty_cells_bomb(2_000_000)  # 12 KB on the wire, 8 MB of XML, two million cells in one row
    assert len(bomb) < 20_000
    tracemalloc.start()
    started = time.monotonic()
    r = _post_xlsx(client, world, bomb)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "xlsx_too_large"
    assert peak < 30 * 1024 * 1024 and elapsed < 5


def test_xlsx_wider_than_any_ledger_is_refused_without_reading_the_row(client, world, db):
    r = _post_xlsx(client, world, edge.wide_row(1500))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "too_many_cells"


def test_ordinary_xlsx_still_reads(client, world, db):
    sheet = edge.HEAD + '<row r="1"><c r="A1"><v>1</v></c></row>' + edge.TAIL
    r = _post_xlsx(client, world, edge.xlsx_with_sheet(sheet))
    assert r.status_code == 422 and r.json()["code"] == "missing_columns"  # read, then found wanting


ATTACKS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1"]


def _hazards_titled(client, world, titles):
    for t in titles:
        r = client.post("/api/v1/hazards", json=hazard_body(world, title=t), headers=world.headers(client, "ent_chem"))
        assert r.status_code == 201, r.text


def test_exports_neutralise_formulas_and_keep_the_register_as_written(client, world, db):
    _hazards_titled(client, world, ATTACKS)
    officer = world.headers(client, "officer")
    stored = sorted(h["title"] for h in client.get("/api/v1/hazards", headers=officer).json()["items"])
    assert len(stored) == len(ATTACKS) and all(t[0] in "=+-@\t\r" for t in stored)
    r = client.get("/api/v1/ledgers/hazards", headers=officer)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    titles = sorted(row[9] for row in rows[1:])
    assert titles == sorted("'" + t for t in stored)

    r = client.get("/api/v1/ledgers/hazards", params={"format": "xlsx"}, headers=officer)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet  # no cell is a formula
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    cells = [row[9] for row in ws.iter_rows(min_row=2)]
    assert sorted(c.value for c in cells) == stored  # shown as typed, as text
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    found = [row[11] for row in ws.iter_rows(min_row=2)]
    assert all(isinstance(c.value, datetime) for c in found)  # dates stay dates
    again = sorted(h["title"] for h in client.get("/api/v1/hazards", headers=officer).json()["items"])
    assert again == stored  # the register keeps what was written


def _failing_rows(after: int):
    def rows(session, actor, f, today):
        for n in range(after):
            yield [f"T-{n}", "整改中", "企业自查上报", "企业", "", "440305", "南山区", "26", "", "标题", "", None, None]
        raise OperationalError("SELECT …", {}, Exception("server closed the connection unexpectedly"))

    return rows


def test_an_export_whose_query_fails_is_an_error_not_an_empty_200(client, world, monkeypatch):
    monkeypatch.setattr(export, "hazard_rows", _failing_rows(0))
    for fmt in ("csv", "xlsx"):
        r = client.get("/api/v1/ledgers/hazards", params={"format": fmt}, headers=world.headers(client, "officer"))
        assert r.status_code == 503, r.text[:200]
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "database_unavailable" and r.headers["retry-after"]


def test_an_export_failing_mid_stream_ends_with_a_marker_not_a_clean_end(client, world, monkeypatch):
    monkeypatch.setattr(export, "hazard_rows", _failing_rows(export.BATCH + 10))
    r = client.get("/api/v1/ledgers/hazards", headers=world.headers(client, "officer"))
    assert r.status_code == 200  # the headers were out before the failure
    lines = r.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + export.BATCH + 1  # headings, the rows sent, then the marker
    assert lines[-1].startswith("#导出中断") and "incomplete" in lines[-1]
