"""隐患台账 and 隐患详情: the hazard pages, over hazards.service (the API's own functions)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from hazard_registry import clock
from hazard_registry.db import DbSession
from hazard_registry.hazards import service as hazards
from hazard_registry.types import IdPath
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.pages import PageActor, page_router, render

router = page_router(prefix="/hazards")
NAV.append(NavItem("隐患台账", "/hazards", order=10))


@router.get("")
def hazard_list(request: Request, actor: PageActor, session: DbSession, cursor: str | None = None) -> HTMLResponse:
    today = clock.today_in_china()
    page = hazards.list_hazards(session, actor, hazards.HazardFilters(), cursor=cursor, limit=50, today=today)
    return render(request, "hazards/list.html", {"page": page})


@router.get("/{hazard_id}")
def hazard_detail(request: Request, hazard_id: IdPath, actor: PageActor, session: DbSession) -> HTMLResponse:
    today = clock.today_in_china()
    hazard = hazards.to_detail(session, hazards.get_visible(session, actor, hazard_id), actor, today)
    return render(request, "hazards/detail.html", {"h": hazard})
