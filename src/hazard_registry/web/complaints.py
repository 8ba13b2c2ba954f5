"""举报处理: the triage queue, one complaint with its messages, actions, duplicates, identity reveals and reward;
hotline intake (the receipt shown once); the paying office's queue and the reveal log. Everything goes through
complaints.service with the API's own schemas; the actions offered are the workflow's ``allowed_actions``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import Actor, Role
from hazard_registry.complaints import schemas, service
from hazard_registry.complaints.workflow import State
from hazard_registry.db import DbSession
from hazard_registry.errors import NotFound
from hazard_registry.pagination import Page
from hazard_registry.reference import service as reference
from hazard_registry.reference.models import Department
from hazard_registry.types import IdPath
from hazard_registry.web.nav import NAV, NavItem
from hazard_registry.web.page_forms import Failure, FormData, attempt, blank_to_none, parse
from hazard_registry.web.pages import PageActor, page_router, redirect, render

router = page_router(prefix="/complaints")
HANDLERS = frozenset({Role.regulator, Role.admin})
NAV.append(NavItem("举报处理", "/complaints", roles=HANDLERS, order=50))
NAV.append(NavItem("举报登记", "/complaints/intake", roles=HANDLERS, order=51, when=lambda a: a.can_take_complaints))
NAV.append(NavItem("举报奖励发放", "/complaints/rewards", roles=frozenset({Role.admin}), order=52))

PAGE = 50


def _vault(request: Request):
    return request.app.state.complaint_vault


# --- the queue -----------------------------------------------------------------------------------------------


@router.get("")
def queue(
    request: Request,
    actor: PageActor,
    session: DbSession,
    state: State | Literal[""] | None = None,
    overdue: bool = False,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    today = clock.today_in_china()
    rows, next_cursor = service.list_complaints(
        session, actor, state=[state.value] if state else [], overdue=overdue, cursor=cursor, limit=PAGE, today=today
    )
    page = Page[schemas.ComplaintOut](items=[service.to_out(c, actor, today) for c in rows], next_cursor=next_cursor)
    context = {"page": page, "filters": {"state": state, "overdue": overdue}}
    return render(request, "complaints/list.html", context)


# --- hotline intake ----------------------------------------------------------------------------------------------


@router.get("/intake")
def intake_form(request: Request, actor: PageActor) -> HTMLResponse:
    return render(request, "complaints/intake.html", {"form": {"region_code": actor.region_code or ""}})


@router.post("/intake")
def intake(request: Request, actor: PageActor, session: DbSession, data: FormData) -> HTMLResponse:
    """The receipt is in this one answer only (the database keeps its hash): read it to the caller now."""
    fields = blank_to_none(data)
    reporter = {k: fields.pop(f"reporter_{k}", None) for k in ("name", "phone", "email", "address")}
    employee = fields.pop("reporter_employee_of_target", None) == "on"
    payload = {**fields, "reporter": ({**reporter, "employee_of_target": employee} if any(reporter.values()) else None)}
    body, failure = parse(schemas.IntakeCreate, payload)
    if body is not None:
        create = schemas.ComplaintCreate(**body.model_dump(exclude={"channel"}))
        result, failure = attempt(
            session,
            lambda: service.submit(
                session, create, channel=body.channel, vault=_vault(request), now=clock.now(), entered_by=actor
            ),
        )
        if result is not None:
            return render(request, "complaints/receipt.html", {"receipt": result[1], "complaint": result[0]})
    return render(request, "complaints/intake.html", {"form": data, "failure": failure}, status_code=failure.status)


# --- the paying office and the reveal log -----------------------------------------------------------------------


@router.get("/rewards")
def rewards(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    rows = [service.payment_view(r, _vault(request)) for r in service.rewards_to_pay(session, actor)]
    return render(request, "complaints/rewards.html", {"rows": rows})


@router.post("/rewards/{reward_id}/payment")
def pay(
    request: Request,
    reward_id: IdPath,
    actor: PageActor,
    session: DbSession,
    payment_reference: Annotated[str, Form(min_length=1, max_length=64)],
) -> Response:
    _, failure = attempt(
        session, lambda: service.pay_reward(session, actor, reward_id, payment_reference.strip(), clock.now())
    )
    if failure:
        rows = [service.payment_view(r, _vault(request)) for r in service.rewards_to_pay(session, actor)]
        return render(
            request, "complaints/rewards.html", {"rows": rows, "failure": failure}, status_code=failure.status
        )
    return redirect("/complaints/rewards", "奖励已登记为已发放", request=request)


@router.get("/reveals")
def reveal_log(request: Request, actor: PageActor, session: DbSession) -> HTMLResponse:
    return render(request, "complaints/reveals.html", {"rows": service.list_reveals(session, actor, 200, None)[0]})


# --- one complaint -----------------------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    complaint_id: int,
    failure: Failure | None = None,
    form: dict[str, Any] | None = None,
    status_code: int | None = None,
) -> HTMLResponse:
    today = clock.today_in_china()
    c = service.get_for_handler(session, actor, complaint_id)
    out = service.to_out(c, actor, today)
    actions = out.allowed_actions
    duplicates: list[tuple[Any, Any]] = []
    if "merge" in actions:
        for s in service.duplicates(session, actor, complaint_id, clock.now())[:5]:
            try:
                duplicates.append((s, service.get_for_handler(session, actor, s.id)))
            except NotFound:
                continue
    departments = []
    if "transfer" in actions:
        city = c.region_code[:4] + "00"
        departments = [d for d in reference.list_departments(session, actor, city, None) if d.id != c.department_id]
    enterprises, clauses = [], []
    if "conclude" in actions:
        enterprises, _ = reference.list_enterprises(
            session, actor, region=c.region_code[:6], industry_code=None, q=None, cursor=None, limit=200
        )
        for std in reference.list_standards(session, None, c.sector_code, today):
            clauses.extend((std, cl) for cl in std.clauses)
    reward = service.reward_of(session, actor, complaint_id)
    reveals = service.reveals_of(session, actor, complaint_id)
    context = {
        "c": out,
        "department": session.get(Department, c.department_id),
        "messages": service.list_messages(session, actor, complaint_id),
        "events": service.list_events(session, actor, complaint_id),
        "files": service.list_files(session, actor, complaint_id),
        "actions": actions,
        "duplicates": duplicates,
        "departments": departments,
        "enterprises": enterprises,
        "clauses": clauses,
        "reward": service.reward_out(reward) if reward else None,
        "reward_actions": service.reward_actions(actor, c, reward),
        "reveals": [(r, service.reveal_actions(session, actor, r)) for r in reveals],
        "may_request_reveal": service.may_request_reveal(actor, c),
        "failure": failure,
        "form": form or {},
    }
    status = status_code or (failure.status if failure else 200)
    return render(request, "complaints/detail.html", context, status_code=status)


@router.get("/{complaint_id}")
def detail(request: Request, complaint_id: IdPath, actor: PageActor, session: DbSession) -> HTMLResponse:
    return _detail(request, session, actor, complaint_id)


HAZARD_FIELDS = ("enterprise_id", "clause_id", "title", "description", "location", "found_at")
DONE = {
    "accept": "已受理",
    "refuse": "已决定不予受理，并告知举报人",
    "transfer": "已转办",
    "merge": "已合并",
    "extend": "已延长办理期限",
    "conclude": "已办结",
    "reply": "已答复举报人",
    "start_recheck": "已启动复查",
    "decline_recheck": "已决定不予复查，并告知举报人",
}


def action_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as the API's action body: the hazard of a substantiated conclusion nested as in JSON."""
    fields = blank_to_none(data)
    hazard = {k: fields.pop(f"hazard_{k}", None) for k in HAZARD_FIELDS}
    if fields.get("action") == "conclude" and fields.get("outcome") == "substantiated":
        fields["hazard"] = hazard
    return {k: v for k, v in fields.items() if v is not None}


