"""Reading a spreadsheet: XLSX (first sheet) or CSV (UTF-8 or GBK), headings in the first row.

An XLSX is a zip of XML: what it holds is checked from the zip's directory and a streaming count of its cells
before openpyxl parses anything (openpyxl reads a whole row into memory, however wide). Columns are found by
their heading — Chinese or English, or a heading the caller maps to a field — and cells are turned into
values by the small parsers below, which raise ``RowError`` naming the field and the reason in Chinese.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.parsers.expat import ExpatError, ParserCreate

from openpyxl import load_workbook

from hazard_registry.errors import InvalidInput, PayloadTooLarge

MAX_COLUMNS = 200  # a register has a few dozen columns at most; cells right of this are never read
MAX_CELLS_PER_ROW = 1024
MAX_RATIO = 100  # deflated XML of real sheets is 5-20x smaller; a bomb's is hundreds to thousands of times
RATIO_FROM_BYTES = 1 << 20  # small members (styles, a one-row sheet) may compress well; they cost nothing
MAX_MEMBERS = 1000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what an export neutralises with a leading quote (CSV)

_DATE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*$"
)
_YES = ("是", "y", "yes", "true", "1", "√")
_NO = ("否", "n", "no", "false", "0", "×")


class RowError(Exception):
    """A row that cannot be taken: the field at fault (None for the whole row) and why, Chinese first."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Column:
    """A field of an import and the headings that name it: the template's Chinese one, the English one
    (the field's own name) and other words registers use for it."""

    field: str
    heading: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    note: str = ""  # the template's hint under the heading (what to write)

    def headings(self) -> tuple[str, ...]:
        return (self.heading, self.field, *self.aliases)


@dataclass(frozen=True)
class Table:
    """The columns of one kind of import. ``one_of``: groups of fields of which one group must be present
    in full (a hazard's clause: its id, or its standard's code with the clause's number)."""

    columns: tuple[Column, ...]
    one_of: tuple[tuple[str, ...], ...] = ()

    @property
    def fields(self) -> dict[str, str]:
        return {c.field: c.heading for c in self.columns}

    def heading(self, field: str) -> str:
        return self.fields.get(field, field)


def check_xlsx(filename: str, data: bytes, max_rows: int, max_unzipped: int) -> None:
    """Refuse a decompression bomb before parsing: the members' declared sizes (zipfile never inflates a
    member beyond its declared size, so they cannot lie), their compression ratio, and then a streaming count
    of the sheets' rows and cells that builds no tree."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidInput(f"{filename} is not a readable XLSX file", code="unreadable_file") from exc
    total = sum(i.file_size for i in infos)
    bomb = [i for i in infos if i.file_size > RATIO_FROM_BYTES and i.file_size > MAX_RATIO * max(i.compress_size, 1)]
    if len(infos) > MAX_MEMBERS or total > max_unzipped or bomb:
        raise PayloadTooLarge(
            f"{filename} unpacks to {total} bytes (limit {max_unzipped}, compression at most {MAX_RATIO}:1); "
            "a file this large cannot be imported — split the file",
            code="xlsx_too_large",
            limit=max_unzipped,
        )
    counter = _CellCounter(max_cells=(max_rows + 1) * MAX_COLUMNS, max_rows=2 * max_rows + 1000)
    try:
        for info in infos:
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                with zf.open(info) as member:
                    counter.feed(member)
    except (ExpatError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InvalidInput(f"{filename} is not a readable XLSX file", code="unreadable_file") from exc


class _CellCounter:
    """Counts <row> and <c> elements as expat meets them: no tree is built, so a row of a million cells costs
    nothing but the time to reach the limit."""

    def __init__(self, max_cells: int, max_rows: int) -> None:
        self.max_cells, self.max_rows = max_cells, max_rows
        self.cells = self.rows = self.in_row = 0

    def _start(self, name: str, _attrs: Any) -> None:
        tag = name.rpartition("}")[2].rpartition(":")[2]
        if tag == "c":
            self.cells += 1
            self.in_row += 1
            if self.in_row > MAX_CELLS_PER_ROW:
                raise _too_many_cells(f"row {self.rows} holds more than {MAX_CELLS_PER_ROW} cells")
            if self.cells > self.max_cells:
                raise _too_many_cells(f"the sheets hold more than {self.max_cells} cells")
        elif tag == "row":
            self.rows += 1
            self.in_row = 0
            if self.rows > self.max_rows:
                raise _too_many_cells(f"the sheets hold more than {self.max_rows} rows")

    def feed(self, stream: Any) -> None:
        parser = ParserCreate()
        parser.StartElementHandler = self._start
        while chunk := stream.read(1 << 16):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)


def _too_many_cells(why: str) -> InvalidInput:
    return InvalidInput(f"{why}; split the file", code="too_many_cells")


def read_table(
    filename: str, data: bytes, max_rows: int, max_unzipped: int = 64 << 20
) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The headings and the (row number, cells) of the first sheet of an XLSX, or of a CSV (UTF-8 or GBK)."""
    if data[:2] == b"PK":
        check_xlsx(filename, data, max_rows, max_unzipped)
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise InvalidInput(f"{filename} is not a readable XLSX file", code="unreadable_file") from exc
        it: Iterator[Any] = wb.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS)
    else:
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise InvalidInput(f"{filename} is neither UTF-8 nor GBK text", code="unreadable_file")
        it = ([_unquote(c) for c in row] for row in csv.reader(io.StringIO(text)))
    try:
        return _rows(it, max_rows)
    except (csv.Error, ValueError) as exc:  # NUL bytes, over-long fields, a damaged sheet
        raise InvalidInput(f"{filename} cannot be read: {exc}", code="unreadable_file") from exc


