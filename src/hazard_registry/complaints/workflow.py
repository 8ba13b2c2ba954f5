"""The life of a public complaint as one table on the workflow kernel.

received ─accept→ accepted ─conclude→ concluded ─reply→ replied ─request_recheck→ recheck_requested
   │ refuse → refused            ↺ extend (once)                     start_recheck → accepted
   │ merge  → merged                                                 decline_recheck → replied
   ↺ transfer (to another department)

Handlers are regulators of the complaint's lead department; the reporter acts only through the receipt
(``actor`` None). What the reporter is told (a reply, a merge, a re-check) is part of each effect, so it is
written with the change or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from hazard_registry import rule_machine
from hazard_registry.auth.principal import Actor, Role, complaint_scope, on_line, region_contains
from hazard_registry.complaints.models import Complaint, ComplaintEvent, ComplaintMessage
from hazard_registry.complaints.schemas import HazardFromComplaint
from hazard_registry.errors import GateFailed, InvalidInput
from hazard_registry.hazards import schemas as hazard_schemas
from hazard_registry.hazards import service as hazards
from hazard_registry.reference.models import Department, Enterprise
from hazard_registry.workflow import Chain, Check, Context, StateFacts, Transition, Workflow, append, register

HANDLING_DAYS = 60
MAX_EXTENSION_DAYS = 30
REPLY_DAYS = 10
MAX_RECHECKS = 1


class State(StrEnum):
    received = "received"
    accepted = "accepted"
    concluded = "concluded"
    replied = "replied"
    recheck_requested = "recheck_requested"
    refused = "refused"
    merged = "merged"


class Action(StrEnum):
    accept = "accept"
    refuse = "refuse"
    transfer = "transfer"
    merge = "merge"
    extend = "extend"
    conclude = "conclude"
    reply = "reply"
    request_recheck = "request_recheck"
    start_recheck = "start_recheck"
    decline_recheck = "decline_recheck"


class Party(StrEnum):
    handler = "handler"
    reporter = "reporter"


# ``public`` is what the reporter is told the state is: nothing internal (a conclusion not yet replied is
# still "in progress"). The 60-day handling clock runs in ``accepted``, the 10-day reply clock in ``concluded``.
FACTS = {
    State.received: StateFacts("已受理登记", "received", public="received"),
    State.accepted: StateFacts("办理中", "accepted", deadline_running=True, public="in_progress"),
    State.concluded: StateFacts("已办结待答复", "concluded", deadline_running=True, public="in_progress"),
    State.replied: StateFacts("已答复", "replied", public="answered"),
    State.recheck_requested: StateFacts("申请复查", "re-check requested", public="recheck_requested"),
    State.refused: StateFacts("不予受理", "refused", terminal=True, public="not_accepted"),
    State.merged: StateFacts("已合并办理", "merged", terminal=True, public="handled_with_another_report"),
}
HANDLING = frozenset({State.accepted})
REPLY_PENDING = frozenset({State.concluded})
PUBLIC_STATUS = {s: f.public for s, f in FACTS.items()}


CHAIN = register(
    Chain(
        name="complaint",
        owner=Complaint,
        event=ComplaintEvent,
        owner_key="complaint_id",
        always_started=True,
    )
)


def event(
    session: Session,
    c: Complaint,
    actor: Actor | None,
    action: str,
    now: datetime,
    *,
    from_state: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> ComplaintEvent:
    """The next event of the complaint's chained history (a message, a file, a reveal, a reward)."""
    ev: ComplaintEvent = append(
        session, CHAIN, c, actor, action, now=now, from_state=from_state if from_state is not None else c.state,
        to_state=c.state, note=note, data=data,
    )  # fmt: skip
    return ev


def post(
    session: Session, c: Complaint, direction: str, kind: str, body: str, author: Actor | None, now: datetime
) -> ComplaintMessage:
    """A message on the complaint (to or from the reporter, or internal). It leaves the complaint's version
    alone: someone writing must not make the handler's next action a version conflict."""
    msg = ComplaintMessage(
        complaint_id=c.id,
        direction=direction,
        kind=kind,
        body=body,
        author_id=author.user_id if author else None,
        at=now,
    )
    session.add(msg)
    return msg


def _require(ok: bool, code: str, detail: str) -> None:
    if not ok:
        raise GateFailed(detail, code=code)


