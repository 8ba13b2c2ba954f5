"""督办: the measures a user may see, one measure with its history and the actions it allows, and the public
exposure list as the public reads it. Every read and write goes through supervision.service, as the API's."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import Actor
from hazard_registry.db import DbSession
from hazard_registry.errors import NotFound
from hazard_registry.hazards import service as hazards
from hazard_registry.reference.models import Department, Enterprise, Region
from hazard_registry.supervision import service
from hazard_registry.supervision.models import EscalationRule, Measure, MeasureState, SupervisionMeasure
from hazard_registry.types import MAX_ID, IdPath
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.page_forms import Failure, attempt
from hazard_registry.web.pages import PageActor, page_router, redirect, render

router = page_router(prefix="/measures")
NAV.append(NavItem("督办", "/measures", order=40))

PAGE = 50


def names_of(session: Session, rows: list[SupervisionMeasure]) -> dict[str, dict[Any, str]]:
    """Names for the ids and codes a page of measures shows (three queries, whatever the page's size)."""
    ents = {m.target_enterprise_id for m in rows if m.target_enterprise_id}
    depts = {d for m in rows for d in (m.target_department_id, m.issuer_department_id) if d}
    regions = {c for m in rows for c in (m.target_region_code, m.issuer_region_code)}

    def pairs(stmt) -> dict[Any, str]:
        return {k: v for k, v in session.execute(stmt).all()}

    return {
        "enterprise": pairs(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ents))),
        "department": pairs(select(Department.id, Department.name).where(Department.id.in_(depts))),
        "region": pairs(select(Region.code, Region.name).where(Region.code.in_(regions))),
    }


@router.get("")
def measure_list(
    request: Request,
    actor: PageActor,
    session: DbSession,
    state: MeasureState | Literal[""] | None = None,
    measure: Measure | Literal[""] | None = None,
    region: Annotated[str | None, Query(pattern=r"^(\d{6}(\d{3})?)?$")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    rows, next_cursor = service.list_measures(
        session,
        actor,
        state=[state.value] if state else None,
        measure=[measure.value] if measure else None,
        region=region or None,
        cursor=cursor,
        limit=PAGE,
    )
    today = clock.today_in_china()
    context = {
        "rows": rows,
        "names": names_of(session, rows),
        "filters": {"state": state, "measure": measure, "region": region or ""},
        "next_cursor": next_cursor,
        "overdue": {m.id for m in rows if service.response_overdue(m, today)},
    }
    return render(request, "measures/list.html", context)


@router.get("/exposures")
def exposures(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    """The 曝光 list exactly as /api/v1/public/exposures gives it to the public, for the user's region."""
    rows, _ = service.public_exposures(session, actor.region_code, 200, None)
    return render(request, "measures/exposures.html", {"rows": rows})


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    measure_id: int,
    failure: Failure | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    m = service.get_visible(session, actor, measure_id)
    hazard = None
    if m.hazard_id:
        try:
            hazard = hazards.get_visible(session, actor, m.hazard_id)
        except NotFound:
            hazard = None  # a measure on a region's hazard outside the reader's sectors: shown without the link
    public = (
        service.public_exposures(session, None, 1, None, measure_id=m.id)[0]
        if m.measure == Measure.public_exposure
        else []
    )
    context = {
        "m": m,
        "names": names_of(session, [m]),
        "events": service.events(session, m),
        "overdue": service.response_overdue(m, clock.today_in_china()),
        "actions": service.allowed_actions(actor, m),
        "hazard": hazard,
        "rule": session.get(EscalationRule, m.rule_id) if m.rule_id else None,
        "public": public[0] if public else None,
        "failure": failure,
        "form": form or {},
    }
    return render(request, "measures/detail.html", context, status_code=failure.status if failure else 200)


@router.get("/{measure_id}")
def measure_detail(request: Request, measure_id: IdPath, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _detail(request, session, actor, measure_id)


DONE = {"issue": "已签发", "acknowledge": "已签收", "resolve": "已办结", "withdraw": "已撤回"}


@router.post("/{measure_id}/actions")
def act(
    request: Request,
    measure_id: IdPath,
    actor: PageActor,
    session: DbSession,
    action: Annotated[str, Form(pattern="^(issue|acknowledge|resolve|withdraw)$")],
    version: Annotated[int, Form(ge=1, le=MAX_ID)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    m = service.get_visible(session, actor, measure_id)
    _, failure = attempt(
        session,
        lambda: service.act(
            session, actor, m.id, action, note=note.strip() or None, expected_version=version, now=clock.now()
        ),
    )
    if failure:
        return _detail(request, session, actor, measure_id, failure, {"action": action, "note": note})
    message = DONE[action] + (f"：{m.document_number}" if action == "issue" and m.document_number else "")
    return redirect(f"/measures/{measure_id}", message, request=request)