def _unquote(cell: str) -> str:
    """The text of a CSV cell that an export neutralised (``'=…``, see ledgers/export.py), as it was written."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_START):
        return cell[1:]
    return cell


def _rows(it: Iterator[Any], max_rows: int) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    try:
        head = next(it)
    except StopIteration:
        raise InvalidInput("the file is empty", code="file_empty") from None
    headings = [str(h).strip() if h is not None else "" for h in head]
    rows = []
    for n, cells in enumerate(it, start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        if len(rows) >= max_rows:
            raise InvalidInput(f"a file may hold at most {max_rows} rows; split the file", code="too_many_rows")
        rows.append((n, list(cells)))
    return headings, rows


def resolve_mapping(table: Table, headings: list[str], mapping: dict[str, str] | None) -> dict[int, str]:
    """Column index → field. ``mapping`` maps a heading of the file to a field; the columns' own headings
    (Chinese, English, aliases) fill the rest."""
    mapping = mapping or {}
    fields = table.fields
    unknown = sorted(set(mapping.values()) - set(fields))
    if unknown:
        raise InvalidInput(
            f"unknown fields in the mapping: {unknown}",
            code="invalid_mapping",
            errors=[{"field": "mapping", "message": f"fields are {sorted(fields)}"}],
        )
    by_heading = {h: c.field for c in table.columns for h in c.headings()} | mapping
    cols = {i: by_heading[h] for i, h in enumerate(headings) if h in by_heading}
    present = set(cols.values())
    missing = [c.field for c in table.columns if c.required and c.field not in present]
    if table.one_of and not any(set(group) <= present for group in table.one_of):
        missing += [f for f in table.one_of[0] if f not in present]
    if missing:
        alternatives = " or ".join("+".join(g) for g in table.one_of)
        raise InvalidInput(
            "the file lacks required columns: "
            + ", ".join(f"{f} ({fields[f]})" for f in missing)
            + (f" (the clause: {alternatives})" if table.one_of else ""),
            code="missing_columns",
            errors=[{"field": f, "message": f"缺少“{fields[f]}”列 (no column for {fields[f]})"} for f in missing],
        )
    return cols


def cells_of(cols: dict[int, str], cells: Sequence[Any]) -> dict[str, Any]:
    """The row's cells by field; a cell holding a NUL character is refused (PostgreSQL cannot store one)."""
    values = {field: cells[i] if i < len(cells) else None for i, field in cols.items()}
    for field, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            raise RowError(field, "不能包含NUL字符 (must not contain a NUL character \\u0000)")
    return values


# --- cells -------------------------------------------------------------------------------------------------------


def text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)  # a code typed into Excel comes back as 440305.0
    s = str(v).strip()
    return s or None


def required_text(table: Table, cells: dict[str, Any], field: str) -> str:
    value = text(cells.get(field))
    if value is None:
        raise RowError(field, f"“{table.heading(field)}”不能为空 ({field} is empty)")
    return value


def to_date(v: Any, field: str) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    m = _DATE.match(str(v or ""))
    if not m:
        raise RowError(field, f"不是日期：{v!r}，应写作2024-05-01 (not a date: {v!r}, expected 2024-05-01)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise RowError(field, f"不是日期：{v!r} (not a date: {v!r})") from exc


def to_bool(v: Any, field: str, default: bool | None = False) -> bool | None:
    s = text(v)
    if s is None:
        return default
    if s.lower() in _YES:
        return True
    if s.lower() in _NO:
        return False
    raise RowError(field, f"应填“是”或“否”，实为{v!r} (expected 是 or 否, got {v!r})")


def choice(v: Any, field: str, words: dict[str, str], what: str) -> str | None:
    """The value a cell names, by one of ``words`` (Chinese and English words → value) or the value itself."""
    s = text(v)
    if s is None:
        return None
    values = set(words.values())
    found = words.get(s) or words.get(s.lower()) or (s if s in values else None)
    if found is None:
        allowed = "、".join(k for k in words if not k.isascii())
        raise RowError(field, f"不是有效的{what}：{s!r}，可填{allowed} (unknown {field} {s!r})")
    return found