# --- who ---------------------------------------------------------------------------------------------------

HANDLER = Check(
    lambda actor, _c: actor is not None and actor.role is Role.regulator,
    "role_forbidden",
    "only the handling department acts on a complaint",
)
REPORTER = Check(lambda actor, _c: actor is None, "role_forbidden", "only the reporter, with the receipt, may do this")
NOT_EXTENDED = Check(
    lambda _a, c: c.extended_days is None, "already_extended", "the handling deadline was already extended"
)
RECHECKS_LEFT = Check(lambda _a, c: c.rechecks < MAX_RECHECKS, "recheck_limit", "a re-check was already made")


# --- gates on the payload ----------------------------------------------------------------------------------


def _gate_transfer(ctx: Context) -> None:
    dept = ctx.session.get(Department, ctx.payload["department_id"])
    _require(dept is not None, "department_invalid", "no such department")
    _require(dept.id != ctx.row.department_id, "department_invalid", "the complaint is already there")
    # Its staff will read the complaint: only along the complaint's region line (above it or below it).
    _require(
        on_line(dept.region_code, ctx.row.region_code),
        "department_invalid",
        f"只能转交本地区上下级部门 (a complaint of {ctx.row.region_code} goes only to a department of its "
        f"region line, not of {dept.region_code})",
    )


def _gate_merge(ctx: Context) -> None:
    into = ctx.session.get(Complaint, ctx.payload["into_id"])
    _require(
        into is not None
        and into.id != ctx.row.id
        and into.department_id == ctx.row.department_id
        and into.state not in (State.refused, State.merged)
        and into.created_at <= ctx.row.created_at,
        "merge_target_invalid",
        "merge into an earlier, open complaint of the same department",
    )


def _gate_conclude(ctx: Context) -> None:
    if ctx.payload["outcome"] == "substantiated":
        _require(ctx.payload.get("hazard") is not None, "hazard_required", "a substantiated complaint needs the hazard")


# --- effects -----------------------------------------------------------------------------------------------


def _tell(ctx: Context, body: str) -> None:
    post(ctx.session, ctx.row, "to_reporter", "result", body, ctx.actor, ctx.now)


def _apply_accept(ctx: Context) -> dict[str, Any]:
    c = ctx.row
    c.accepted_at = ctx.now
    c.handler_id = ctx.actor.user_id if ctx.actor else None
    c.handling_due_on = ctx.today + timedelta(days=HANDLING_DAYS)
    return {"handling_due_on": c.handling_due_on.isoformat()}


def _apply_refuse(ctx: Context) -> dict[str, Any]:
    ctx.row.refusal_reason = ctx.payload["reason"]
    _tell(ctx, ctx.payload["reply"])
    return {"reason": ctx.payload["reason"]}


def _apply_transfer(ctx: Context) -> dict[str, Any]:
    old = ctx.row.department_id
    ctx.row.department_id = ctx.payload["department_id"]
    ctx.row.handler_id = None
    return {"from_department_id": old, "to_department_id": ctx.row.department_id}


def _apply_merge(ctx: Context) -> dict[str, Any]:
    ctx.row.merged_into_id = ctx.payload["into_id"]
    target = ctx.session.get(Complaint, ctx.payload["into_id"])
    assert target is not None  # the gate found it
    event(ctx.session, target, ctx.actor, "merged_in", ctx.now, data={"complaint_id": ctx.row.id})
    _tell(ctx, "您的举报与另一件举报反映同一问题，已合并办理。")
    return {"into_id": ctx.payload["into_id"]}


def _apply_extend(ctx: Context) -> dict[str, Any]:
    c = ctx.row
    c.extended_days = ctx.payload["days"]
    c.extension_reason = ctx.payload["reason"]
    c.handling_due_on = c.handling_due_on + timedelta(days=c.extended_days)
    return {"days": c.extended_days, "handling_due_on": c.handling_due_on.isoformat()}


