"""管理 → 统一身份认证映射规则: the claim rules of auth/sso.py (who signs in through the provider as what), listed,
added and retired through the same service and schema as the API's /api/v1/auth/oidc/rules."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth import schemas, sso
from hazard_registry.auth.principal import Actor
from hazard_registry.db import DbSession
from hazard_registry.reference.models import Department, Enterprise
from hazard_registry.types import IdPath
from hazard_registry.web.admin import admin_actor
from hazard_registry.web.page_forms import Failure, FormData, attempt, blank_to_none, parse
from hazard_registry.web.pages import PageActor, page_router, redirect, render

router = page_router(prefix="/admin/sso")


def _page(
    request: Request, session: Session, actor: Actor, failure: Failure | None = None, form: dict | None = None
) -> HTMLResponse:
    rows = sso.list_rules(session, actor)
    depts = dict(session.execute(select(Department.id, Department.name)).all())
    ents = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_({r.enterprise_id for r in rows}))
        ).all()
    )
    settings = request.app.state.settings
    context = {
        "rows": rows,
        "depts": depts,
        "ents": ents,
        "failure": failure,
        "form": form or {},
        "issuer": settings.oidc_issuer,
    }
    return render(request, "admin/sso.html", context, status_code=failure.status if failure else 200)


@router.get("")
def rules(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _page(request, session, admin_actor(actor))


def _conditions(data: dict[str, Any]) -> list[dict[str, str]]:
    """The form's two optional conditions: a claim that equals a value, a claim (a list) that contains one."""
    out = []
    for op in ("equals", "contains"):
        claim, value = (data.get(f"{op}_claim") or "").strip(), (data.get(f"{op}_value") or "").strip()
        if claim or value:
            out.append({"claim": claim, "op": op, "value": value})
    return out


@router.post("")
def create_rule(request: Request, actor: PageActor, session: DbSession, data: FormData) -> Response:
    admin_actor(actor)
    fields = {k: v for k, v in blank_to_none(data).items() if k in ("role", "enterprise_uscc", "department_code")}
    fields |= {"region_code": blank_to_none(data).get("region_code"), "conditions": _conditions(data)}
    fields |= {right: data.get(right) == "on" for right in ("can_close", "can_take_complaints")}
    body, failure = parse(schemas.OidcRuleCreate, fields)
    if body is not None:
        rule, failure = attempt(session, lambda: sso.create_rule(session, actor, body, clock.now()))
        if rule is not None:
            return redirect("/admin/sso", f"已新增映射规则 #{rule.id}", request=request)
    return _page(request, session, actor, failure, data)


@router.post("/{rule_id}/retire")
def retire_rule(request: Request, rule_id: IdPath, actor: PageActor, session: DbSession) -> Response:
    admin_actor(actor)
    _, failure = attempt(session, lambda: sso.retire_rule(session, actor, rule_id))
    if failure is None:
        return redirect("/admin/sso", f"映射规则 #{rule_id} 已停用", request=request)
    return _page(request, session, actor, failure)
