"""The one dry-run-then-commit driver: read the file, map its columns, parse each row, let the kind of import
check and write the good rows inside a savepoint, then keep or roll back.

A dry run does everything an import does and rolls it back, so it reports exactly what the import would do.
An *atomic* kind (the enterprise register, user accounts) writes nothing when any row is bad: its commit
answers 422 ``import_rejected`` listing every bad row (and carrying the whole report). The hazard ledger is
not atomic: each good row is imported, each bad one listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.errors import DomainError, Forbidden, InvalidInput
from hazard_registry.i18n import error_text
from hazard_registry.imports.schemas import BadRow, RegisterImport
from hazard_registry.imports.tables import RowError, Table, cells_of, read_table, resolve_mapping


class Report(Protocol):
    bad: list[BadRow]


R = TypeVar("R", bound=Report)


@dataclass
class Batch:
    """The file as parsed: its good rows (row number, values) and the rows already refused."""

    filename: str
    sha256: str
    rows_total: int
    dry_run: bool
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)

    def register_report(self) -> RegisterImport:
        return RegisterImport(dry_run=self.dry_run, committed=False, sha256=self.sha256, rows_total=self.rows_total)

    def refuse(self, n: int, field_name: str | None, reason: str) -> None:
        self.bad.append(BadRow(row=n, field=field_name, reason=reason))


class Kind(Protocol[R]):
    table: Table
    atomic: bool

    def authorise(self, actor: Actor) -> None: ...

    def parse(self, cells: dict[str, Any]) -> dict[str, Any]: ...

    def apply(self, session: Session, actor: Actor, batch: Batch, now: datetime) -> R: ...

    def finish(self, report: R, committed: bool) -> None: ...


class AdminKind:
    """A kind imported by administrators (and the system), all rows or none: the registers of a region."""

    atomic = True
    what = "this register"

    def authorise(self, actor: Actor) -> None:
        if actor.role not in (Role.admin, Role.system):
            raise Forbidden(f"{self.what} is imported by an administrator", code="role_forbidden")


def run(
    session: Session,
    actor: Actor,
    kind: Kind[R],
    *,
    filename: str,
    data: bytes,
    mapping: dict[str, str] | None,
    dry_run: bool,
    now: datetime,
    max_rows: int,
    max_unzipped: int = 64 << 20,
) -> R:
    """Check (and unless ``dry_run``, write) every row of the file; the caller commits."""
    kind.authorise(actor)
    headings, rows = read_table(filename, data, max_rows, max_unzipped)
    cols = resolve_mapping(kind.table, headings, mapping)
    batch = Batch(filename=filename, sha256=hashlib.sha256(data).hexdigest(), rows_total=len(rows), dry_run=dry_run)
    for n, cells in rows:
        try:
            batch.rows.append((n, kind.parse(cells_of(cols, cells))))
        except RowError as err:
            batch.refuse(n, err.field, err.reason)
    outer = session.begin_nested()
    report = kind.apply(session, actor, batch, now)
    report.bad.sort(key=lambda b: b.row)
    keep = not dry_run and not (kind.atomic and report.bad)
    if keep:
        outer.commit()
    else:
        outer.rollback()
    kind.finish(report, keep)
    if not dry_run and not keep:
        raise InvalidInput(
            f"{len(report.bad)} rows are invalid; nothing was imported",
            code="import_rejected",
            errors=[{"field": b.field, "row": b.row, "message": b.reason} for b in report.bad],
            report=report.model_dump(mode="json"),  # type: ignore[attr-defined]
        )
    return report


def first_rows(batch: Batch, key: str, what: str) -> list[tuple[int, dict[str, Any]]]:
    """The batch's rows with a key seen for the first time; a repeated key is a bad row naming the first."""
    seen: dict[Any, int] = {}
    out = []
    for n, values in batch.rows:
        k = values[key]
        if k in seen:
            batch.refuse(n, key, f"与第{seen[k]}行的{what}重复 (the same {key} as row {seen[k]})")
            continue
        seen[k] = n
        out.append((n, values))
    return out


def tally(report: RegisterImport, committed: bool) -> None:
    """A register import's counts; a record to be created has no id (and no password) unless committed."""
    report.committed = committed
    for r in report.rows:
        if r.outcome == "created":
            report.created += 1
            if not committed:
                r.id, r.one_time_password = None, None
        elif r.outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1


def reason_of(exc: DomainError) -> str:
    """A service's refusal as a row's reason: the catalogue's Chinese, the detail beside it."""
    return f"{error_text(exc.code)}（{exc.detail}）"


def field_of(exc: DomainError) -> str | None:
    errors = exc.extra.get("errors") or []
    return errors[0].get("field") if errors else None


def invalid(table: Table, exc: ValidationError) -> RowError:
    """The first of a schema's complaints about a row, with the column's heading."""
    e = exc.errors()[0]
    name = str(e["loc"][0]) if e.get("loc") else None
    heading = table.heading(name) if name else "本行"
    if e.get("type") == "missing":
        return RowError(name, f"“{heading}”不能为空 ({name} is empty)")
    return RowError(name, f"“{heading}”填写有误 ({e.get('msg', 'invalid')})")


def rows_by(session: Session, column: Any, keys: Iterable[Any]) -> dict[Any, Any]:
    """The rows of ``column``'s table whose ``column`` is one of ``keys``, by key: a statement per 500 keys."""
    entity = column.class_
    out: dict[Any, Any] = {}
    for chunk in chunks(sorted(set(keys))):
        out |= {getattr(r, column.key): r for r in session.scalars(select(entity).where(column.in_(chunk)))}
    return out


def insert_all(session: Session, key: Any, rows: list[dict[str, Any]]) -> dict[Any, int]:
    """Insert ``rows`` into ``key``'s table as one executemany (the ORM would send one INSERT per object on
    SQLite, to learn each id) and read their ids back by ``key``: key → id."""
    if not rows:
        return {}
    entity = key.class_
    session.execute(insert(entity), rows)
    ids: dict[Any, int] = {}
    for chunk in chunks(sorted(r[key.key] for r in rows)):
        ids |= dict(session.execute(select(key, entity.id).where(key.in_(chunk))).all())  # type: ignore[arg-type]
    return ids


def chunks(values: Iterable[Any], size: int = 500) -> Iterable[list[Any]]:
    """Keys in chunks small enough for an IN list on every database (SQLite binds at most 32,766)."""
    items = list(values)
    for i in range(0, len(items), size):
        yield items[i : i + size]
