"""工作台: what waits for the signed-in user now, and the figures of their scope with charts.

Other modules add what waits in their domain (complaints to triage, filings due, rewards to pay…) by
appending a function to ``HOME_PANELS``: ``(session, actor, today) -> Panel | None``; the home page shows
each panel that is not None, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import Actor, Role
from hazard_registry.db import DbSession
from hazard_registry.hazards import service as hazards
from hazard_registry.i18n import label
from hazard_registry.statistics import activity
from hazard_registry.statistics import service as stats
from hazard_registry.supervision import service as supervision
from hazard_registry.supervision.engine import load_calendar
from hazard_registry.supervision.models import OPEN_MEASURE_STATES
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.pages import PageActor, page_router, render
from hazard_registry.web.templating import cn_date
from hazard_registry.workdays import CalendarYearUnknown, WorkCalendar

router = page_router()
NAV.append(NavItem("工作台", "/", order=0))


@dataclass
class PanelRow:
    text: str
    href: str | None = None
    note: str = ""
    urgent: bool = False


@dataclass
class Panel:
    title: str
    count: int
    rows: list[PanelRow] = field(default_factory=list)
    href: str | None = None  # "see all"


HOME_PANELS: list[Callable[[Session, Actor, date], Panel | None]] = []


def due_note(calendar: WorkCalendar | None, today: date, due: date | None) -> tuple[str, bool]:
    """ "还剩 3 个工作日" / "今天到期" / "已逾期 2 个工作日", in Chinese working days when the year is known."""
    if due is None:
        return "", False
    try:
        if calendar is None:
            raise CalendarYearUnknown(due.year)
        if due > today:
            return f"还剩 {calendar.working_days_between(today, due)} 个工作日", False
        if due == today:
            return "今天到期", True
        return f"已逾期 {calendar.working_days_between(due, today)} 个工作日", True
    except CalendarYearUnknown:
        days = (due - today).days
        return (f"还剩 {days} 天", False) if days > 0 else (f"已逾期 {-days} 天", days < 0)


def _measures_panel(session: Session, actor: Actor, today: date) -> Panel | None:
    """Supervision measures on which the actor has an action now (issue, acknowledge, resolve)."""
    if actor.role is Role.system:
        return None
    open_ones, _ = supervision.list_measures(session, actor, state=[s.value for s in OPEN_MEASURE_STATES], limit=200)
    rows = []
    for m in open_ones:
        acts = [a for a in supervision.allowed_actions(actor, m) if a != "withdraw"]
        if acts:
            note = "、".join(label("measure_action", a) for a in acts)
            due = f"，回复期限 {cn_date(m.response_due)}" if m.response_due else ""
            rows.append(PanelRow(f"{label('measure_kind', m.measure)} · {m.reason[:40]}", "/measures", note + due))
    if not rows:
        return None
    return Panel("督办措施待办", len(rows), rows[:10], "/measures")


HOME_PANELS.append(_measures_panel)


def _charts(trend: Any, by_region: Any, by_sector: Any) -> dict[str, Any]:
    """What the page's charts draw, as data (static/console/charts.js reads it; no inline script)."""
    return {
        "trend": {
            "title": "近12个月隐患发现与销号",
            "categories": [m.month for m in trend.months],
            "series": [
                {"name": "发现", "data": [m.found for m in trend.months]},
                {"name": "销号", "data": [m.closed for m in trend.months]},
            ],
        },
        "region": {
            "title": "下级地区：未销号与逾期",
            "categories": [r.name for r in by_region.rows],
            "series": [
                {"name": "未销号", "data": [r.figures.open for r in by_region.rows]},
                {"name": "逾期", "data": [r.figures.overdue for r in by_region.rows]},
            ],
        },
        "sector": {
            "title": "行业领域：发现与未销号",
            "categories": [r.name for r in by_sector.rows],
            "series": [
                {"name": "发现", "data": [r.figures.found for r in by_sector.rows]},
                {"name": "未销号", "data": [r.figures.open for r in by_sector.rows]},
            ],
        },
    }


# The figures are independent read-only statements: run side by side, each in its own read-only session
# (the API answers them as separate calls), so the page costs about its slowest figure, not their sum.
_FIGURES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="console-figures")


def start_figures(request: Request, jobs: dict[str, Callable[[Session], Any]]) -> dict[str, Future[Any]]:
    """Start each job in its own read-only session; ``.result()`` of each gives its answer (or raises)."""
    state = request.app.state

    def run(job: Callable[[Session], Any]) -> Any:
        with state.sessionmaker(bind=state.read_engine) as session:
            return job(session)

    return {name: _FIGURES.submit(run, job) for name, job in jobs.items()}


@router.get("/")
def home(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    today = clock.today_in_china()
    cutoff = request.app.state.settings.campaign_cutoff
    f = stats.StatFilters(region=actor.region_code)
    regional = actor.role is not Role.enterprise
    jobs: dict[str, Callable[[Session], Any]] = {
        "summary": lambda s: stats.summary(s, actor, f, as_of=today, cutoff=cutoff),
        "clearance": lambda s: stats.clearance(s, actor, f, as_of=today, cutoff=cutoff, oldest=5),
        "trend": lambda s: stats.trend(s, actor, f, as_of=today, months=12),
        "rungs": lambda s: activity.measures_by_rung(s, actor, f, today),
    }
    if regional:
        jobs["by_region"] = lambda s: stats.breakdown(s, actor, f, "region", as_of=today, cutoff=cutoff)
        jobs["by_sector"] = lambda s: stats.breakdown(s, actor, f, "sector", as_of=today, cutoff=cutoff)
    pending = start_figures(request, jobs)

    try:
        calendar: WorkCalendar | None = load_calendar(session)
    except CalendarYearUnknown:
        calendar = None
    waiting, waiting_total = hazards.waiting_for(session, actor, today, limit=15)
    waiting_rows = [(h, *due_note(calendar, today, h.deadline)) for h in waiting]
    panels = [p for p in (make(session, actor, today) for make in HOME_PANELS) if p is not None]
    got = {name: future.result() for name, future in pending.items()}
    summary, clearance, trend, rungs = got["summary"], got["clearance"], got["trend"], got["rungs"]
    by_region, by_sector = got.get("by_region"), got.get("by_sector")
    charts = _charts(trend, by_region or _EMPTY, by_sector or _EMPTY)
    if not regional:
        charts = {"trend": charts["trend"]}
    context = {
        "waiting": waiting_rows,
        "waiting_total": waiting_total,
        "panels": panels,
        "figures": summary.figures,
        "clearance": clearance,
        "rungs": rungs,
        "charts": charts,
        "cutoff": cutoff,
    }
    return render(request, "home/index.html", context)


@dataclass
class _Empty:
    rows: list[Any] = field(default_factory=list)


_EMPTY = _Empty()
