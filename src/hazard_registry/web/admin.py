"""管理: the administrator's pages — users and their rights, departments, enterprises, the escalation rules in
force for the region (every version) and new versions, holiday tables, and notice dead letters. Each form goes
to the service the API's route calls, with the API's schema; the services check the region and the role."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth import schemas as auth_schemas
from hazard_registry.auth import service as users
from hazard_registry.auth import sso
from hazard_registry.auth.deps import require_role
from hazard_registry.auth.principal import NATIONAL, Actor, Role
from hazard_registry.db import DbSession
from hazard_registry.notices import service as notices
from hazard_registry.reference import schemas as ref_schemas
from hazard_registry.reference import service as reference
from hazard_registry.reference.models import Department, Enterprise, Industry, Sector
from hazard_registry.supervision import service as supervision
from hazard_registry.supervision.router import CalendarYearIn, RuleCreate, RuleRevise
from hazard_registry.types import IdPath
from hazard_registry.web import choices, pickers
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.page_forms import Failure, FormData, FormLists, attempt, blank_to_none, parse
from hazard_registry.web.pages import PageActor, page_router, redirect, render
from hazard_registry.workdays import CalendarYearUnknown

ADMIN = frozenset({Role.admin})
router = page_router(prefix="/admin")
NAV.append(NavItem("管理", "/admin", roles=ADMIN, order=90))

RIGHTS = ("can_close", "can_reveal_identity", "can_take_complaints")


def admin_actor(actor: PageActor) -> Actor:
    require_role(actor, Role.admin)
    return actor


def _checked(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, bool]:
    """HTML sends a checkbox only when it is ticked; the API's schema wants each as true or false."""
    return {n: data.get(n) == "on" for n in names}


@router.get("")
def index(request: Request, actor: PageActor) -> HTMLResponse:
    admin_actor(actor)
    return render(request, "admin/index.html")


# --- users ------------------------------------------------------------------------------------------------------


def _users_page(
    request: Request, session: Session, actor: Actor, failure: Failure | None = None, form: dict | None = None
) -> HTMLResponse:
    rows, _ = users.list_users(session, actor, None, 500, None)
    depts = dict(session.execute(select(Department.id, Department.name)).all())
    ents = dict(
        session.execute(
            select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_({u.enterprise_id for u in rows}))
        ).all()
    )
    context = {"rows": rows, "depts": depts, "ents": ents, "failure": failure, "form": form or {}}
    return render(request, "admin/users.html", context, status_code=failure.status if failure else 200)


