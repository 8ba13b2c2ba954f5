"""The life of a public complaint as one table of rules, and the one machine built from it.

received ─accept→ accepted ─conclude→ concluded ─reply→ replied ─request_recheck→ recheck_requested
   │ refuse → refused            ↺ extend (once)                     start_recheck → accepted
   │ merge  → merged                                                 decline_recheck → replied
   ↺ transfer (to another department)

Handlers are regulators of the complaint's lead department; the reporter acts only through the receipt.
Like hazards/workflow.py: ``model=None``, rows triggered one by one, gates raise ``GateFailed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from hazard_registry import rule_machine
from hazard_registry.auth.principal import Actor, on_line
from hazard_registry.clock import today_in_china
from hazard_registry.errors import GateFailed

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


TERMINAL = frozenset({State.refused, State.merged})
# States in which the 60-day handling clock runs, and in which the 10-day reply clock runs.
HANDLING = frozenset({State.accepted})
REPLY_PENDING = frozenset({State.concluded})

# What the reporter is told the state is: nothing internal (a conclusion not yet replied is still "in progress").
PUBLIC_STATUS = {
    State.received: "received",
    State.accepted: "in_progress",
    State.concluded: "in_progress",
    State.replied: "answered",
    State.recheck_requested: "recheck_requested",
    State.refused: "not_accepted",
    State.merged: "handled_with_another_report",
}


@dataclass
class Context:
    session: Session
    complaint: Any
    actor: Actor | None  # None when the reporter acts through the receipt
    payload: dict[str, Any]
    now: datetime

    @property
    def today(self) -> date:
        return today_in_china(self.now)


def _require(ok: bool, code: str, detail: str) -> None:
    if not ok:
        raise GateFailed(detail, code=code)


def _no_gate(_ctx: Context) -> None:
    return None


def _gate_transfer(ctx: Context) -> None:
    from hazard_registry.reference.models import Department

    dept = ctx.session.get(Department, ctx.payload["department_id"])
    _require(dept is not None, "department_invalid", "no such department")
    _require(dept.id != ctx.complaint.department_id, "department_invalid", "the complaint is already there")
    # Its staff will read the complaint: only along the complaint's region line (above it or below it).
    _require(
        on_line(dept.region_code, ctx.complaint.region_code),
        "department_invalid",
        f"只能转交本地区上下级部门 (a complaint of {ctx.complaint.region_code} goes only to a department of its "
        f"region line, not of {dept.region_code})",
    )


def _gate_merge(ctx: Context) -> None:
    from hazard_registry.complaints.models import Complaint

    into = ctx.session.get(Complaint, ctx.payload["into_id"])
    _require(
        into is not None
        and into.id != ctx.complaint.id
        and into.department_id == ctx.complaint.department_id
        and into.state not in (State.refused, State.merged)
        and into.created_at <= ctx.complaint.created_at,
        "merge_target_invalid",
        "merge into an earlier, open complaint of the same department",
    )


def _gate_extend(ctx: Context) -> None:
    _require(ctx.complaint.extended_days is None, "already_extended", "the handling deadline was already extended")


def _gate_conclude(ctx: Context) -> None:
    if ctx.payload["outcome"] == "substantiated":
        _require(ctx.payload.get("hazard") is not None, "hazard_required", "a substantiated complaint needs the hazard")


def _gate_recheck(ctx: Context) -> None:
    _require(ctx.complaint.rechecks < MAX_RECHECKS, "recheck_limit", "a re-check was already made")


def _apply_accept(ctx: Context) -> dict[str, Any]:
    c = ctx.complaint
    c.accepted_at = ctx.now
    c.handler_id = ctx.actor.user_id if ctx.actor else None
    c.handling_due_on = ctx.today + timedelta(days=HANDLING_DAYS)
    return {"handling_due_on": c.handling_due_on.isoformat()}


def _apply_refuse(ctx: Context) -> dict[str, Any]:
    ctx.complaint.refusal_reason = ctx.payload["reason"]
    return {"reason": ctx.payload["reason"]}


def _apply_transfer(ctx: Context) -> dict[str, Any]:
    old = ctx.complaint.department_id
    ctx.complaint.department_id = ctx.payload["department_id"]
    ctx.complaint.handler_id = None
    return {"from_department_id": old, "to_department_id": ctx.complaint.department_id}


def _apply_merge(ctx: Context) -> dict[str, Any]:
    ctx.complaint.merged_into_id = ctx.payload["into_id"]
    return {"into_id": ctx.payload["into_id"]}


def _apply_extend(ctx: Context) -> dict[str, Any]:
    c = ctx.complaint
    c.extended_days = ctx.payload["days"]
    c.extension_reason = ctx.payload["reason"]
    c.handling_due_on = c.handling_due_on + timedelta(days=c.extended_days)
    return {"days": c.extended_days, "handling_due_on": c.handling_due_on.isoformat()}


def _apply_conclude(ctx: Context) -> dict[str, Any]:
    c = ctx.complaint
    c.outcome = ctx.payload["outcome"]
    c.outcome_note = ctx.payload["finding"]
    c.concluded_at = ctx.now
    c.reply_due_on = ctx.today + timedelta(days=REPLY_DAYS)
    return {"outcome": c.outcome, "reply_due_on": c.reply_due_on.isoformat()}


def _apply_reply(ctx: Context) -> dict[str, Any]:
    ctx.complaint.replied_at = ctx.now
    return {}


def _apply_request_recheck(_ctx: Context) -> dict[str, Any]:
    return {}


def _apply_start_recheck(ctx: Context) -> dict[str, Any]:
    c = ctx.complaint
    c.rechecks += 1
    c.outcome = c.outcome_note = None
    c.concluded_at = c.replied_at = None
    c.reply_due_on = None
    c.extended_days = c.extension_reason = None
    c.handling_due_on = ctx.today + timedelta(days=HANDLING_DAYS)
    return {"handling_due_on": c.handling_due_on.isoformat(), "rechecks": c.rechecks}


@dataclass(frozen=True)
class Rule:
    action: Action
    source: State
    dest: State
    party: Party
    gate: Callable[[Context], None]
    effect: Callable[[Context], dict[str, Any]]


H, R = Party.handler, Party.reporter

TABLE: tuple[Rule, ...] = (
    Rule(Action.accept, State.received, State.accepted, H, _no_gate, _apply_accept),
    Rule(Action.refuse, State.received, State.refused, H, _no_gate, _apply_refuse),
    Rule(Action.transfer, State.received, State.received, H, _gate_transfer, _apply_transfer),
    Rule(Action.merge, State.received, State.merged, H, _gate_merge, _apply_merge),
    Rule(Action.extend, State.accepted, State.accepted, H, _gate_extend, _apply_extend),
    Rule(Action.conclude, State.accepted, State.concluded, H, _gate_conclude, _apply_conclude),
    Rule(Action.reply, State.concluded, State.replied, H, _no_gate, _apply_reply),
    Rule(Action.request_recheck, State.replied, State.recheck_requested, R, _gate_recheck, _apply_request_recheck),
    Rule(Action.start_recheck, State.recheck_requested, State.accepted, H, _no_gate, _apply_start_recheck),
    Rule(Action.decline_recheck, State.recheck_requested, State.replied, H, _no_gate, _apply_reply),
)
RULES: dict[Action, Rule] = {r.action: r for r in TABLE}


MACHINE = rule_machine.build(TABLE, State, State.received)


def fire(ctx: Context, action: Action) -> dict[str, Any]:
    """Take ``action`` on ``ctx.complaint``; raises MachineError in the wrong state, GateFailed on a gate."""
    return rule_machine.fire(MACHINE, ctx.complaint, action, ctx)


def actions_for(state: str, party: Party) -> list[str]:
    return [r.action.value for r in TABLE if r.source == state and r.party is party]