@router.post("/{complaint_id}/transitions")
def act(request: Request, complaint_id: IdPath, actor: PageActor, session: DbSession, data: FormData) -> Response:
    body, failure = parse(schemas.ActionBody, action_payload(data))
    if body is not None:
        c, failure = attempt(
            session,
            lambda: service.transition(
                session, actor, complaint_id, body, expected_version=body.version, now=clock.now()
            ),
        )
        if c is not None:
            message = DONE.get(body.action, "已办理")
            if body.action == "conclude" and c.hazard_id:
                message += "，已生成隐患并登记入账"
            return redirect(f"/complaints/{complaint_id}", message, request=request)
    return _detail(request, session, actor, complaint_id, failure, data)


def _step(
    request: Request,
    session: Session,
    actor: Actor,
    complaint_id: int,
    form: dict[str, Any],
    parsed: tuple[Any, Failure | None],
    do: Callable[[Any], object],
    done: Callable[[Any], str],
) -> Response:
    """One form on a complaint's page: the parsed body goes to ``do`` (a service call); success redirects with
    ``done(body)``, a refusal shows the page again with the reason and the form as it was filled."""
    body, failure = parsed
    if body is not None:
        _, failure = attempt(session, lambda: do(body))
        if failure is None:
            return redirect(f"/complaints/{complaint_id}", done(body), request=request)
    return _detail(request, session, actor, complaint_id, failure, form)


