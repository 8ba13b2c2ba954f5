"""治本攻坚: the campaign's three stages for a region, over statistics.service.campaign (the API's
/statistics/campaign)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from hazard_registry import clock
from hazard_registry.auth.principal import Role, region_contains
from hazard_registry.db import DbSession
from hazard_registry.reference import service as reference
from hazard_registry.reference.models import Region
from hazard_registry.statistics import service as stats
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.pages import PageActor, page_router, render

router = page_router()
NAV.append(NavItem("治本攻坚", "/campaign", roles=frozenset({Role.regulator, Role.admin}), order=30))


@router.get("/campaign")
def campaign_page(request: Request, actor: PageActor, session: DbSession, region: str | None = None) -> HTMLResponse:
    today = clock.today_in_china()
    home = actor.region_code
    # A region below the actor's may be chosen; anything else falls back to the actor's own.
    chosen = region if region and home and region.isdigit() and region_contains(home, region) else home
    settings = request.app.state.settings
    data = stats.campaign(
        session,
        actor,
        stats.StatFilters(region=chosen),
        as_of=today,
        cutoff=settings.campaign_cutoff,
        stock_due=settings.campaign_stock_due,
        quarters=8,
    )
    here = session.get(Region, chosen) if chosen else None
    children = reference.list_regions(session, chosen, None, None, 200) if chosen else []
    up = here.parent_code if here and home and here.code != home and here.parent_code else None
    charts = {
        "stock": {
            "title": "存量隐患：各地区未销号",
            "categories": [r.name for r in data.stock_by_region],
            "series": [
                {"name": "存量", "data": [r.stock for r in data.stock_by_region]},
                {"name": "未销号", "data": [r.stock_open for r in data.stock_by_region]},
            ],
        },
        "increment": {
            "title": "增量隐患：每季度新发现与上年同期",
            "categories": [q.quarter for q in data.increment],
            "series": [
                {"name": "本期", "data": [q.found for q in data.increment]},
                {"name": "上年同期", "data": [q.found_year_before for q in data.increment]},
            ],
        },
        "in_time": {
            "title": "动态清零：期限内销号占比（%）",
            "categories": [q.quarter for q in data.in_time],
            "series": [
                {
                    "name": "期限内销号占比",
                    "data": [round(q.share * 100, 1) if q.share is not None else None for q in data.in_time],
                },
            ],
        },
    }
    context = {"c": data, "here": here, "children": children, "up": up, "charts": charts}
    return render(request, "campaign/index.html", context)
