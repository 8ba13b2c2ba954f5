"""Reference data services: reads for everyone logged in, writes for the administrator of the region."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import (
    NATIONAL,
    Actor,
    Role,
    enterprise_scope,
    is_national,
    region_contains,
    region_within,
    sees_contacts,
)
from hazard_registry.db import add_unique, flush_versioned
from hazard_registry.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionRequired,
    VersionConflict,
)
from hazard_registry.pagination import cut, keyset
from hazard_registry.reference import schemas
from hazard_registry.reference.models import (
    Department,
    DepartmentSector,
    Enterprise,
    Industry,
    Region,
    Sector,
    Standard,
    StandardClause,
)


def _field_error(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", code=code, errors=[{"field": field, "message": message}])


def require_in_admin_region(actor: Actor, region_code: str) -> None:
    if actor.role is Role.system:
        return
    if actor.role is not Role.admin:
        raise Forbidden("only an administrator manages reference data", code="role_forbidden")
    if not (actor.region_code and region_contains(actor.region_code, region_code)):
        raise Forbidden(f"region {region_code} is outside your region {actor.region_code}", code="region_forbidden")


def may_edit_national(actor: Actor) -> bool:
    """Whether ``actor`` may change national reference data (the standards catalogue, the holiday table): what
    ``require_national`` enforces, and what a page asks before it shows such a form."""
    return is_national(actor)


def require_national(actor: Actor, what: str) -> None:
    """National reference data (the standards catalogue, the holiday table) is a national administrator's."""
    if actor.role not in (Role.admin, Role.system):
        raise Forbidden(f"only an administrator edits {what}", code="role_forbidden")
    if not may_edit_national(actor):
        raise Forbidden(
            f"{what}属于全国数据，只有国家级管理员可以修改 ({what} is national data: only an administrator of "
            f"region {NATIONAL} may change it; yours is {actor.region_code})",
            code="national_admin_required",
        )


def known_region(session: Session, code: str, field: str = "region_code") -> Region:
    region = session.get(Region, code)
    if region is None:
        raise _field_error(field, f"unknown region {code}", "region_unknown")
    return region


def _check_sectors(session: Session, sectors: list[str]) -> None:
    known = set(session.scalars(select(Sector.code).where(Sector.code.in_(sectors))))
    unknown = sorted(set(sectors) - known)
    if unknown:
        raise _field_error("sectors", f"unknown sectors {unknown}", "sector_unknown")


# regions


def list_regions(session: Session, parent: str | None, level: str | None, q: str | None, limit: int) -> list[Region]:
    stmt = select(Region)
    if parent:
        stmt = stmt.where(Region.parent_code == parent)
    if level:
        stmt = stmt.where(Region.level == level)
    if q:
        stmt = stmt.where(or_(Region.name.contains(q, autoescape=True), Region.code.startswith(q, autoescape=True)))
    return list(session.scalars(stmt.order_by(Region.code).limit(limit)))


def add_township(session: Session, actor: Actor, data: schemas.RegionCreate) -> Region:
    county = known_region(session, data.code[:6], "code")
    require_in_admin_region(actor, data.code)
    if session.get(Region, data.code) is not None:
        raise Conflict(f"region {data.code} exists", code="region_exists")
    region = Region(code=data.code, name=data.name, level="township", parent_code=county.code)
    session.add(region)
    session.flush()
    return region


# departments


def get_department(session: Session, department_id: int) -> Department:
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound(f"department {department_id} not found", code="department_not_found")
    return dept


def department_out(actor: Actor, dept: Department) -> schemas.DepartmentOut:
    """The department as ``actor`` may read it: its head's phone and e-mail only along its region's line."""
    out = schemas.DepartmentOut.model_validate(dept)
    if not sees_contacts(actor, dept.region_code):
        out.head_phone = out.head_email = None
    return out


def list_departments(session: Session, actor: Actor, region: str | None, sector: str | None) -> list[Department]:
    stmt = select(Department)
    if region:
        stmt = stmt.where(region_within(Department.region_code, region))
    if sector:
        stmt = stmt.where(
            Department.id.in_(select(DepartmentSector.department_id).where(DepartmentSector.sector_code == sector))
        )
    return list(session.scalars(stmt.order_by(Department.region_code, Department.code).limit(1000)))


