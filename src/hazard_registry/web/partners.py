"""管理 → Open311 接入: the administrator registers partner platforms, sees each key once, and revokes keys.
Each form goes to the service the API's routes call (open311.service), with the API's schema."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import Actor
from hazard_registry.db import DbSession
from hazard_registry.open311 import partners as open311
from hazard_registry.open311 import schemas
from hazard_registry.types import IdPath
from hazard_registry.web.admin import admin_actor
from hazard_registry.web.page_forms import Failure, FormData, attempt, parse
from hazard_registry.web.pages import PageActor, page_router, redirect, render

router = page_router(prefix="/admin/open311")
CODES = re.compile(r"\d+")


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    failure: Failure | None = None,
    form: dict | None = None,
    created: schemas.PartnerCreated | None = None,
) -> HTMLResponse:
    rows, _ = open311.list_partners(session, actor, None, 200)
    context = {"rows": rows, "failure": failure, "form": form or {"regions": actor.region_code}, "created": created}
    status = failure.status if failure else (201 if created else 200)
    return render(request, "admin/open311.html", context, status_code=status)


@router.get("")
def partner_list(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _page(request, session, admin_actor(actor))


@router.post("")
def create_partner(request: Request, actor: PageActor, session: DbSession, data: FormData) -> Response:
    """The key is shown on the page this answers with, once; it is not put in a flash message (the session)."""
    admin_actor(actor)
    body, failure = parse(
        schemas.PartnerCreate, {"name": data.get("name", ""), "regions": CODES.findall(data.get("regions", ""))}
    )
    if body is not None:
        result, failure = attempt(session, lambda: open311.create_partner(session, actor, body, clock.now()))
        if result is not None:
            partner, key = result
            shown = schemas.PartnerCreated(**schemas.PartnerOut.model_validate(partner).model_dump(), api_key=key)
            return _page(request, session, actor, created=shown)
    return _page(request, session, actor, failure=failure, form=data)


@router.post("/{partner_id}/revocation")
def revoke_partner(request: Request, partner_id: IdPath, actor: PageActor, session: DbSession) -> Response:
    admin_actor(actor)
    partner, failure = attempt(session, lambda: open311.revoke_partner(session, actor, partner_id, clock.now()))
    if failure or partner is None:
        return redirect("/admin/open311", failure.message if failure else "", "error", request=request)
    return redirect("/admin/open311", f"已吊销 {partner.name} 的接入密钥，立即生效", request=request)
