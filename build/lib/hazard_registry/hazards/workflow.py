"""The dynamic-clearance workflow (DOMAIN.md §4) as one table, and the one machine built from it.

The table is the only place that says which action moves a hazard from which state to which, who may
take it and what must hold first. ``MACHINE`` is a module-level ``transitions`` machine with no models of
its own: each call triggers it on the row it is given, so rows are never registered into it.
Gates raise ``GateFailed`` rather than returning False, so the caller learns which precondition failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry import clock, rule_machine
from hazard_registry.auth.principal import Actor, Role
from hazard_registry.errors import GateFailed


class State(StrEnum):
    reported = "reported"
    assigned = "assigned"
    rectifying = "rectifying"
    verification_requested = "verification_requested"
    verified = "verified"
    closed = "closed"
    rejected = "rejected"


class Action(StrEnum):
    assign = "assign"
    reject = "reject"
    start_rectification = "start_rectification"
    request_verification = "request_verification"
    verify = "verify"
    fail_verification = "fail_verification"
    close = "close"


TERMINAL = frozenset({State.closed, State.rejected})
# States in which the rectification deadline runs; a hazard past its deadline in one of them is overdue.
DEADLINE_RUNNING = frozenset({State.assigned, State.rectifying})

PLAN_FIELDS = (
    "measures",
    "responsible_unit",
    "responsible_person",
    "funds",
    "deadline",
    "safety_measures",
    "contingency_plan",
)


@dataclass
class Context:
    """What a gate or an effect may look at: the row, who acts, what they sent, and when."""

    session: Session
    hazard: Any
    actor: Actor
    payload: dict[str, Any]
    now: datetime

    @property
    def today(self) -> date:
        return clock.today_in_china(self.now)


def _require(ok: bool, code: str, detail: str) -> None:
    if not ok:
        raise GateFailed(detail, code=code)


def _gate_assign(ctx: Context) -> None:
    from hazard_registry.auth.models import User

    deadline: date = ctx.payload["deadline"]
    _require(deadline >= ctx.today, "deadline_in_past", "the rectification deadline cannot be in the past")
    officer = ctx.session.get(User, ctx.payload["officer_id"])
    _require(
        officer is not None
        and officer.active
        and officer.role == Role.regulator
        and officer.department_id == ctx.hazard.department_id,
        "officer_invalid",
        "the officer must be an active regulator of the hazard's lead department",
    )


def _gate_reject(ctx: Context) -> None:
    from hazard_registry.hazards.models import Hazard

    dup = ctx.payload.get("duplicate_of_id")
    if ctx.payload["reason"] == "duplicate":
        _require(dup is not None, "duplicate_link_required", "a duplicate needs duplicate_of_id")
    if dup is not None:
        _require(dup != ctx.hazard.id, "duplicate_link_invalid", "a hazard cannot duplicate itself")
        exists = ctx.session.scalar(
            select(Hazard.id).where(Hazard.id == dup, Hazard.enterprise_id == ctx.hazard.enterprise_id)
        )
        _require(
            exists is not None,
            "duplicate_link_invalid",
            "duplicate_of_id must name another hazard of the same enterprise",
        )


def _gate_start(ctx: Context) -> None:
    plan = ctx.payload["plan"]
    missing = [f for f in PLAN_FIELDS if not plan.get(f)]
    _require(not missing, "plan_incomplete", f"the five-point plan is missing: {', '.join(missing)}")
    _require(
        ctx.hazard.deadline is None or plan["deadline"] <= ctx.hazard.deadline,
        "plan_deadline_too_late",
        f"the plan's deadline may not be after the assigned deadline {ctx.hazard.deadline}",
    )


def _gate_request_verification(ctx: Context) -> None:
    from hazard_registry.hazards.models import HazardAttachment

    ids = set(ctx.payload["evidence_ids"])
    _require(bool(ids), "evidence_required", "attach at least one evidence file")
    found = set(
        ctx.session.scalars(
            select(HazardAttachment.id).where(HazardAttachment.hazard_id == ctx.hazard.id, HazardAttachment.id.in_(ids))
        )
    )
    _require(found == ids, "evidence_unknown", f"evidence not attached to this hazard: {sorted(ids - found)}")


def _gate_verify(ctx: Context) -> None:
    _require(
        ctx.hazard.reported_by_id is None or ctx.actor.user_id != ctx.hazard.reported_by_id,
        "verifier_is_reporter",
        "the person who reported the hazard may not verify its rectification",
    )


def _gate_close(ctx: Context) -> None:
    _require(
        ctx.actor.user_id != ctx.hazard.verified_by_id,
        "closer_is_verifier",
        "two-person rule: the verifier may not also close the hazard",
    )


def _no_gate(_ctx: Context) -> None:
    return None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _apply_assign(ctx: Context) -> dict[str, Any]:
    h = ctx.hazard
    h.officer_id = ctx.payload["officer_id"]
    h.deadline = ctx.payload["deadline"]
    if ctx.payload.get("production_suspended") is not None:
        h.production_suspended = ctx.payload["production_suspended"]
    return {"officer_id": h.officer_id, "deadline": _iso(h.deadline)}


def _apply_reject(ctx: Context) -> dict[str, Any]:
    h = ctx.hazard
    h.rejection_reason = ctx.payload["reason"]
    h.duplicate_of_id = ctx.payload.get("duplicate_of_id")
    return {"reason": h.rejection_reason, "duplicate_of_id": h.duplicate_of_id}


def _apply_start(ctx: Context) -> dict[str, Any]:
    plan = dict(ctx.payload["plan"])
    plan["deadline"] = plan["deadline"].isoformat()
    ctx.hazard.plan = plan
    if ctx.payload.get("production_suspended") is not None:
        ctx.hazard.production_suspended = ctx.payload["production_suspended"]
    return {"plan": plan}


def _apply_request_verification(ctx: Context) -> dict[str, Any]:
    completion = {
        "report": ctx.payload["report"],
        "evaluated_by": ctx.payload["evaluated_by"],
        "evidence_ids": sorted(ctx.payload["evidence_ids"]),
        "completed_on": _iso(ctx.payload.get("completed_on")),
    }
    ctx.hazard.completion = completion
    return completion


def _apply_verify(ctx: Context) -> dict[str, Any]:
    ctx.hazard.verified_by_id = ctx.actor.user_id
    ctx.hazard.verified_at = ctx.now
    return {"check_record": ctx.payload["check_record"]}


def _apply_fail(ctx: Context) -> dict[str, Any]:
    ctx.hazard.failed_verifications += 1
    return {"reasons": ctx.payload["reasons"], "failed_verifications": ctx.hazard.failed_verifications}


def _apply_close(ctx: Context) -> dict[str, Any]:
    ctx.hazard.closed_by_id = ctx.actor.user_id
    ctx.hazard.closed_at = ctx.now
    return {}


@dataclass(frozen=True)
class Rule:
    action: Action
    source: State
    dest: State
    roles: frozenset[Role]
    gate: Callable[[Context], None]
    effect: Callable[[Context], dict[str, Any]]
    needs_closing_authority: bool = False


REGULATOR = frozenset({Role.regulator})
ENTERPRISE = frozenset({Role.enterprise})

TABLE: tuple[Rule, ...] = (
    Rule(Action.assign, State.reported, State.assigned, REGULATOR, _gate_assign, _apply_assign),
    Rule(Action.reject, State.reported, State.rejected, REGULATOR, _gate_reject, _apply_reject),
    Rule(Action.start_rectification, State.assigned, State.rectifying, ENTERPRISE, _gate_start, _apply_start),
    Rule(
        Action.request_verification,
        State.rectifying,
        State.verification_requested,
        ENTERPRISE,
        _gate_request_verification,
        _apply_request_verification,
    ),
    Rule(Action.verify, State.verification_requested, State.verified, REGULATOR, _gate_verify, _apply_verify),
    Rule(Action.fail_verification, State.verification_requested, State.rectifying, REGULATOR, _no_gate, _apply_fail),
    Rule(
        Action.close, State.verified, State.closed, REGULATOR, _gate_close, _apply_close, needs_closing_authority=True
    ),
)
RULES: dict[Action, Rule] = {r.action: r for r in TABLE}


MACHINE = rule_machine.build(TABLE, State, State.reported)


def fire(ctx: Context, action: Action) -> dict[str, Any]:
    """Take ``action`` on ``ctx.hazard``: check its gate, move the state, apply its effect.

    Role and scope are the caller's to check first (they decide 403/404); this decides state (409) and gate
    (409). Returns what the effect recorded, for the audit event.
    """
    return rule_machine.fire(MACHINE, ctx.hazard, action, ctx)


def actions_for(state: str, actor: Actor, hazard: Any) -> list[str]:
    """The actions ``actor`` may take on ``hazard`` now, judged on role, state and who they are.

    Gates that depend on what the caller will send (a plan, evidence) are not judged here.
    """
    out = []
    for rule in TABLE:
        if rule.source != state or actor.role not in rule.roles:
            continue
        if rule.needs_closing_authority and not actor.can_close:
            continue
        if rule.action is Action.verify and actor.user_id == hazard.reported_by_id:
            continue
        if rule.action is Action.close and actor.user_id == hazard.verified_by_id:
            continue
        out.append(rule.action.value)
    return out
