from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from hazard_registry.auth.deps import AdminActor, CurrentActor
from hazard_registry.db import DbSession, SessionRoute
from hazard_registry.errors import NotFound
from hazard_registry.idempotency import IdempotencyHeader, fingerprint, run_once
from hazard_registry.pagination import Cursor, Page
from hazard_registry.reference import schemas, service
from hazard_registry.reference.models import Industry, Region, Sector
from hazard_registry.types import IdPath, IfMatch, RegionQuery, expected_version

router = APIRouter(prefix="/api/v1", tags=["reference"], route_class=SessionRoute)


@router.get("/regions", response_model=Page[schemas.RegionOut], operation_id="list_regions")
def list_regions(
    _actor: CurrentActor,
    session: DbSession,
    parent: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    level: Literal["province", "prefecture", "county", "township"] | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Page[schemas.RegionOut]:
    return Page[schemas.RegionOut](items=service.list_regions(session, parent, level, q, limit))


@router.get("/regions/{code}", response_model=schemas.RegionOut, operation_id="get_region")
def get_region(code: str, _actor: CurrentActor, session: DbSession) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"region {code} not found", code="region_not_found")
    return region


@router.post("/regions", status_code=201, response_model=schemas.RegionOut, operation_id="add_township")
def add_township(data: schemas.RegionCreate, actor: AdminActor, session: DbSession) -> Region:
    region = service.add_township(session, actor, data)
    session.commit()
    return region


@router.get("/sectors", response_model=Page[schemas.SectorOut], operation_id="list_sectors")
def list_sectors(_actor: CurrentActor, session: DbSession) -> Page[schemas.SectorOut]:
    return Page[schemas.SectorOut](items=list(session.scalars(select(Sector).order_by(Sector.code))))


