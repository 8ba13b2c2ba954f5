"""Blank import templates: the Chinese headings a file must carry (XLSX or CSV), and in an XLSX a second
sheet, 填写说明, saying per column its English field name, whether it is required, what to write and an
example. The reader takes the first sheet only, so the notes are never imported. Cells go through the
export's neutralisation (``ledgers.export``): nothing in a template can run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Font

from hazard_registry.imports.tables import Table
from hazard_registry.ledgers.export import CSV_TYPE, XLSX_TYPE, csv_cell, is_formula_like


def template(table: Table, fmt: str, title: str, example: Sequence[str] = ()) -> tuple[bytes, str, dict[str, str]]:
    """The template's bytes, media type and download headers."""
    headings = [c.heading for c in table.columns]
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # Excel and WPS open UTF-8 with a BOM as UTF-8
        csv.writer(buf).writerow([csv_cell(h) for h in headings])
        body, media = buf.getvalue().encode(), CSV_TYPE
    else:
        wb = Workbook()
        ws = wb.active
        ws.title = title[:31]
        ws.append(headings)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            ws.column_dimensions[cell.column_letter].width = max(12, 2 * len(str(cell.value)) + 2)
        notes = wb.create_sheet("填写说明")
        notes.append(["列名", "字段 (field)", "必填", "说明", "示例"])
        examples = list(example) + [""] * len(headings)
        for c, ex in zip(table.columns, examples, strict=False):
            required = "是" if c.required else ("二选一" if any(c.field in g for g in table.one_of) else "否")
            notes.append([_text(v) for v in (c.heading, c.field, required, c.note, ex)])
        out = io.BytesIO()
        wb.save(out)
        body, media = out.getvalue(), XLSX_TYPE
    name = f"{title}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename=\"template.{fmt}\"; filename*=UTF-8''{quote(name)}"}
    return body, media, headers


def _text(v: str) -> str:
    # openpyxl writes a string beginning with "=" as a live formula; a template has no reason to hold one.
    return "'" + v if is_formula_like(v) else v