def _create_hazard(ctx: Context, h: HazardFromComplaint) -> int:
    """The substantiated complaint enters the register through the hazards service (so its audit chain
    starts as every hazard's does). Nothing of the reporter or the complaint goes into the hazard: the
    enterprise reads the hazard, and the link is kept on the complaint side only."""
    c = ctx.row
    ent = ctx.session.get(Enterprise, h.enterprise_id)
    if ent is None or not region_contains(c.region_code[:6], ent.region_code[:6]):
        raise InvalidInput(
            "hazard.enterprise_id: the enterprise must be in the complaint's region",
            code="enterprise_invalid",
            errors=[{"field": "hazard.enterprise_id", "message": "the enterprise must be in the complaint's region"}],
        )
    data = hazard_schemas.HazardCreate(
        enterprise_id=h.enterprise_id,
        clause_id=h.clause_id,
        title=h.title,
        description=h.description,
        location=h.location,
        found_at=h.found_at,
        source="public_report",
    )
    assert ctx.actor is not None
    hazard = hazards.report(ctx.session, ctx.actor, data, ctx.now, from_complaint=True)
    c.hazard_id = hazard.id
    c.enterprise_id = c.enterprise_id or ent.id
    return hazard.id


def _apply_conclude(ctx: Context) -> dict[str, Any]:
    c = ctx.row
    c.outcome = ctx.payload["outcome"]
    c.outcome_note = ctx.payload["finding"]
    c.concluded_at = ctx.now
    c.reply_due_on = ctx.today + timedelta(days=REPLY_DAYS)
    result = {"outcome": c.outcome, "reply_due_on": c.reply_due_on.isoformat()}
    if c.outcome == "substantiated":
        result["hazard_id"] = _create_hazard(ctx, ctx.payload["hazard"])
    return result


def _apply_reply(ctx: Context) -> dict[str, Any]:
    ctx.row.replied_at = ctx.now
    _tell(ctx, ctx.payload["reply"])
    return {}


def _apply_request_recheck(ctx: Context) -> dict[str, Any]:
    post(ctx.session, ctx.row, "from_reporter", "recheck", ctx.payload["reason"], None, ctx.now)
    return {}


def _apply_start_recheck(ctx: Context) -> dict[str, Any]:
    c = ctx.row
    c.rechecks += 1
    c.outcome = c.outcome_note = None
    c.concluded_at = c.replied_at = None
    c.reply_due_on = None
    c.extended_days = c.extension_reason = None
    c.handling_due_on = ctx.today + timedelta(days=HANDLING_DAYS)
    _tell(ctx, "已启动复查。")
    return {"handling_due_on": c.handling_due_on.isoformat(), "rechecks": c.rechecks}


T = Transition
TABLE: tuple[Transition, ...] = (
    T(Action.accept, State.received, State.accepted, (HANDLER,), effect=_apply_accept),
    T(Action.refuse, State.received, State.refused, (HANDLER,), effect=_apply_refuse),
    T(Action.transfer, State.received, State.received, (HANDLER,), gate=_gate_transfer, effect=_apply_transfer),
    T(Action.merge, State.received, State.merged, (HANDLER,), gate=_gate_merge, effect=_apply_merge),
    T(Action.extend, State.accepted, State.accepted, (HANDLER,), guards=(NOT_EXTENDED,), effect=_apply_extend),
    T(Action.conclude, State.accepted, State.concluded, (HANDLER,), gate=_gate_conclude, effect=_apply_conclude),
    T(Action.reply, State.concluded, State.replied, (HANDLER,), effect=_apply_reply),
    T(Action.request_recheck, State.replied, State.recheck_requested, (REPORTER,), guards=(RECHECKS_LEFT,),
      effect=_apply_request_recheck),
    T(Action.start_recheck, State.recheck_requested, State.accepted, (HANDLER,), effect=_apply_start_recheck),
    T(Action.decline_recheck, State.recheck_requested, State.replied, (HANDLER,), effect=_apply_reply),
)  # fmt: skip


def _scope(actor: Actor) -> Any:
    return complaint_scope(actor, Complaint)


WORKFLOW = Workflow(
    name="complaint",
    model=Complaint,
    states=State,
    initial=State.received,
    table=TABLE,
    facts=FACTS,
    scope=_scope,
    chain=CHAIN,
    not_found_code="complaint_not_found",
)
TERMINAL = WORKFLOW.terminal
RULES: dict[Action, Transition] = {t.action: t for t in TABLE}


def fire(ctx: Context, action: Action) -> dict[str, Any]:
    """Only the state move, gate and effect of ``action`` on ``ctx.row`` (no role, version or history):
    for tests of the life-cycle's own rules."""
    return rule_machine.fire(WORKFLOW.machine, ctx.row, action, ctx)
