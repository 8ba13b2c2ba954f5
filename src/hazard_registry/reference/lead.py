"""Which department leads a hazard ("一件事" rule: one department leads each industry, others cooperate).

One rule, written twice for two kinds of caller and kept in one place: ``lead_department`` for a service
handling one hazard or complaint, ``lead_department_sql`` for set-based statements (the sweep's INSERT …
SELECT). ``tests/test_facts.py`` checks they agree for every region and sector of the test world.

The rule: of the departments in the region and the regions above it, the one nearest the region that
leads the sector; at equal distance a leading department before a default lead (the emergency-management
bureau, ``is_default_lead``), and the lowest id among equals.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import ancestors
from hazard_registry.errors import InvalidInput
from hazard_registry.reference.models import Department, DepartmentSector


def find_lead_department(session: Session, region_code: str, sector_code: str) -> Department | None:
    """The department that leads ``sector_code`` nearest above ``region_code``, else the nearest default lead."""
    chain = ancestors(region_code)
    leading = session.scalars(
        select(Department)
        .join(DepartmentSector, DepartmentSector.department_id == Department.id)
        .where(Department.region_code.in_(chain), DepartmentSector.sector_code == sector_code)
        .order_by(Department.id)
    ).all()
    default = session.scalars(
        select(Department)
        .where(Department.region_code.in_(chain), Department.is_default_lead.is_(True))
        .order_by(Department.id)
    ).all()
    for code in chain:
        for candidates in (leading, default):
            for d in candidates:
                if d.region_code == code:
                    return d
    return None


def lead_department(session: Session, region_code: str, sector_code: str) -> Department:
    """``find_lead_department``, or a 422 telling an administrator to set one up."""
    dept = find_lead_department(session, region_code, sector_code)
    if dept is None:
        raise InvalidInput(
            f"no department leads sector {sector_code} in region {region_code}; an administrator must set one up",
            code="no_lead_department",
        )
    return dept


def lead_department_sql(region_code: Any, sector_code: Any) -> ColumnElement[int]:
    """``find_lead_department`` as a correlated scalar subquery (the department id, NULL when none): a deeper
    region's code sorts after its ancestors' (440305 > 440300 > 440000), so the nearest comes first."""
    d, ds = Department, DepartmentSector
    chain = [
        region_code,
        func.substr(region_code, 1, 6, type_=String),
        func.substr(region_code, 1, 4, type_=String) + literal("00"),
        func.substr(region_code, 1, 2, type_=String) + literal("0000"),
    ]
    leads = ds.sector_code.is_not(None)
    return (
        select(d.id)
        .outerjoin(ds, and_(ds.department_id == d.id, ds.sector_code == sector_code))
        .where(d.region_code.in_(chain), or_(leads, d.is_default_lead.is_(True)))
        .order_by(d.region_code.desc(), case((leads, 0), else_=1), d.id)
        .limit(1)
        .scalar_subquery()
    )