@router.post("/{complaint_id}/messages")
def write(request: Request, complaint_id: IdPath, actor: PageActor, session: DbSession, data: FormData) -> Response:
    return _step(
        request,
        session,
        actor,
        complaint_id,
        {"action": "message", **data},
        parse(schemas.MessageCreate, {"kind": data.get("kind"), "body": data.get("body", "")}),
        lambda body: service.add_message(session, actor, complaint_id, body, clock.now()),
        lambda body: "已向举报人发出询问" if body.kind == "question" else "已记录内部备注",
    )


@router.post("/{complaint_id}/reveals")
def request_reveal(
    request: Request, complaint_id: IdPath, actor: PageActor, session: DbSession, data: FormData
) -> Response:
    return _step(
        request,
        session,
        actor,
        complaint_id,
        {"action": "reveal", **data},
        parse(schemas.RevealCreate, {"reason": data.get("reason", "")}),
        lambda body: service.request_reveal(session, actor, complaint_id, body.reason, clock.now()),
        lambda _body: "已提交身份披露申请，待有权人员审批",
    )


@router.post("/{complaint_id}/reveals/{reveal_id}/decision")
def decide_reveal(
    request: Request, complaint_id: IdPath, reveal_id: IdPath, actor: PageActor, session: DbSession, data: FormData
) -> Response:
    return _step(
        request,
        session,
        actor,
        complaint_id,
        {"action": "decide", **data},
        parse(schemas.RevealDecision, blank_to_none({"decision": data.get("decision"), "note": data.get("note")})),
        lambda body: service.decide_reveal(session, actor, complaint_id, reveal_id, body, clock.now()),
        lambda body: "已批准身份披露申请" if body.decision == "approve" else "已拒绝身份披露申请",
    )


@router.post("/{complaint_id}/reveals/{reveal_id}/identity")
def view_identity(
    request: Request, complaint_id: IdPath, reveal_id: IdPath, actor: PageActor, session: DbSession
) -> Response:
    """A POST, not a link: each viewing is logged (and committed) before the identity is shown."""
    ident, failure = attempt(
        session,
        lambda: service.view_identity(session, actor, complaint_id, reveal_id, _vault(request), clock.now()),
    )
    if failure:
        return _detail(request, session, actor, complaint_id, failure)
    return render(request, "complaints/identity.html", {"ident": ident, "complaint_id": complaint_id})


@router.post("/{complaint_id}/reward")
def propose_reward(
    request: Request, complaint_id: IdPath, actor: PageActor, session: DbSession, data: FormData
) -> Response:
    fields = blank_to_none({k: data.get(k) for k in ("basis", "fine_yuan", "deaths", "accident_class")})
    return _step(
        request,
        session,
        actor,
        complaint_id,
        {"action": "reward", **data},
        parse(schemas.RewardPropose, {k: v for k, v in fields.items() if v is not None}),
        lambda body: service.propose_reward(session, actor, complaint_id, body, clock.now()),
        lambda _body: "已提出奖励建议，待审批",
    )


@router.post("/{complaint_id}/reward/approval")
def approve_reward(request: Request, complaint_id: IdPath, actor: PageActor, session: DbSession) -> Response:
    _, failure = attempt(session, lambda: service.approve_reward(session, actor, complaint_id, clock.now()))
    if failure:
        return _detail(request, session, actor, complaint_id, failure)
    return redirect(f"/complaints/{complaint_id}", "已批准奖励，举报人可凭回执码申领", request=request)