def create_department(session: Session, actor: Actor, data: schemas.DepartmentCreate) -> Department:
    known_region(session, data.region_code)
    require_in_admin_region(actor, data.region_code)
    _check_sectors(session, data.sectors)
    dept = Department(
        code=data.code,
        name=data.name,
        region_code=data.region_code,
        is_default_lead=data.is_default_lead,
        head_name=data.head_name,
        head_phone=data.head_phone,
        head_email=data.head_email,
        sector_links=[DepartmentSector(sector_code=s) for s in sorted(set(data.sectors))],
    )
    add_unique(session, dept, Conflict(f"department code {data.code} is taken", code="department_exists"))
    return dept


def update_department(session: Session, actor: Actor, department_id: int, data: schemas.DepartmentUpdate) -> Department:
    dept = get_department(session, department_id)
    require_in_admin_region(actor, dept.region_code)
    values = data.model_dump(exclude_unset=True)
    if "sectors" in values:
        sectors = sorted(set(values.pop("sectors") or []))
        _check_sectors(session, sectors)
        dept.sector_links = [DepartmentSector(sector_code=s) for s in sectors]
    for key, value in values.items():
        setattr(dept, key, value)
    session.flush()
    return dept


# enterprises


def _enterprise_query(actor: Actor):
    return (
        select(Enterprise)
        .join(Industry, Industry.code == Enterprise.industry_code)
        .where(enterprise_scope(actor, Enterprise, Industry))
    )


def get_enterprise(session: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    ent = session.scalar(_enterprise_query(actor).where(Enterprise.id == enterprise_id))
    if ent is None:
        raise NotFound(f"enterprise {enterprise_id} not found", code="enterprise_not_found")
    return ent


def list_enterprises(
    session: Session,
    actor: Actor,
    *,
    region: str | None,
    industry_code: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Enterprise], str | None]:
    """A keyset page of the enterprises in the caller's scope, in id order, and the next page's cursor."""
    stmt = _enterprise_query(actor)
    if region:
        stmt = stmt.where(region_within(Enterprise.region_code, region))
    if industry_code:
        stmt = stmt.where(Enterprise.industry_code == industry_code)
    if q:
        stmt = stmt.where(or_(Enterprise.name.contains(q, autoescape=True), Enterprise.uscc == q.upper()))
    return cut(session.scalars(keyset(stmt, Enterprise.id, cursor, limit, newest_first=False)).all(), limit)


