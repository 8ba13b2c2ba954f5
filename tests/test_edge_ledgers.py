"""Hostile ledgers: decompression bombs refused before parsing, formulas neutralised in exports, exports that
fail before or during streaming told apart from a complete file."""

from __future__ import annotations

import time
import tracemalloc

from tests import edge
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
