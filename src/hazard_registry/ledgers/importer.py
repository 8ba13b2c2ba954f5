"""Ledgers in: a region's spreadsheet of hazards (重大事故隐患排查及整改情况明细表) entered into the register.

Each valid row becomes a hazard through ``hazards.service.report`` (the same checks as the API: scope,
clause in force, found-at not in the future) and gets an ``import`` event naming the file and row. A dry
run does all of that inside a savepoint and rolls it back, so it reports exactly what an import would do.
A row's natural key (enterprise, clause, found-at, title, location) is stored once imported: the same row
arriving again, from this file or another, is skipped, so importing a file twice creates nothing new.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from xml.parsers.expat import ExpatError, ParserCreate

from openpyxl import load_workbook
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.errors import DomainError, Forbidden, InvalidInput, PayloadTooLarge
from hazard_registry.hazards import schemas as hs
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.audit import append_event
from hazard_registry.ledgers import schemas
from hazard_registry.ledgers.models import LedgerImport, LedgerImportRow
from hazard_registry.reference.models import Enterprise

# Field → the heading a ledger uses by default (the column mapping can name others).
FIELDS = {
    "enterprise_uscc": "统一社会信用代码",
    "title": "隐患名称",
    "description": "隐患描述",
    "location": "隐患部位",
    "found_at": "发现日期",
    "clause_id": "判定依据条款ID",
    "region_code": "行政区划代码",
    "production_suspended": "是否停产",
    "source": "来源",
}
REQUIRED = ("enterprise_uscc", "title", "description", "found_at", "clause_id")
_SOURCES = {
    "企业自查上报": "self_report",
    "督导检查发现": "inspection",
    "群众举报查实": "public_report",
    "其他": "other",
}
_DATE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*$"
)


# An XLSX is a zip of XML: what it holds is checked from the zip's directory and a streaming count of its
# cells before openpyxl parses anything (openpyxl reads a whole row into memory, however wide).
MAX_COLUMNS = 200  # a ledger has about ten columns; cells right of this are never read
MAX_CELLS_PER_ROW = 1024
MAX_RATIO = 100  # deflated XML of real sheets is 5-20x smaller; a bomb's is hundreds to thousands of times
RATIO_FROM_BYTES = 1 << 20  # small members (styles, a one-row sheet) may compress well; they cost nothing
MAX_MEMBERS = 1000


class RowError(Exception):
    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


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
            "a ledger this large cannot be imported — split the file",
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
        it = iter(csv.reader(io.StringIO(text)))
    try:
        return _rows(it, max_rows)
    except (csv.Error, ValueError) as exc:  # NUL bytes, over-long fields, a damaged sheet
        raise InvalidInput(f"{filename} cannot be read: {exc}", code="unreadable_file") from exc


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
            raise InvalidInput(f"a ledger may hold at most {max_rows} rows; split the file", code="too_many_rows")
        rows.append((n, list(cells)))
    return headings, rows


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    m = _DATE.match(str(v or ""))
    if not m:
        raise RowError("found_at", f"not a date: {v!r} (expected 2024-05-01)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise RowError("found_at", f"not a date: {v!r}") from exc


def _bool(v: Any) -> bool:
    s = (_text(v) or "否").lower()
    if s in ("是", "y", "yes", "true", "1"):
        return True
    if s in ("否", "n", "no", "false", "0"):
        return False
    raise RowError("production_suspended", f"expected 是 or 否, got {v!r}")


def row_key(values: dict[str, Any]) -> str:
    parts = [values.get(k) or "" for k in ("enterprise_uscc", "clause_id", "found_at", "title", "location")]
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def _parse(cells: dict[str, Any]) -> dict[str, Any]:
    for field, value in cells.items():
        if isinstance(value, str) and "\x00" in value:
            raise RowError(field, "must not contain a NUL character (\\u0000)")
    out: dict[str, Any] = {k: _text(cells.get(k)) for k in FIELDS}
    for f in REQUIRED:
        if out[f] is None:
            raise RowError(f, f"{FIELDS[f]} is empty")
    out["found_at"] = _date(cells.get("found_at"))
    clause = out["clause_id"]
    if not re.fullmatch(r"\d{1,9}(\.0)?", clause):
        raise RowError("clause_id", f"not a clause id: {clause!r}")
    out["clause_id"] = int(float(clause))
    out["production_suspended"] = _bool(cells.get("production_suspended"))
    if out["source"] is not None:
        out["source"] = _SOURCES.get(out["source"], out["source"])
    return out


def resolve_mapping(headings: list[str], mapping: dict[str, str] | None) -> dict[int, str]:
    """Column index → field. ``mapping`` maps a heading of the file to a field; default headings fill the rest."""
    mapping = mapping or {}
    unknown = sorted(set(mapping.values()) - set(FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown fields in the mapping: {unknown}",
            code="invalid_mapping",
            errors=[{"field": "mapping", "message": f"fields are {sorted(FIELDS)}"}],
        )
    by_heading = {v: k for k, v in FIELDS.items()} | mapping
    cols = {i: by_heading[h] for i, h in enumerate(headings) if h in by_heading}
    missing = [f for f in REQUIRED if f not in cols.values()]
    if missing:
        raise InvalidInput(
            "the file lacks required columns: " + ", ".join(f"{f} ({FIELDS[f]})" for f in missing),
            code="missing_columns",
            errors=[{"field": f, "message": f"no column for {FIELDS[f]}"} for f in missing],
        )
    return cols


def run(
    session: Session,
    actor: Actor,
    *,
    filename: str,
    data: bytes,
    mapping: dict[str, str] | None,
    dry_run: bool,
    now: datetime,
    max_rows: int,
    max_unzipped: int = 64 << 20,
) -> schemas.ImportReport:
    """Check (and unless ``dry_run``, import) every row; one bad row never stops the others."""
    if actor.role not in (Role.regulator, Role.enterprise):
        raise Forbidden("ledgers are imported by a regulator or an enterprise", code="role_forbidden")
    headings, rows = read_table(filename, data, max_rows, max_unzipped)
    cols = resolve_mapping(headings, mapping)
    sha = hashlib.sha256(data).hexdigest()

    parsed: list[tuple[int, dict[str, Any] | None, RowError | None]] = []
    for n, cells in rows:
        values = {field: cells[i] if i < len(cells) else None for i, field in cols.items()}
        try:
            parsed.append((n, _parse(values), None))
        except RowError as err:
            parsed.append((n, None, err))
    usccs = {p["enterprise_uscc"] for _, p, _ in parsed if p}
    enterprises = dict(session.execute(select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(usccs))).all())
    keys = {row_key(p): n for n, p, _ in parsed if p}
    done: set[str] = set()
    key_list = list(keys)
    for i in range(0, len(key_list), 500):
        chunk = key_list[i : i + 500]
        done |= set(session.scalars(select(LedgerImportRow.row_key).where(LedgerImportRow.row_key.in_(chunk))))

    report = schemas.ImportReport(dry_run=dry_run, sha256=sha, rows_total=len(rows))
    outer = session.begin_nested()
    record = LedgerImport(sha256=sha, filename=filename[:255], imported_by_id=actor.user_id, imported_at=now)
    session.add(record)
    session.flush()
    seen: dict[str, int] = {}
    for n, p, err in parsed:
        if err is not None or p is None:
            report.bad.append(schemas.BadRow(row=n, field=err.field if err else None, reason=err.reason if err else ""))
            continue
        key = row_key(p)
        if key in done:
            report.skipped.append(schemas.SkippedRow(row=n, reason="already imported"))
            continue
        if key in seen:
            report.skipped.append(schemas.SkippedRow(row=n, reason=f"same hazard as row {seen[key]}"))
            continue
        seen[key] = n
        ent_id = enterprises.get(p["enterprise_uscc"])
        if ent_id is None:
            report.bad.append(
                schemas.BadRow(row=n, field="enterprise_uscc", reason="no enterprise with this 统一社会信用代码")
            )
            continue
        try:
            body = hs.HazardCreate(
                enterprise_id=ent_id,
                clause_id=p["clause_id"],
                title=p["title"],
                description=p["description"],
                location=p["location"],
                found_at=p["found_at"],
                source=p["source"],
                region_code=p["region_code"],
                production_suspended=p["production_suspended"],
            )
        except ValidationError as exc:
            e = exc.errors()[0]
            field = str(e["loc"][0]) if e.get("loc") else None
            report.bad.append(schemas.BadRow(row=n, field=field, reason=e.get("msg", "invalid")))
            continue
        try:
            with session.begin_nested():
                hazard = hazards.report(session, actor, body, now)
                append_event(
                    session,
                    hazard,
                    actor,
                    "import",
                    now=now,
                    from_state=hazard.state,
                    to_state=hazard.state,
                    note=f"{filename} row {n}",
                    data={"import_id": record.id, "file_sha256": sha, "row": n},
                )
                session.add(LedgerImportRow(import_id=record.id, row_number=n, row_key=key, hazard_id=hazard.id))
                session.flush()
        except DomainError as exc:
            report.bad.append(schemas.BadRow(row=n, field=_field_of(exc), reason=exc.detail))
            continue
        report.imported.append(schemas.ImportedRow(row=n, hazard_id=hazard.id, number=hazard.number))
    record.rows_total = len(rows)
    record.rows_imported = len(report.imported)
    record.rows_skipped = len(report.skipped)
    record.rows_bad = len(report.bad)
    session.flush()
    if dry_run:
        outer.rollback()
        for r in report.imported:
            r.hazard_id, r.number = None, None
    else:
        outer.commit()
        report.import_id = record.id
    report.bad.sort(key=lambda b: b.row)
    return report


def _field_of(exc: DomainError) -> str | None:
    errors = exc.extra.get("errors") or []
    return errors[0].get("field") if errors else None