@router.get("/industries", response_model=Page[schemas.IndustryOut], operation_id="list_industries")
def list_industries(
    _actor: CurrentActor,
    session: DbSession,
    level: Literal["section", "division"] | None = None,
    sector_code: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[schemas.IndustryOut]:
    stmt = select(Industry)
    if level:
        stmt = stmt.where(Industry.level == level)
    if sector_code:
        stmt = stmt.where(Industry.sector_code == sector_code)
    return Page[schemas.IndustryOut](items=list(session.scalars(stmt.order_by(Industry.level.desc(), Industry.code))))


@router.get("/departments", response_model=Page[schemas.DepartmentOut], operation_id="list_departments")
def list_departments(
    actor: CurrentActor,
    session: DbSession,
    region: RegionQuery = None,
    sector_code: Annotated[str | None, Query(max_length=32)] = None,
) -> Page[schemas.DepartmentOut]:
    return Page[schemas.DepartmentOut](
        items=[service.department_out(actor, d) for d in service.list_departments(session, actor, region, sector_code)]
    )


@router.get("/departments/{department_id}", response_model=schemas.DepartmentOut, operation_id="get_department")
def get_department(department_id: IdPath, actor: CurrentActor, session: DbSession) -> schemas.DepartmentOut:
    return service.department_out(actor, service.get_department(session, department_id))


@router.post("/departments", status_code=201, response_model=schemas.DepartmentOut, operation_id="create_department")
def create_department(
    data: schemas.DepartmentCreate, actor: AdminActor, session: DbSession, idempotency_key: IdempotencyHeader = None
) -> Response:
    def create() -> tuple[int, dict]:
        dept = service.create_department(session, actor, data)
        return 201, schemas.DepartmentOut.model_validate(dept).model_dump(mode="json")

    return run_once(session, actor, idempotency_key, fingerprint("dept", data.model_dump(mode="json")), create)


@router.patch("/departments/{department_id}", response_model=schemas.DepartmentOut, operation_id="update_department")
def update_department(
    department_id: IdPath, data: schemas.DepartmentUpdate, actor: AdminActor, session: DbSession
) -> schemas.DepartmentOut:
    dept = service.update_department(session, actor, department_id, data)
    session.commit()
    session.refresh(dept)
    return schemas.DepartmentOut.model_validate(dept)


@router.get("/enterprises", response_model=Page[schemas.EnterpriseOut], operation_id="list_enterprises")
def list_enterprises(
    actor: CurrentActor,
    session: DbSession,
    region: RegionQuery = None,
    industry_code: Annotated[str | None, Query(max_length=4)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[schemas.EnterpriseOut]:
    rows, next_cursor = service.list_enterprises(
        session, actor, region=region, industry_code=industry_code, q=q, cursor=cursor, limit=limit
    )
    return Page[schemas.EnterpriseOut](
        items=[schemas.EnterpriseOut.model_validate(e) for e in rows], next_cursor=next_cursor
    )


@router.get("/enterprises/{enterprise_id}", response_model=schemas.EnterpriseOut, operation_id="get_enterprise")
def get_enterprise(enterprise_id: IdPath, actor: CurrentActor, session: DbSession) -> schemas.EnterpriseOut:
    return schemas.EnterpriseOut.model_validate(service.get_enterprise(session, actor, enterprise_id))


@router.post("/enterprises", status_code=201, response_model=schemas.EnterpriseOut, operation_id="create_enterprise")
def create_enterprise(
    data: schemas.EnterpriseCreate, actor: AdminActor, session: DbSession, idempotency_key: IdempotencyHeader = None
) -> Response:
    def create() -> tuple[int, dict]:
        ent = service.create_enterprise(session, actor, data)
        return 201, schemas.EnterpriseOut.model_validate(ent).model_dump(mode="json")

    return run_once(session, actor, idempotency_key, fingerprint("ent", data.model_dump(mode="json")), create)


@router.patch("/enterprises/{enterprise_id}", response_model=schemas.EnterpriseOut, operation_id="update_enterprise")
def update_enterprise(
    enterprise_id: IdPath,
    data: schemas.EnterpriseUpdate,
    actor: AdminActor,
    session: DbSession,
    if_match: IfMatch = None,
) -> schemas.EnterpriseOut:
    expected = expected_version(if_match, data.version)
    ent = service.update_enterprise(session, actor, enterprise_id, data, expected)
    session.commit()
    return schemas.EnterpriseOut.model_validate(ent)


@router.get("/standards", response_model=Page[schemas.StandardOut], operation_id="list_standards")
def list_standards(
    _actor: CurrentActor,
    session: DbSession,
    family: Annotated[str | None, Query(max_length=64)] = None,
    sector_code: Annotated[str | None, Query(max_length=32)] = None,
    in_force_on: date | None = None,
) -> Page[schemas.StandardOut]:
    return Page[schemas.StandardOut](
        items=[
            schemas.StandardOut.model_validate(s)
            for s in service.list_standards(session, family, sector_code, in_force_on)
        ]
    )


@router.get("/standards/{standard_id}", response_model=schemas.StandardOut, operation_id="get_standard")
def get_standard(standard_id: IdPath, _actor: CurrentActor, session: DbSession) -> schemas.StandardOut:
    return schemas.StandardOut.model_validate(service.get_standard(session, standard_id))


@router.post("/standards", status_code=201, response_model=schemas.StandardOut, operation_id="create_standard")
def create_standard(data: schemas.StandardCreate, actor: AdminActor, session: DbSession) -> schemas.StandardOut:
    std = service.create_standard(session, actor, data)
    session.commit()
    return schemas.StandardOut.model_validate(std)


@router.post(
    "/standards/{standard_id}/clauses",
    status_code=201,
    response_model=schemas.ClauseOut,
    operation_id="add_standard_clause",
)
def add_clause(standard_id: IdPath, data: schemas.ClauseIn, actor: AdminActor, session: DbSession) -> schemas.ClauseOut:
    clause = service.add_clause(session, actor, standard_id, data)
    session.commit()
    return schemas.ClauseOut.model_validate(clause)
