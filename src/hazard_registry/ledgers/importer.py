"""Ledgers in: a region's spreadsheet of hazards (重大事故隐患排查及整改情况明细表) entered into the register.

Read by the one import driver (``imports.driver``): each valid row becomes a hazard through
``hazards.service.report`` (the same checks as the API: scope, clause in force, found-at not in the future)
and gets an ``import`` event naming the file and row. One bad row never stops the others (the ledger kind is
not atomic); a dry run rolls everything back. A row's natural key (enterprise, clause, found-at, title,
location) is stored once imported: the same row arriving again, from this file or another, is skipped, so
importing a file twice creates nothing new.

What a district's ledger really holds is accepted: the row's true source (来源: 企业自报, 监管检查, 举报核实 …
— a regulator importing an enterprise's self-reports keeps them self-reports), and the clause as the standard's
code (document number, family or title) with the clause's number, the edition in force on the found date
being chosen (``reference.service.clause_by_number``) — or as the clause's id. A file the register exported
(``ledgers/export.py``) has all of these columns, so it imports back as the same hazards.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.errors import DomainError, Forbidden
from hazard_registry.hazards import schemas as hs
from hazard_registry.hazards import service as hazards
from hazard_registry.hazards.audit import append_event
from hazard_registry.i18n import labels
from hazard_registry.imports import driver
from hazard_registry.imports.driver import Batch, chunks, field_of, reason_of
from hazard_registry.imports.tables import Column, RowError, Table, choice, required_text, text, to_bool, to_date
from hazard_registry.ledgers import schemas
from hazard_registry.ledgers.models import LedgerImport, LedgerImportRow
from hazard_registry.reference.models import Enterprise
from hazard_registry.reference.service import clause_by_number, standards_by_code

TABLE = Table(
    columns=(
        Column("enterprise_uscc", "统一社会信用代码", required=True, aliases=("企业信用代码", "信用代码")),
        Column("title", "隐患名称", required=True),
        Column("description", "隐患描述", required=True, aliases=("隐患情况", "隐患内容")),
        Column("location", "隐患部位", aliases=("隐患位置", "部位")),
        Column("found_at", "发现日期", required=True, aliases=("排查日期", "发现时间")),
        Column("clause_id", "判定依据条款ID"),
        Column("standard_code", "判定标准", aliases=("判定标准编号", "标准编号", "判定依据")),
        Column("clause_number", "条款号", aliases=("判定依据条款", "条款")),
        Column("region_code", "行政区划代码"),
        Column("production_suspended", "是否停产"),
        Column("source", "来源", aliases=("隐患来源",)),
    ),
    one_of=(("clause_id",), ("standard_code", "clause_number")),
)
EXAMPLE = ["", "储罐区未设置紧急切断装置", "液氨储罐进出料管道未设置紧急切断阀", "储罐区", "2026-05-01", "",
           "应急管理部令第10号", "二（一）", "", "否", "企业自报"]  # fmt: skip
FIELDS = TABLE.fields  # field → the heading a ledger uses by default (the column mapping can name others)
# The catalogue's names (what the register exports) and the words district ledgers use, → the hazard's source.
SOURCES = {v: k for k, v in labels("hazard_source").items()} | {
    "企业自报": "self_report",
    "企业自查": "self_report",
    "自查自报": "self_report",
    "监管检查": "inspection",
    "督导检查": "inspection",
    "执法检查": "inspection",
    "检查发现": "inspection",
    "举报核实": "public_report",
    "举报查实": "public_report",
    "群众举报": "public_report",
}
# What a row gives the hazard's report (``HazardCreate``), besides the enterprise found by its credit code.
HAZARD_FIELDS = ("clause_id", "title", "description", "location", "found_at", "source", "region_code",
                 "production_suspended")  # fmt: skip
_CLAUSE_ID = re.compile(r"\d{1,9}")


def row_key(values: dict[str, Any]) -> str:
    parts = [values.get(k) or "" for k in ("enterprise_uscc", "clause_id", "found_at", "title", "location")]
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


class LedgerKind:
    table = TABLE
    atomic = False

    def parse(self, cells: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: text(cells.get(k)) for k in FIELDS}
        for c in TABLE.columns:
            if c.required:
                out[c.field] = required_text(TABLE, cells, c.field)
        out["enterprise_uscc"] = out["enterprise_uscc"].upper()
        out["found_at"] = to_date(cells.get("found_at"), "found_at")
        clause = out["clause_id"]
        if clause is not None:
            if not _CLAUSE_ID.fullmatch(clause):
                raise RowError("clause_id", f"不是条款ID：{clause!r} (not a clause id)")
            out["clause_id"] = int(clause)
        elif out["standard_code"] is None or out["clause_number"] is None:
            missing = "standard_code" if out["standard_code"] is None else "clause_number"
            raise RowError(
                missing, "判定依据须填条款ID，或填判定标准和条款号 (give the clause id, or standard and number)"
            )
        out["production_suspended"] = to_bool(cells.get("production_suspended"), "production_suspended")
        out["source"] = choice(cells.get("source"), "source", SOURCES, "来源")
        return out

    def authorise(self, actor: Actor) -> None:
        if actor.role not in (Role.regulator, Role.enterprise):
            raise Forbidden("ledgers are imported by a regulator or an enterprise", code="role_forbidden")

    def apply(self, session: Session, actor: Actor, batch: Batch, now: datetime) -> schemas.ImportReport:
        report = schemas.ImportReport(dry_run=batch.dry_run, sha256=batch.sha256, rows_total=batch.rows_total)
        rows = self._resolve_clauses(session, batch)
        usccs = {p["enterprise_uscc"] for _, p in rows}
        enterprises = dict(
            session.execute(select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_(usccs))).all()
        )
        done: set[str] = set()
        for chunk in chunks(row_key(p) for _, p in rows):
            done |= set(session.scalars(select(LedgerImportRow.row_key).where(LedgerImportRow.row_key.in_(chunk))))

        record = LedgerImport(
            sha256=batch.sha256, filename=batch.filename[:255], imported_by_id=actor.user_id, imported_at=now
        )
        session.add(record)
        session.flush()
        seen: dict[str, int] = {}
        for n, p in rows:
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
                batch.refuse(n, "enterprise_uscc", "没有此统一社会信用代码的企业 (no enterprise with this credit code)")
                continue
            try:
                body = hs.HazardCreate(enterprise_id=ent_id, **{k: p[k] for k in HAZARD_FIELDS})
            except ValidationError as exc:
                err = driver.invalid(TABLE, exc)
                batch.refuse(n, err.field, err.reason)
                continue
            try:
                with session.begin_nested():
                    hazard = hazards.report(session, actor, body, now, imported=True)
                    append_event(
                        session,
                        hazard,
                        actor,
                        "import",
                        now=now,
                        from_state=hazard.state,
                        to_state=hazard.state,
                        note=f"{batch.filename} row {n}",
                        data={"import_id": record.id, "file_sha256": batch.sha256, "row": n},
                    )
                    session.add(LedgerImportRow(import_id=record.id, row_number=n, row_key=key, hazard_id=hazard.id))
                    session.flush()
            except DomainError as exc:
                batch.refuse(n, field_of(exc), reason_of(exc))
                continue
            report.imported.append(schemas.ImportedRow(row=n, hazard_id=hazard.id, number=hazard.number))
        report.bad = batch.bad
        record.rows_total = batch.rows_total
        record.rows_imported = len(report.imported)
        record.rows_skipped = len(report.skipped)
        record.rows_bad = len(report.bad)
        session.flush()
        report.import_id = record.id
        return report

    def _resolve_clauses(self, session: Session, batch: Batch) -> list[tuple[int, dict[str, Any]]]:
        """Rows citing a standard's code and clause number get the clause's id (the edition in force on the
        found date); a row whose standard or clause is not found is refused."""
        if not any(p["clause_id"] is None for _, p in batch.rows):
            return batch.rows
        index = standards_by_code(session)
        out = []
        for n, p in batch.rows:
            if p["clause_id"] is None:
                try:
                    p["clause_id"] = clause_by_number(index, p["standard_code"], p["clause_number"], p["found_at"]).id
                except DomainError as exc:
                    batch.refuse(n, field_of(exc), reason_of(exc))
                    continue
            out.append((n, p))
        return out

    def finish(self, report: schemas.ImportReport, committed: bool) -> None:
        if not committed:
            report.import_id = None
            for r in report.imported:
                r.hazard_id, r.number = None, None


LEDGER = LedgerKind()
