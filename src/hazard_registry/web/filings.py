"""季报 and 自查: an enterprise files its statistics table pre-filled from the register and records its
self-inspections; regulators see who filed late and who missed the inspection duty. Over statistics.filings and
supervision.inspections, the API's services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import Actor, Role
from hazard_registry.db import DbSession
from hazard_registry.statistics import filings, schemas
from hazard_registry.statistics import service as stats
from hazard_registry.statistics.periods import parse_period, period_to_file
from hazard_registry.supervision import inspections
from hazard_registry.upward import received
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.page_forms import Failure, FormData, attempt, blank_to_none, parse
from hazard_registry.web.pages import PageActor, page_router, redirect, render

router = page_router()
NAV.append(NavItem("季报", "/filings", order=60))
NAV.append(NavItem("自查", "/self-inspections", order=61))

PeriodQuery = Annotated[str | None, Query(pattern=r"^(\d{4}(Q[1-4])?)?$")]
FIGURES = ("found_in_period", "closed_in_period", "open_at_end", "overdue_at_end", "stock_open_at_end")


def _cutoff(request: Request):
    return request.app.state.settings.campaign_cutoff


def _periods(code: str) -> dict[str, str]:
    """The neighbours of a period for the page's links: the quarter before and after, and the year."""
    p = parse_period(code)
    year = p.start.year
    if p.kind == "annual":
        return {"prev": str(year - 1), "next": str(year + 1), "other": f"{year}Q4"}
    q = (p.start.month - 1) // 3 + 1
    prev = f"{year - 1}Q4" if q == 1 else f"{year}Q{q - 1}"
    nxt = f"{year + 1}Q1" if q == 4 else f"{year}Q{q + 1}"
    return {"prev": prev, "next": nxt, "other": str(year)}


def _filing_page(
    request: Request,
    session: Session,
    actor: Actor,
    period: str,
    status: str | None = None,
    after: int | None = None,
    failure: Failure | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    context: dict[str, Any] = {"period": period, "links": _periods(period), "failure": failure, "form": form or {}}
    if actor.role is Role.enterprise:
        context["filing"] = filings.prefill(session, actor, period, _cutoff(request))
        context["figures"] = FIGURES
        name = "filings/enterprise.html"
    else:
        today = clock.today_in_china()
        context["status"] = status or ""
        context["list"] = filings.status_list(session, actor, period, today=today, only=status, cursor=after, limit=100)
        context["report"] = _with_received(session, actor, period, _cutoff(request))
        name = "filings/status.html"
    return render(request, name, context, status_code=failure.status if failure else 200)


def _with_received(session: Session, actor: Actor, period: str, cutoff) -> schemas.RegionReport | None:
    """The region's report for the period when child regions of it were reported by a lower deployment
    (逐级上报), so the page can show them marked; None (and no report computed) when none was."""
    p = parse_period(period)
    quarters = [q.code for q in stats.quarters_ending(p.end, 1 if p.kind == "quarterly" else 4)]
    if not actor.region_code or not received.counted(session, actor.region_code, quarters):
        return None
    return stats.region_report(session, actor, stats.StatFilters(region=actor.region_code), p, cutoff=cutoff)


@router.get("/filings")
def filing_page(
    request: Request,
    actor: PageActor,
    session: DbSession,
    period: PeriodQuery = None,
    status: Annotated[str | None, Query(pattern=r"^(filed|filed_late|late|pending)?$")] = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    code = period or period_to_file(clock.now()).code
    return _filing_page(request, session, actor, code, status or None, after)


@router.post("/filings")
def file_statistics(request: Request, actor: PageActor, session: DbSession, data: FormData) -> Response:
    body, failure = parse(schemas.FilingCreate, blank_to_none(data))
    if body is not None:
        _, failure = attempt(
            session, lambda: filings.file(session, actor, body, now=clock.now(), cutoff=_cutoff(request))
        )
        if failure is None:
            return redirect(f"/filings?period={body.period}", f"{body.period} 报表已报送", request=request)
    period = data.get("period") or period_to_file(clock.now()).code
    return _filing_page(request, session, actor, period, failure=failure, form=data)


def _inspection_page(
    request: Request,
    session: Session,
    actor: Actor,
    missed_only: bool = True,
    failure: Failure | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    today = clock.today_in_china()
    context: dict[str, Any] = {
        "rows": inspections.list_visible(
            session, actor, enterprise_id=None, since=None, until=None, cursor=None, limit=50
        )[0],
        "failure": failure,
        "form": form or {},
        "missed_only": missed_only,
    }
    if actor.role is not Role.enterprise:
        context["duty"] = inspections.duty_list(session, actor, today, missed_only=missed_only, after=None, limit=200)
    return render(request, "filings/inspections.html", context, status_code=failure.status if failure else 200)


@router.get("/self-inspections")
def inspection_page(request: Request, actor: PageActor, session: DbSession, missed_only: bool = True) -> HTMLResponse:
    return _inspection_page(request, session, actor, missed_only)


@router.post("/self-inspections")
def record_inspection(request: Request, actor: PageActor, session: DbSession, data: FormData) -> Response:
    fields = blank_to_none(data)
    fields["led_by_principal"] = fields.get("led_by_principal") == "on"
    ids = (fields.pop("hazard_ids", None) or "").replace("，", ",")
    fields["hazard_ids"] = [i.strip() for i in ids.split(",") if i.strip()]
    if fields.get("hazards_found") is None:
        fields.pop("hazards_found", None)
    body, failure = parse(inspections.SelfInspectionCreate, fields)
    if body is not None:
        _, failure = attempt(session, lambda: inspections.record(session, actor, body, clock.now()))
        if failure is None:
            return redirect("/self-inspections", "自查记录已保存", request=request)
    return _inspection_page(request, session, actor, failure=failure, form=data)
