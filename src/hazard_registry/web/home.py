"""工作台: what waits for the signed-in user, and the figures of their scope."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from hazard_registry import clock
from hazard_registry.db import DbSession
from hazard_registry.hazards import service as hazards
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.pages import PageActor, page_router, render

router = page_router()
NAV.append(NavItem("工作台", "/", order=0))


@router.get("/")
def home(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    today = clock.today_in_china()
    page = hazards.list_hazards(session, actor, hazards.HazardFilters(), cursor=None, limit=20, today=today)
    mine = [h for h in page.items if h.allowed_actions]
    return render(request, "home/index.html", {"mine": mine})