@router.get("/users")
def user_list(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _users_page(request, session, admin_actor(actor))


@router.post("/users")
def create_user(request: Request, actor: PageActor, session: DbSession, data: FormData) -> Response:
    admin_actor(actor)
    body, failure = parse(auth_schemas.UserCreate, blank_to_none(data) | _checked(data, RIGHTS))
    if body is not None:
        user, failure = attempt(session, lambda: users.create_user(session, actor, body))
        if user is not None:
            return redirect("/admin/users", f"已创建用户 {user.username}", request=request)
    return _users_page(request, session, actor, failure, {k: v for k, v in data.items() if k != "password"})


def _user_page(
    request: Request, session: Session, actor: Actor, user_id: int, failure: Failure | None = None
) -> HTMLResponse:
    user = users.get_user(session, actor, user_id)
    context = {"u": user, "failure": failure, "links": sso.list_links(session, actor, user_id)}
    return render(request, "admin/user.html", context, status_code=failure.status if failure else 200)


@router.get("/users/{user_id}")
def user_detail(request: Request, user_id: IdPath, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _user_page(request, session, admin_actor(actor), user_id)


@router.post("/users/{user_id}")
def update_user(request: Request, user_id: IdPath, actor: PageActor, session: DbSession, data: FormData) -> Response:
    admin_actor(actor)
    if data.get("active") == "false":
        values: dict[str, Any] = {"active": False}
    elif data.get("active") == "true":
        values = {"active": True}
    else:
        values = {k: v for k, v in blank_to_none(data).items() if k in ("display_name", "email", "password")}
        values = {k: v for k, v in values.items() if v is not None} | _checked(data, RIGHTS)
    body, failure = parse(auth_schemas.UserUpdate, values)
    if body is not None:
        _, failure = attempt(session, lambda: users.update_user(session, actor, user_id, body))
        if failure is None:
            done = {False: "用户已停用，其登录会话立即失效", True: "用户已启用"}.get(values.get("active"), "已保存")
            return redirect(f"/admin/users/{user_id}", done, request=request)
    return _user_page(request, session, actor, user_id, failure)


@router.post("/users/{user_id}/oidc-links")
def link_subject(request: Request, user_id: IdPath, actor: PageActor, session: DbSession, data: FormData) -> Response:
    """统一身份认证: the provider's subject signs in as this user (auth/sso.py)."""
    admin_actor(actor)
    body, failure = parse(auth_schemas.OidcLinkCreate, blank_to_none(data))
    if body is not None:
        issuer = request.app.state.settings.oidc_issuer
        _, failure = attempt(session, lambda: sso.link_subject(session, actor, user_id, body, issuer, clock.now()))
        if failure is None:
            return redirect(f"/admin/users/{user_id}", "已关联统一身份认证账号", request=request)
    return _user_page(request, session, actor, user_id, failure)


@router.post("/users/{user_id}/oidc-links/{link_id}/delete")
def unlink_subject(
    request: Request, user_id: IdPath, link_id: IdPath, actor: PageActor, session: DbSession
) -> Response:
    admin_actor(actor)
    _, failure = attempt(session, lambda: sso.unlink_subject(session, actor, user_id, link_id, clock.now()))
    if failure is None:
        return redirect(f"/admin/users/{user_id}", "已解除关联", request=request)
    return _user_page(request, session, actor, user_id, failure)


# --- departments and enterprises ---------------------------------------------------------------------------------


def _sectors(session: Session) -> list[Sector]:
    return list(session.scalars(select(Sector).order_by(Sector.code)))


def _cascade(session: Session, actor: Actor, form: dict, id: str) -> choices.Cascade | None:
    """Where a department or an enterprise is: the province → city → county cascade below the administrator's
    region (the form posts every level as ``region_code``; the deepest chosen one counts)."""
    return pickers.region_cascade(session, actor, [str(form.get("region_code") or "")], name="region_code", id=id)


def _region_names(session: Session, rows: list[Any]) -> dict[str, str]:
    return {code: choices.region_path(session, code) for code in {r.region_code for r in rows if r.region_code}}


def _chosen_region(actor: Actor, lists: dict[str, list[str]]) -> str | None:
    """The deepest region the cascade names within the administrator's; the administrator's own when that is
    what was sent or the cascade was left at its top (a city's own bureau); None for a region outside it."""
    root = actor.region_code or NATIONAL
    values = [v.strip() for v in lists.get("region_code", []) if v.strip()]
    if not values:
        return root
    return choices.chosen_region(values, root) or (root if root in values else None)


def _departments_page(
    request: Request, session: Session, actor: Actor, failure: Failure | None = None, form: dict | None = None
) -> HTMLResponse:
    rows = reference.list_departments(session, actor, actor.region_code, None)
    form = form or {"region_code": actor.region_code}
    context = {
        "rows": rows,
        "sectors": _sectors(session),
        "failure": failure,
        "form": form,
        "cascade": _cascade(session, actor, form, "d-region"),
        "region_names": _region_names(session, rows),
    }
    return render(request, "admin/departments.html", context, status_code=failure.status if failure else 200)


@router.get("/departments")
def department_list(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _departments_page(request, session, admin_actor(actor))


@router.post("/departments")
def create_department(
    request: Request, actor: PageActor, session: DbSession, data: FormData, lists: FormLists
) -> Response:
    admin_actor(actor)
    fields = blank_to_none(data) | {"is_default_lead": data.get("is_default_lead") == "on"}
    fields["sectors"] = lists.get("sectors", [])
    fields["region_code"] = data["region_code"] = _chosen_region(actor, lists)
    body, failure = parse(ref_schemas.DepartmentCreate, fields)
    if body is not None:
        dept, failure = attempt(session, lambda: reference.create_department(session, actor, body))
        if dept is not None:
            return redirect("/admin/departments", f"已添加部门 {dept.name}", request=request)
    return _departments_page(request, session, actor, failure, data)


def _enterprises_page(
    request: Request,
    session: Session,
    actor: Actor,
    q: str | None = None,
    failure: Failure | None = None,
    form: dict | None = None,
) -> HTMLResponse:
    rows, _ = reference.list_enterprises(
        session, actor, region=None, industry_code=None, q=q or None, cursor=None, limit=200
    )
    divisions = list(session.scalars(select(Industry).where(Industry.level == "division").order_by(Industry.code)))
    form = form or {"region_code": actor.region_code}
    context = {
        "rows": rows,
        "q": q or "",
        "divisions": divisions,
        "failure": failure,
        "form": form,
        "cascade": _cascade(session, actor, form, "n-region"),
        "region_names": _region_names(session, rows),
    }
    return render(request, "admin/enterprises.html", context, status_code=failure.status if failure else 200)


@router.get("/enterprises")
def enterprise_list(
    request: Request,
    actor: PageActor,
    session: DbSession,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    return _enterprises_page(request, session, admin_actor(actor), q)


@router.post("/enterprises")
def create_enterprise(
    request: Request, actor: PageActor, session: DbSession, data: FormData, lists: FormLists
) -> Response:
    admin_actor(actor)
    data["region_code"] = _chosen_region(actor, lists)
    body, failure = parse(ref_schemas.EnterpriseCreate, blank_to_none(data))
    if body is not None:
        ent, failure = attempt(session, lambda: reference.create_enterprise(session, actor, body))
        if ent is not None:
            return redirect("/admin/enterprises", f"已登记企业 {ent.name}", request=request)
    return _enterprises_page(request, session, actor, failure=failure, form=data)


# --- escalation rules -------------------------------------------------------------------------------------------


def _rules_page(
    request: Request, session: Session, actor: Actor, failure: Failure | None = None, form: dict | None = None
) -> HTMLResponse:
    supervision.require_rule_reader(actor)
    rows = supervision.list_rules(session, actor.region_code, include_retired=True)
    context = {
        "rows": rows,
        "failure": failure,
        "form": form or {},
        "may_set": {r.id for r in rows if supervision.may_set_rule(actor, r.region_code)},
        "may_add": supervision.may_set_rule(actor, actor.region_code),
    }
    return render(request, "admin/rules.html", context, status_code=failure.status if failure else 200)


@router.get("/rules")
def rules(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _rules_page(request, session, admin_actor(actor))


RULE_FLAGS = ("working_days", "needs_confirmation")


@router.post("/rules")
def create_rule(request: Request, actor: PageActor, session: DbSession, data: FormData) -> Response:
    admin_actor(actor)
    fields = blank_to_none(data) | _checked(data, RULE_FLAGS) | {"region_code": actor.region_code}
    body, failure = parse(RuleCreate, fields)
    if body is not None:
        rule, failure = attempt(
            session, lambda: supervision.create_rule(session, actor, body.model_dump(), clock.now())
        )
        if rule is not None:
            return redirect("/admin/rules", f"已新增规则 {rule.key}（第1版）", request=request)
    return _rules_page(request, session, actor, failure, {"action": "create", **data})


@router.post("/rules/{rule_id}/revisions")
def revise_rule(request: Request, rule_id: IdPath, actor: PageActor, session: DbSession, data: FormData) -> Response:
    admin_actor(actor)
    fields = {k: v for k, v in blank_to_none(data).items() if v is not None} | _checked(data, (*RULE_FLAGS, "active"))
    body, failure = parse(RuleRevise, fields)
    if body is not None:
        rule, failure = attempt(
            session,
            lambda: supervision.revise_rule(session, actor, rule_id, body.model_dump(exclude_unset=True), clock.now()),
        )
        if rule is not None:
            return redirect("/admin/rules", f"规则 {rule.key} 已更新为第{rule.version}版", request=request)
    return _rules_page(request, session, actor, failure, {"action": f"revise-{rule_id}", **data})


# --- holiday tables ---------------------------------------------------------------------------------------------

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
Year = Annotated[int, Path(ge=2004, le=2100)]


def _calendar_page(
    request: Request,
    session: Session,
    actor: Actor,
    year: int,
    failure: Failure | None = None,
    form: dict | None = None,
) -> HTMLResponse:
    try:
        table = supervision.calendar_year(session, year)
    except CalendarYearUnknown:
        table = None
    context = {
        "year": year,
        "table": table,
        "failure": failure,
        "form": form or {},
        "can_load": reference.may_edit_national(actor),  # what supervision.load_year requires
    }
    return render(request, "admin/calendar.html", context, status_code=failure.status if failure else 200)


@router.get("/calendar")
def calendar(
    request: Request,
    actor: PageActor,
    session: DbSession,
    year: Annotated[int | None, Query(ge=2004, le=2100)] = None,
) -> HTMLResponse:
    admin_actor(actor)
    return _calendar_page(request, session, actor, year or clock.today_in_china().year + 1)


@router.post("/calendar/{year}")
def load_calendar(request: Request, year: Year, actor: PageActor, session: DbSession, data: FormData) -> Response:
    admin_actor(actor)
    fields = {
        "holidays": DATE.findall(data.get("holidays", "")),
        "workdays": DATE.findall(data.get("workdays", "")),
        "source": (data.get("source") or "").strip() or None,
    }
    body, failure = parse(CalendarYearIn, fields)
    if body is not None:
        updated, failure = attempt(
            session,
            lambda: supervision.load_year(session, actor, year, body.holidays, body.workdays, body.source),
        )
        if failure is None:
            message = f"{year}年节假日表已导入，{updated or 0}个期限已按新表计算"
            return redirect(f"/admin/calendar?year={year}", message, request=request)
    return _calendar_page(request, session, actor, year, failure, data)


# --- notices ----------------------------------------------------------------------------------------------------


@router.get("/notices")
def notice_list(
    request: Request,
    actor: PageActor,
    session: DbSession,
    status: Annotated[str | None, Query(pattern=r"^(pending|sent|dead)?$")] = "dead",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    admin_actor(actor)
    rows, next_cursor = notices.list_notices(session, actor, status=status or None, cursor=cursor, limit=100)
    context = {"rows": rows, "status": status or "", "next_cursor": next_cursor}
    return render(request, "admin/notices.html", context)


@router.post("/notices/{notice_id}/retry")
def retry_notice(request: Request, notice_id: IdPath, actor: PageActor, session: DbSession) -> Response:
    admin_actor(actor)
    _, failure = attempt(session, lambda: notices.retry(session, actor, notice_id, clock.now()))
    if failure:
        return redirect("/admin/notices", failure.message, "error", request=request)
    return redirect("/admin/notices", "已重新放入发送队列", request=request)
