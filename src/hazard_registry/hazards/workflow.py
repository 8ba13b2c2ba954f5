"""The dynamic-clearance workflow (DOMAIN.md §4) as one table on the workflow kernel.

The table is the only place that says which action moves a hazard from which state to which, who may take
it and what must hold first; ``FACTS`` is the only place that says what a state means (terminal, deadline
running, its labels). ``workflow.kernel.act`` takes the action; gates raise ``GateFailed`` rather than
returning False, so the caller learns which precondition failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, select

from hazard_registry.auth.models import User
from hazard_registry.auth.principal import Actor, Role, hazard_scope
from hazard_registry.errors import GateFailed, WrongState
from hazard_registry.hazards.audit import CHAIN
from hazard_registry.hazards.models import Hazard, HazardAttachment
from hazard_registry.reference.models import Enterprise, StandardClause
from hazard_registry.workflow import Check, Context, Lookup, SideAction, StateFacts, Transition, Workflow, no_gate


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


# The deadline runs from assignment: a hazard past its deadline in one of these states is overdue.
FACTS = {
    State.reported: StateFacts("已上报", "reported"),
    State.assigned: StateFacts("已交办", "assigned", deadline_running=True),
    State.rectifying: StateFacts("整改中", "rectifying", deadline_running=True),
    State.verification_requested: StateFacts("申请核查", "verification requested"),
    State.verified: StateFacts("已核查", "verified"),
    State.closed: StateFacts("已销号", "closed", terminal=True),
    State.rejected: StateFacts("已退回", "rejected", terminal=True),
}

PLAN_FIELDS = (
    "measures",
    "responsible_unit",
    "responsible_person",
    "funds",
    "deadline",
    "safety_measures",
    "contingency_plan",
)


def _require(ok: bool, code: str, detail: str) -> None:
    if not ok:
        raise GateFailed(detail, code=code)


# --- who ---------------------------------------------------------------------------------------------------


def _role(*roles: Role) -> Check:
    allowed = frozenset(roles)
    names = "/".join(sorted(roles))
    return Check(lambda actor, _h: actor is not None and actor.role in allowed, "role_forbidden",
                 f"only a {names} may take this action")  # fmt: skip


REGULATOR = _role(Role.regulator)
ENTERPRISE = _role(Role.enterprise)
CLOSING_AUTHORITY = Check(
    lambda actor, _h: actor is not None and actor.can_close,
    "closing_authority_required",
    "closing (销号) needs closing authority",
)
NOT_THE_REPORTER = Check(
    lambda actor, h: h.reported_by_id is None or actor is None or actor.user_id != h.reported_by_id,
    "verifier_is_reporter",
    "the person who reported the hazard may not verify its rectification",
)
NOT_THE_VERIFIER = Check(
    lambda actor, h: actor is not None and actor.user_id != h.verified_by_id,
    "closer_is_verifier",
    "two-person rule: the verifier may not also close the hazard",
)


# --- gates on the payload ----------------------------------------------------------------------------------


def officer_candidates(hazard: Any) -> ColumnElement[bool]:
    """Who may be made a hazard's officer, as a clause over ``User``: the active regulators of its lead
    department. The assign gate asks it of the chosen user; the assign form lists the users it admits."""
    return _candidates_of(hazard.department_id)


def _candidates_of(department_id: Any) -> ColumnElement[bool]:
    return and_(User.department_id == department_id, User.role == Role.regulator, User.active.is_(True))


# The gate's question, asked by the locking SELECT (a lookup): is the chosen user one of the hazard's candidates?
OFFICER_IS_CANDIDATE = Lookup(
    "officer_is_candidate",
    select(User.id).where(User.id == bindparam("officer_id"), _candidates_of(Hazard.department_id)).exists(),
    params=("officer_id",),
)


def _gate_assign(ctx: Context) -> None:
    deadline: date = ctx.payload["deadline"]
    _require(deadline >= ctx.today, "deadline_in_past", "the rectification deadline cannot be in the past")
    _require(
        bool(ctx.looked_up[OFFICER_IS_CANDIDATE.name]),
        "officer_invalid",
        "the officer must be an active regulator of the hazard's lead department",
    )


def _gate_reject(ctx: Context) -> None:
    dup = ctx.payload.get("duplicate_of_id")
    if ctx.payload["reason"] == "duplicate":
        _require(dup is not None, "duplicate_link_required", "a duplicate needs duplicate_of_id")
    if dup is not None:
        _require(dup != ctx.row.id, "duplicate_link_invalid", "a hazard cannot duplicate itself")
        exists = ctx.session.scalar(
            select(Hazard.id).where(Hazard.id == dup, Hazard.enterprise_id == ctx.row.enterprise_id)
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
        ctx.row.deadline is None or plan["deadline"] <= ctx.row.deadline,
        "plan_deadline_too_late",
        f"the plan's deadline may not be after the assigned deadline {ctx.row.deadline}",
    )


def _gate_request_verification(ctx: Context) -> None:
    ids = set(ctx.payload["evidence_ids"])
    _require(bool(ids), "evidence_required", "attach at least one evidence file")
    found = set(
        ctx.session.scalars(
            select(HazardAttachment.id).where(HazardAttachment.hazard_id == ctx.row.id, HazardAttachment.id.in_(ids))
        )
    )
    _require(found == ids, "evidence_unknown", f"evidence not attached to this hazard: {sorted(ids - found)}")


# --- effects -----------------------------------------------------------------------------------------------


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _apply_assign(ctx: Context) -> dict[str, Any]:
    h = ctx.row
    h.officer_id = ctx.payload["officer_id"]
    h.deadline = ctx.payload["deadline"]
    if ctx.payload.get("production_suspended") is not None:
        h.production_suspended = ctx.payload["production_suspended"]
    return {"officer_id": h.officer_id, "deadline": _iso(h.deadline)}


def _apply_reject(ctx: Context) -> dict[str, Any]:
    h = ctx.row
    h.rejection_reason = ctx.payload["reason"]
    h.duplicate_of_id = ctx.payload.get("duplicate_of_id")
    return {"reason": h.rejection_reason, "duplicate_of_id": h.duplicate_of_id}


def _apply_start(ctx: Context) -> dict[str, Any]:
    plan = dict(ctx.payload["plan"])
    plan["deadline"] = plan["deadline"].isoformat()
    ctx.row.plan = plan
    if ctx.payload.get("production_suspended") is not None:
        ctx.row.production_suspended = ctx.payload["production_suspended"]
    return {"plan": plan}


def _apply_request_verification(ctx: Context) -> dict[str, Any]:
    completion = {
        "report": ctx.payload["report"],
        "evaluated_by": ctx.payload["evaluated_by"],
        "evidence_ids": sorted(ctx.payload["evidence_ids"]),
        "completed_on": _iso(ctx.payload.get("completed_on")),
    }
    ctx.row.completion = completion
    return completion


def _apply_verify(ctx: Context) -> dict[str, Any]:
    assert ctx.actor is not None
    ctx.row.verified_by_id = ctx.actor.user_id
    ctx.row.verified_at = ctx.now
    return {"check_record": ctx.payload["check_record"]}


def _apply_fail(ctx: Context) -> dict[str, Any]:
    ctx.row.failed_verifications += 1
    return {"reasons": ctx.payload["reasons"], "failed_verifications": ctx.row.failed_verifications}


def _apply_close(ctx: Context) -> dict[str, Any]:
    assert ctx.actor is not None
    ctx.row.closed_by_id = ctx.actor.user_id
    ctx.row.closed_at = ctx.now
    return {}


T = Transition
TABLE: tuple[Transition, ...] = (
    T(Action.assign, State.reported, State.assigned, (REGULATOR,), gate=_gate_assign, effect=_apply_assign,
      lookups=(OFFICER_IS_CANDIDATE,)),
    T(Action.reject, State.reported, State.rejected, (REGULATOR,), gate=_gate_reject, effect=_apply_reject),
    T(Action.start_rectification, State.assigned, State.rectifying, (ENTERPRISE,), gate=_gate_start,
      effect=_apply_start),
    T(Action.request_verification, State.rectifying, State.verification_requested, (ENTERPRISE,),
      gate=_gate_request_verification, effect=_apply_request_verification),
    T(Action.verify, State.verification_requested, State.verified, (REGULATOR,), guards=(NOT_THE_REPORTER,),
      effect=_apply_verify),
    T(Action.fail_verification, State.verification_requested, State.rectifying, (REGULATOR,), gate=no_gate,
      effect=_apply_fail),
    T(Action.close, State.verified, State.closed, (REGULATOR, CLOSING_AUTHORITY), guards=(NOT_THE_VERIFIER,),
      effect=_apply_close),
)  # fmt: skip


def _scope(actor: Actor) -> Any:
    return hazard_scope(actor, Hazard)


WORKFLOW = Workflow(
    name="hazard",
    model=Hazard,
    states=State,
    initial=State.reported,
    table=TABLE,
    facts=FACTS,
    scope=_scope,
    chain=CHAIN,
    not_found_code="hazard_not_found",
    # The answer to an action is the hazard's detail: its enterprise and clause come with the locked row.
    companions=(
        (Enterprise, Enterprise.id == Hazard.enterprise_id),
        (StandardClause, StandardClause.id == Hazard.clause_id),
    ),
)

TERMINAL = WORKFLOW.terminal
DEADLINE_RUNNING = WORKFLOW.deadline_running
RULES: dict[Action, Transition] = {t.action: t for t in TABLE}


# --- what is done to a hazard besides moving it: files and extensions (延期) ----------------------------------


@dataclass(frozen=True)
class Subject:
    """A hazard with what its side actions also look at: whether an extension request waits for a decision."""

    hazard: Any
    extension_pending: bool = False


PARTY = _role(Role.enterprise, Role.regulator)
FILE_OPEN = Check(
    lambda _a, s: s.hazard.state not in TERMINAL,
    "wrong_state",
    "the hazard's file is closed",
    refusal=WrongState,
)
DEADLINE_RUNS = Check(
    lambda _a, s: s.hazard.state in DEADLINE_RUNNING and s.hazard.deadline is not None,
    "wrong_state",
    "no deadline runs on the hazard in its state",
    refusal=WrongState,
)
NONE_PENDING = Check(
    lambda _a, s: not s.extension_pending, "extension_pending", "an extension request is already pending",
    refusal=WrongState,
)  # fmt: skip
ONE_PENDING = Check(
    lambda _a, s: s.extension_pending, "extension_decided", "the extension was already decided", refusal=WrongState
)

ATTACH = SideAction("attach", who=(PARTY,), guards=(FILE_OPEN,))
REQUEST_EXTENSION = SideAction("request_extension", who=(ENTERPRISE,), guards=(DEADLINE_RUNS, NONE_PENDING))
DECIDE_EXTENSION = SideAction("decide_extension", who=(REGULATOR,), guards=(ONE_PENDING,))
SIDE_ACTIONS = (ATTACH, REQUEST_EXTENSION, DECIDE_EXTENSION)


def side_actions(actor: Actor, hazard: Any, *, extension_pending: bool) -> list[str]:
    """What ``actor`` may do to ``hazard`` besides the workflow's actions: the rules the services enforce."""
    subject = Subject(hazard, extension_pending)
    return [a.action for a in SIDE_ACTIONS if a.allows(actor, subject)]


def actions_for(state: str, actor: Actor, hazard: Any) -> list[str]:
    """The actions ``actor`` may take on ``hazard`` now (``state`` is the hazard's, kept for callers)."""
    return WORKFLOW.allowed_actions(hazard, actor)