def _starts_with(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` begins with ``text``, written as a range a plain b-tree index serves on every database (a
    LIKE 'x%' needs the C collation or a pattern index on PostgreSQL), the LIKE kept to make it exact."""
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return and_(column >= text, column < upper, column.startswith(text, autoescape=True))


def search_enterprises(session: Session, actor: Actor, q: str, *, limit: int = 20) -> list[Enterprise]:
    """The type-ahead: enterprises in the caller's scope whose name or 统一社会信用代码 begins with ``q``, by name,
    at most ``limit`` (one statement, from the name and credit-code indexes). Empty ``q``: none."""
    q = q.strip()[:100]
    if not q:
        return []
    match = or_(_starts_with(Enterprise.name, q), _starts_with(Enterprise.uscc, q.upper()))
    stmt = _enterprise_query(actor).where(match).order_by(Enterprise.name, Enterprise.id).limit(limit)
    return list(session.scalars(stmt))


def _industry(session: Session, code: str) -> Industry:
    industry = session.get(Industry, code)
    if industry is None or industry.level != "division":
        raise _field_error("industry_code", f"unknown GB/T 4754 division {code}", "industry_unknown")
    return industry


def create_enterprise(session: Session, actor: Actor, data: schemas.EnterpriseCreate) -> Enterprise:
    known_region(session, data.region_code)
    require_in_admin_region(actor, data.region_code)
    industry = _industry(session, data.industry_code)
    high_risk = data.high_risk
    if high_risk is None:
        sector = session.get(Sector, industry.sector_code)
        high_risk = bool(sector and sector.high_risk)
    ent = Enterprise(**data.model_dump(exclude={"high_risk"}), high_risk=high_risk)
    add_unique(session, ent, Conflict(f"an enterprise with credit code {data.uscc} exists", code="enterprise_exists"))
    return ent


def update_enterprise(
    session: Session, actor: Actor, enterprise_id: int, data: schemas.EnterpriseUpdate, expected_version: int | None
) -> Enterprise:
    ent = get_enterprise(session, actor, enterprise_id)
    require_in_admin_region(actor, ent.region_code)
    if expected_version is None:
        raise PreconditionRequired("send the enterprise's version (If-Match header or 'version' field)")
    if expected_version != ent.version:
        raise VersionConflict(f"the enterprise is at version {ent.version}", current_version=ent.version)
    values = data.model_dump(exclude_unset=True, exclude={"version"})
    if values.get("industry_code"):
        _industry(session, values["industry_code"])
    for key, value in values.items():
        setattr(ent, key, value)
    flush_versioned(session, "the enterprise was changed by someone else meanwhile")
    return ent


# standards


def list_standards(
    session: Session, family: str | None, sector: str | None, in_force_on: date | None
) -> list[Standard]:
    stmt = select(Standard)
    if family:
        stmt = stmt.where(Standard.family == family)
    if sector:
        stmt = stmt.where(Standard.sector_code == sector)
    if in_force_on:
        stmt = stmt.where(
            Standard.effective_from <= in_force_on,
            or_(Standard.effective_to.is_(None), Standard.effective_to > in_force_on),
        )
    return list(session.scalars(stmt.order_by(Standard.family, Standard.effective_from)))


def get_standard(session: Session, standard_id: int) -> Standard:
    std = session.get(Standard, standard_id)
    if std is None:
        raise NotFound(f"standard {standard_id} not found", code="standard_not_found")
    return std


def create_standard(session: Session, actor: Actor, data: schemas.StandardCreate) -> Standard:
    require_national(actor, "标准目录 (the standards catalogue)")
    if session.get(Sector, data.sector_code) is None:
        raise _field_error("sector_code", f"unknown sector {data.sector_code}", "sector_unknown")
    numbers = [c.number for c in data.clauses]
    if len(numbers) != len(set(numbers)):
        raise _field_error("clauses", "clause numbers repeat", "clause_duplicate")
    std = Standard(**data.model_dump(exclude={"clauses"}))
    std.clauses = [StandardClause(number=c.number, title=c.title) for c in data.clauses]
    add_unique(session, std, Conflict(f"{data.family} edition {data.edition} exists", code="standard_exists"))
    return std


def add_clause(session: Session, actor: Actor, standard_id: int, data: schemas.ClauseIn) -> StandardClause:
    require_national(actor, "标准目录 (the standards catalogue)")
    std = get_standard(session, standard_id)
    clause = StandardClause(standard_id=std.id, number=data.number, title=data.title)
    add_unique(session, clause, Conflict(f"clause {data.number} exists in this standard", code="clause_exists"))
    return clause


def _code_key(code: str) -> str:
    return re.sub(r"\s+", "", code).upper()


def standards_by_code(session: Session) -> dict[str, list[Standard]]:
    """Every edition, by the codes a register cites a standard by: its document number (``GB 35181-2025``,
    ``应急管理部令第10号``), its family and its title, ignoring spaces and case; editions oldest first.
    The catalogue is small (tens of families): two statements, whatever the number of rows looking it up."""
    index: dict[str, list[Standard]] = defaultdict(list)
    for std in session.scalars(select(Standard).order_by(Standard.effective_from, Standard.id)):
        for name in {_code_key(std.document_number), _code_key(std.family), _code_key(std.title)}:
            index[name].append(std)
    return index


def clause_by_number(index: dict[str, list[Standard]], code: str, number: str, day: date) -> StandardClause:
    """The clause ``number`` of the edition of standard ``code`` in force on ``day`` (the latest such edition
    when a family is named); refused when the standard is unknown, not in force that day, or lacks the clause."""
    editions = index.get(_code_key(code))
    if not editions:
        raise _field_error("standard_code", f"no determination standard {code}", "standard_not_found")
    in_force = [s for s in editions if s.in_force_on(day)]
    if not in_force:
        raise _field_error("standard_code", f"{code} was not in force on {day}", "clause_not_in_force")
    wanted = _code_key(number)
    for std in reversed(in_force):
        for clause in std.clauses:
            if _code_key(clause.number) == wanted:
                return clause
    raise _field_error("clause_number", f"{code} ({in_force[-1].edition}) has no clause {number}", "clause_not_found")
