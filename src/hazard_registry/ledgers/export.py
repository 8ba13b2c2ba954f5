"""Ledgers out: CSV and XLSX, with Chinese headings, streamed in bounded memory.

Rows come from a server-side cursor (``yield_per``: psycopg names a cursor, SQLite steps its statement), are
written in batches and sent as they are written, so memory stays flat however many rows the list holds. An
XLSX workbook is a zip that can only be closed at the end: openpyxl's write-only mode spools each sheet to a
temporary file, and the finished file is sent in chunks.

A response cannot change its status once its headers are out, so the first chunk is produced before they
are sent: a query that fails, fails as an honest error (503 for a lost database) rather than a 200 with an
empty file. A failure after that (the database lost mid-export) ends a CSV with an explicit marker line and
aborts the connection, so the client sees an incomplete transfer, never a shorter file that looks whole.

Enterprise users write the titles and places that regulators open in Excel or WPS: a text cell that begins
with ``= + - @``, a tab or a carriage return would run as a formula (or DDE command) there. Such text goes
out neutralised and the register keeps it as written: in CSV it is prefixed with a single quote (OWASP's
CSV-injection advice), in XLSX it is a string cell carrying Excel's own quote-prefix mark, which shows the
text as typed and keeps it text when the cell is edited. Numbers and dates stay typed.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import case, func, literal, literal_column
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor
from hazard_registry.db import is_postgres
from hazard_registry.hazards.models import Hazard
from hazard_registry.hazards.overdue import overdue_sql
from hazard_registry.hazards.service import HazardFilters, filtered
from hazard_registry.i18n import labels
from hazard_registry.reference.models import Enterprise, Region, Standard, StandardClause
from hazard_registry.statistics import schemas as ss

log = logging.getLogger(__name__)

BATCH = 2000
INTERRUPTED = "#导出中断，文件不完整 / export interrupted: this file is incomplete\r\n".encode()
SHEET_ROWS = 1_000_000
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The ledger's words for states and sources are the catalogue's (hazard_registry.i18n), as on every page.
STATE_NAMES = dict(labels("hazard_state"))
SOURCE_NAMES = dict(labels("hazard_source"))

HAZARD_HEADINGS = [
    "隐患编号",
    "状态",
    "来源",
    "企业名称",
    "统一社会信用代码",
    "行政区划代码",
    "行政区划",
    "行业代码",
    "领域",
    "隐患名称",
    "隐患部位",
    "发现日期",
    "整改期限",
    "是否逾期",
    "是否停产",
    "销号时间",
    # What the import needs to take the row back (ledgers/importer.py): the register's file imports as it is.
    "隐患描述",
    "判定标准",
    "条款号",
]


def _closed_text(pg: bool) -> Any:
    # Formatted by the database, in China time (UTC+8, no daylight saving since 1991): no per-row Python work.
    if pg:
        return func.to_char(literal_column("hazards.closed_at + interval '8 hours'"), "YYYY-MM-DD HH24:MI")
    return func.strftime("%Y-%m-%d %H:%M", literal_column("hazards.closed_at"), "+8 hours")


def hazard_rows(session: Session, actor: Actor, f: HazardFilters, today: date) -> Iterator[Sequence[Any]]:
    """The filtered, scoped hazard list (the same selection as the API's list), newest first, as ledger rows.

    Every cell is produced by the query (names of states and sources, 是/否, China-time closing), so rows go
    from the cursor to the writer untouched."""
    stmt = (
        filtered(actor, f, today)
        .with_only_columns(
            Hazard.number,
            case(STATE_NAMES, value=Hazard.state, else_=Hazard.state),
            case(SOURCE_NAMES, value=Hazard.source, else_=Hazard.source),
            Enterprise.name,
            Enterprise.uscc,
            Hazard.region_code,
            Region.name,
            Hazard.industry_code,
            Hazard.sector_code,
            Hazard.title,
            Hazard.location,
            Hazard.found_at,
            Hazard.deadline,
            case((overdue_sql(today), literal("是")), else_=literal("否")),
            case((Hazard.production_suspended, literal("是")), else_=literal("否")),
            _closed_text(is_postgres(session)),
            Hazard.description,
            Standard.document_number,
            StandardClause.number,
        )
        .join_from(Hazard, Enterprise, Enterprise.id == Hazard.enterprise_id)
        .join_from(Hazard, Region, Region.code == Hazard.region_code)
        .join_from(Hazard, StandardClause, StandardClause.id == Hazard.clause_id)
        .join_from(StandardClause, Standard, Standard.id == StandardClause.standard_id)
        .order_by(Hazard.id.desc())
        .execution_options(yield_per=BATCH)
    )
    for partition in session.execute(stmt).partitions():
        yield from partition


FIGURE_HEADINGS = [
    "发现数",
    "未整改",
    "逾期",
    "已销号",
    "销号率",
    "存量",
    "存量未整改",
    "增量",
    "增量未整改",
    "整改用时中位数(天)",
    "整改用时P90(天)",
]
KEY_HEADINGS = {
    "region": ["行政区划代码", "行政区划"],
    "industry": ["行业代码", "行业"],
    "sector": ["领域代码", "领域"],
}


def figure_cells(f: ss.Figures) -> list[Any]:
    return [
        f.found,
        f.open,
        f.overdue,
        f.closed,
        f.clearance_rate,
        f.stock,
        f.stock_open,
        f.increment,
        f.increment_open,
        f.days_to_close_median,
        f.days_to_close_p90,
    ]


def breakdown_table(b: ss.Breakdown) -> tuple[list[str], list[list[Any]]]:
    return KEY_HEADINGS[b.by] + FIGURE_HEADINGS, [[r.key, r.name, *figure_cells(r.figures)] for r in b.rows]


def summary_table(s: ss.Summary) -> tuple[list[str], list[list[Any]]]:
    return ["截至日期", "行政区划代码", *FIGURE_HEADINGS], [[s.as_of, s.region, *figure_cells(s.figures)]]


def trend_table(t: ss.Trend) -> tuple[list[str], list[list[Any]]]:
    return ["月份", "发现数", "销号数"], [[m.month, m.found, m.closed] for m in t.months]


def clearance_table(c: ss.Clearance) -> tuple[list[str], list[list[Any]]]:
    def cells(st: ss.ClearanceStatus) -> list[Any]:
        return ["是" if st.clear else "否", st.overdue, st.open, st.stock_open, "是" if st.stock_target_met else "否"]

    head = ["行政区划代码", "行政区划", "动态清零", "逾期未整改", "未整改", "存量未整改", "存量清零"]
    return head, [[c.region or "", "合计", *cells(c.status)]] + [[r.key, r.name, *cells(r.status)] for r in c.children]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(v: Any) -> bool:
    return isinstance(v, str) and v.startswith(FORMULA_START)


def csv_cell(v: Any) -> Any:
    return "'" + v if is_formula_like(v) else v


def _cell(ws: WriteOnlyWorksheet, v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat()
    if isinstance(v, str) and is_formula_like(v):
        cell = WriteOnlyCell(ws, value=v)
        cell.data_type = "s"  # openpyxl would otherwise write any "=…" as a live formula
        cell.quotePrefix = True
        return cell
    return v


def csv_stream(headings: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese headings correctly; sent every BATCH rows."""
    buf = io.StringIO()
    w = csv.writer(buf)
    buf.write("\ufeff")
    w.writerow(headings)
    for n, row in enumerate(rows, start=1):
        w.writerow([csv_cell(v) for v in row])
        if n % BATCH == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def xlsx_stream(title: str, headings: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append(list(headings))
    for n, row in enumerate(rows, start=1):
        if n % SHEET_ROWS == 0:  # a sheet holds 1,048,576 rows: continue on the next one, headings repeated
            ws = wb.create_sheet(title=f"{title[:27]}_{n // SHEET_ROWS + 1}")
            ws.append(list(headings))
        ws.append([_cell(ws, v) for v in row])
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        while chunk := tmp.read(1 << 16):
            yield chunk


def stream(
    fmt: str, title: str, headings: Sequence[str], rows: Iterable[Sequence[Any]]
) -> tuple[Iterator[bytes], str, dict[str, str]]:
    """The body (its first chunk already produced, see the module's docstring), media type and headers."""
    name = f"{title}.{fmt}"
    headers = {"Content-Disposition": f"attachment; filename=\"ledger.{fmt}\"; filename*=UTF-8''{quote(name)}"}
    if fmt == "csv":
        return primed(csv_stream(headings, rows), INTERRUPTED), CSV_TYPE, headers
    # An XLSX is written whole (every row read) before its first byte can go out.
    return primed(xlsx_stream(title, headings, rows), b""), XLSX_TYPE, headers


def primed(chunks: Iterator[bytes], marker: bytes) -> Iterator[bytes]:
    """Produce the first chunk now (an error here is an ordinary error response); afterwards, an error ends
    the body with ``marker`` and is raised again, which aborts the connection mid-transfer."""
    first = next(chunks, b"")

    def rest() -> Iterator[bytes]:
        yield first
        try:
            yield from chunks
        except Exception:
            log.exception("export interrupted after its headers were sent")
            if marker:
                yield marker
            raise

    return rest()


def hazard_ledger(
    app_state: Any, actor: Actor, filters: HazardFilters, fmt: str, today: date
) -> tuple[Iterator[bytes], str, dict[str, str]]:
    """The hazard ledger of exactly ``filters`` in ``actor``'s scope, streamed from its own read-only session
    (the API's export and the console's both answer with this)."""
    rows = in_own_session(
        lambda: app_state.sessionmaker(bind=app_state.read_engine), lambda s: hazard_rows(s, actor, filters, today)
    )
    return stream(fmt, "重大事故隐患台账", HAZARD_HEADINGS, rows)


def in_own_session(open_session: Callable[[], Session], produce: Callable[[Session], Iterable[Any]]) -> Iterator[Any]:
    """Run ``produce`` in a session that lives exactly as long as the response body is being sent."""
    with open_session() as session:
        yield from produce(session)
