"""Pickers that search instead of listing: the enterprise type-ahead and the region cascade.

Each is a form control drawn by the page (server-side, so it works with JavaScript off: typing a name and
submitting the form shows the matches; choosing a province and submitting shows its cities) and a fragment
endpoint htmx swaps in as the user types or chooses. Both stay inside the caller's scope: the enterprises
come from ``reference.search_enterprises`` (the API's enterprise scope), the regions from below the caller's
own region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, Role
from hazard_registry.db import DbSession
from hazard_registry.errors import NotFound
from hazard_registry.reference import service as reference
from hazard_registry.web import choices
from hazard_registry.web.pages import PageActor, page_router, render

router = page_router(prefix="/pick")

MATCHES = 20
TARGET = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
BLANKS = {"filter": "全部企业", "form": "请选择企业"}
CASCADE_FIELDS = frozenset({"region", "region_code"})


@dataclass
class EnterprisePicker:
    """A search box (``enterprise_q``) and the select (``enterprise_id``) of what it found, the chosen one kept."""

    id: str
    q: str = ""
    mode: str = "filter"
    selected: tuple[int, str, str] | None = None
    matches: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def blank(self) -> str:
        return BLANKS[self.mode]


def enterprise_picker(
    session: Session, actor: Actor, q: str, selected_id: str, *, id: str, mode: str = "filter"
) -> EnterprisePicker | None:
    """None for an enterprise (it only ever sees itself). No statement when nothing is typed or chosen."""
    if actor.role is Role.enterprise:
        return None
    picker = EnterprisePicker(id=id, q=q.strip()[:100], mode=mode if mode in BLANKS else "filter")
    if selected_id.isdigit():
        try:
            ent = reference.get_enterprise(session, actor, int(selected_id))
            picker.selected = (ent.id, ent.name, ent.uscc)
        except NotFound:
            pass
    picker.matches = [
        (e.id, e.name, e.uscc) for e in reference.search_enterprises(session, actor, picker.q, limit=MATCHES)
    ]
    return picker


def region_cascade(session: Session, actor: Actor, values: list[str], *, name: str, id: str) -> choices.Cascade | None:
    """The cascade below the caller's region; None for an enterprise, which filters by no region."""
    if actor.role is Role.enterprise or not actor.region_code:
        return None
    chosen = choices.chosen_region(values, actor.region_code)
    return choices.cascade(session, actor.region_code, chosen, name=name, id=id)


@router.get("/enterprises")
def enterprises(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    """The enterprise select for what was typed (htmx swaps it in place of the page's)."""
    p = request.query_params
    target = p.get("target", "")
    if not TARGET.match(target):
        raise NotFound("no such picker", code="not_found")
    picker = enterprise_picker(
        session, actor, p.get("enterprise_q", ""), p.get("enterprise_id", ""), id=target, mode=p.get("mode", "")
    )
    return render(request, "pickers/_enterprises.html", {"picker": picker})


@router.get("/regions")
def regions(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    """The region cascade as far as chosen (htmx swaps it in when a level changes)."""
    p = request.query_params
    target, name = p.get("target", ""), p.get("name", "")
    if not TARGET.match(target) or name not in CASCADE_FIELDS:
        raise NotFound("no such picker", code="not_found")
    cascade = region_cascade(session, actor, p.getlist(name), name=name, id=target)
    return render(request, "pickers/_regions.html", {"cascade": cascade})
