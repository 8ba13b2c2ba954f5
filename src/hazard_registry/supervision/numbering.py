"""文号: who numbers a measure's document and how it reads — shared by the set-based issue and the one-by-one
issue of the measure workflow, so both print the same number for the same authority."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, String, case, cast, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hazard_registry.db import is_postgres
from hazard_registry.reference.models import Department, Region
from hazard_registry.supervision.models import DocumentCounter, SupervisionMeasure


def authority_columns() -> tuple[ColumnElement[str], ColumnElement[str]]:
    """Who numbers a measure's 文号 (its key in the counters) and the name printed in it: the issuing
    department, or the issuing region's 安委办 when the level above issues."""
    m, d, r = SupervisionMeasure, Department, Region
    key = case(
        (m.issuer_department_id.is_not(None), literal("D") + cast(m.issuer_department_id, String)),
        else_=literal("R") + m.issuer_region_code,
    )
    name = case((m.issuer_department_id.is_not(None), d.name), else_=r.name + literal("安委办"))
    return key, name


def document_number(name: str, year: int, n: int) -> str:
    return f"{name}督〔{year}〕{n}号"


def number_one(session: Session, measure_id: int, today: date) -> tuple[str, str]:
    """Advance the issuing authority's counter by one and return (authority, 文号) for one measure."""
    m = SupervisionMeasure
    key, name = authority_columns()
    authority, printed = session.execute(
        select(key, name)
        .select_from(m)
        .outerjoin(Department, Department.id == m.issuer_department_id)
        .join(Region, Region.code == m.issuer_region_code)
        .where(m.id == measure_id)
    ).one()
    ins = (pg_insert if is_postgres(session) else sqlite_insert)(DocumentCounter)
    n = session.execute(
        ins.values(authority=authority, year=today.year, last=1)
        .on_conflict_do_update(index_elements=["authority", "year"], set_={"last": DocumentCounter.last + 1})
        .returning(DocumentCounter.last)
    ).scalar_one()
    return authority, document_number(printed, today.year, n)
