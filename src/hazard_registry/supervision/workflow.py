"""The life of a supervision measure (函告 · 通报 · 约谈 · 曝光 · 挂牌督办) as one table on the workflow kernel.

proposed ─issue→ issued ─acknowledge→ acknowledged ─resolve→ resolved
   └──────────────┴─ withdraw → withdrawn ─┘          issued ─resolve→ resolved

The engine proposes; an officer with authority at the issuing level issues (unless the rule issues by
itself, set-based, in ``service.issue_many``); the target acknowledges receipt; the issuer resolves or
withdraws. Notices to the target are queued by a listener, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, false, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hazard_registry import clock
from hazard_registry.auth.principal import Actor, Role, region_contains, region_within
from hazard_registry.db import is_postgres
from hazard_registry.errors import InvalidInput
from hazard_registry.notices.outbox import enqueue_for_measures
from hazard_registry.reference.models import Department, Region
from hazard_registry.supervision.models import (
    DocumentCounter,
    Measure,
    MeasureEvent,
    MeasureState,
    SupervisionMeasure,
)
from hazard_registry.supervision.numbering import authority_columns, number_one
from hazard_registry.workflow import (
    Chain,
    Check,
    Context,
    StateFacts,
    Transition,
    Workflow,
    append,
    append_many,
    register,
)

State = MeasureState


class Action(StrEnum):
    issue = "issue"
    acknowledge = "acknowledge"
    resolve = "resolve"
    withdraw = "withdraw"


FACTS = {
    State.proposed: StateFacts("拟采取", "proposed"),
    State.issued: StateFacts("已下达", "issued", deadline_running=True, public="已下达"),
    State.acknowledged: StateFacts("已签收", "acknowledged", public="已签收"),
    State.resolved: StateFacts("已办结", "resolved", terminal=True, public="已办结"),
    State.withdrawn: StateFacts("已撤回", "withdrawn", terminal=True, public="已撤回"),
}

# Taken down (曝光 removed, 挂牌 lifted) when they end.
PUBLISHED = (Measure.public_exposure, Measure.listed_supervision)


def measure_scope(actor: Actor) -> ColumnElement[bool]:
    m = SupervisionMeasure
    if actor.role is Role.system:
        return true()
    if actor.role is Role.enterprise:
        if not actor.enterprise_id:
            return false()
        return and_(m.target_enterprise_id == actor.enterprise_id, m.state != MeasureState.proposed.value)
    if not actor.region_code:
        return false()
    in_region = region_within(m.target_region_code, actor.region_code)
    if actor.role is Role.admin:
        return in_region
    mine = [m.target_department_id == actor.department_id, m.issuer_department_id == actor.department_id]
    if actor.sectors:
        mine.append(m.sector_code.in_(sorted(actor.sectors)))
    return and_(in_region, or_(*mine))


# --- who may do what ----------------------------------------------------------------------------------------


def can_issue(actor: Actor | None, m: SupervisionMeasure) -> bool:
    """Authority at the issuing level: the system; an administrator (安委会办公室) whose region holds the
    issuing region; a regulator with closing authority in the issuing department, or — when the level above
    issues — in a department of that region leading the hazard's sector."""
    if actor is None:
        return False
    if actor.role is Role.system:
        return True
    if actor.role is Role.admin:
        return bool(actor.region_code and region_contains(actor.region_code, m.issuer_region_code))
    if actor.role is not Role.regulator or not actor.can_close:
        return False
    if m.issuer_department_id is not None:
        return actor.department_id == m.issuer_department_id
    return actor.region_code == m.issuer_region_code and m.sector_code in actor.sectors


def can_acknowledge(actor: Actor | None, m: SupervisionMeasure) -> bool:
    if actor is None:
        return False
    if m.target_kind == "enterprise":
        return actor.role is Role.enterprise and actor.enterprise_id == m.target_enterprise_id
    if m.target_kind == "department":
        return actor.role is Role.regulator and actor.department_id == m.target_department_id
    return actor.role is Role.admin and actor.region_code == m.target_region_code


ISSUER = Check(can_issue, "measure_forbidden", "you may not issue, resolve or withdraw this measure")
TARGET = Check(can_acknowledge, "measure_forbidden", "you may not acknowledge this measure")


# --- effects ------------------------------------------------------------------------------------------------


def _apply_issue(ctx: Context) -> dict[str, Any]:
    m = ctx.row
    m.document_authority, m.document_number = number_one(ctx.session, m.id, ctx.today)
    m.issued_at, m.issued_by_id = ctx.now, ctx.actor.user_id if ctx.actor else None
    m.response_due = ctx.today + timedelta(days=m.response_days)
    ctx.note = m.document_number  # the history shows the 文号 the measure went out under
    return {}


def _apply_acknowledge(ctx: Context) -> dict[str, Any]:
    m = ctx.row
    m.acknowledged_at, m.acknowledged_by_id = ctx.now, ctx.actor.user_id if ctx.actor else None
    return {}


def _apply_resolve(ctx: Context) -> dict[str, Any]:
    m = ctx.row
    ctx.note = ctx.note or "已整改到位"
    m.resolved_at, m.outcome = ctx.now, ctx.note
    if m.measure in PUBLISHED:
        m.taken_down_at = ctx.now
    return {}


def _gate_withdraw(ctx: Context) -> None:
    if not ctx.note:
        raise InvalidInput("a withdrawal needs its reason in note", errors=[{"field": "note", "message": "required"}])


def _apply_withdraw(ctx: Context) -> dict[str, Any]:
    m = ctx.row
    m.withdrawn_reason = ctx.note
    if m.issued_at is not None and m.measure in PUBLISHED:
        m.taken_down_at = ctx.now
    return {}


T = Transition
TABLE: tuple[Transition, ...] = (
    T(Action.issue, State.proposed, State.issued, (ISSUER,), effect=_apply_issue),
    T(Action.acknowledge, State.issued, State.acknowledged, (TARGET,), effect=_apply_acknowledge),
    T(Action.resolve, State.issued, State.resolved, (ISSUER,), effect=_apply_resolve),
    T(Action.resolve, State.acknowledged, State.resolved, (ISSUER,), effect=_apply_resolve),
    *(
        T(Action.withdraw, source, State.withdrawn, (ISSUER,), gate=_gate_withdraw, effect=_apply_withdraw)
        for source in (State.proposed, State.issued, State.acknowledged)
    ),
)

CHAIN = register(
    Chain(
        name="measure",
        owner=SupervisionMeasure,
        event=MeasureEvent,
        owner_key="measure_id",
        has_states=False,
    )
)

WORKFLOW = Workflow(
    name="measure",
    model=SupervisionMeasure,
    states=State,
    initial=State.proposed,
    table=TABLE,
    facts=FACTS,
    scope=measure_scope,
    chain=CHAIN,
    not_found_code="measure_not_found",
)


def _queue_notices(session: Session, m: SupervisionMeasure, action: str, now: datetime) -> None:
    """Letters to the target and its copies; a proposal withdrawn before issue was never sent to anyone."""
    if action == Action.withdraw and m.issued_at is None:
        return
    if action in (Action.issue, Action.resolve, Action.withdraw):
        enqueue_for_measures(session, [m.id], action, now)


WORKFLOW.listen(_queue_notices)


def issue_many(session: Session, actor: Actor, ids: list[int], now: datetime) -> int:
    """Issue the given proposed measures in three statements whatever their number: count them per issuing
    authority and advance its 文号 counter by that much, then number, date and mark them in one UPDATE, and
    record the events in one INSERT … SELECT. Measures no longer proposed are left alone; the caller checks
    the authority (the API for one measure, the engine as the system principal)."""
    if not ids:
        return 0
    m = SupervisionMeasure
    today = clock.today_in_china(now)
    key, name = authority_columns()
    chosen = (
        select(m.id, key.label("authority"), name.label("name"), m.response_days)
        .outerjoin(Department, Department.id == m.issuer_department_id)
        .join(Region, Region.code == m.issuer_region_code)
        .where(m.id.in_(ids), m.state == MeasureState.proposed.value)
        .subquery()
    )
    ins = (pg_insert if is_postgres(session) else sqlite_insert)(DocumentCounter)
    counts = select(chosen.c.authority, literal(today.year), func.count()).group_by(chosen.c.authority)
    session.execute(
        ins.from_select(["authority", "year", "last"], counts).on_conflict_do_update(
            index_elements=["authority", "year"], set_={"last": DocumentCounter.last + ins.excluded.last}
        )
    )
    c = DocumentCounter
    numbered = (
        select(
            chosen.c.id,
            (
                chosen.c.name
                + literal(f"督〔{today.year}〕")
                + cast(
                    c.last
                    - func.count().over(partition_by=chosen.c.authority)
                    + func.row_number().over(partition_by=chosen.c.authority, order_by=chosen.c.id),
                    String,
                )
                + literal("号")
            ).label("number"),
            chosen.c.response_days,
            chosen.c.authority,
        )
        .join(c, and_(c.authority == chosen.c.authority, c.year == today.year))
        .subquery()
    )
    if is_postgres(session):
        due = literal(today) + numbered.c.response_days
    else:
        due = func.date(literal(today.isoformat()), literal("+") + cast(numbered.c.response_days, String) + " days")
    done = session.execute(
        update(m)
        .where(m.id == numbered.c.id, m.state == MeasureState.proposed.value)
        .values(
            state=MeasureState.issued.value,
            issued_at=now,
            issued_by_id=actor.user_id,
            document_authority=numbered.c.authority,
            document_number=numbered.c.number,
            response_due=due,
            version=m.version + 1,
        )
        .returning(m.id, m.chain_seq, m.chain_head, m.document_number)
        .execution_options(synchronize_session=False)
    ).all()
    if not done:
        return 0
    # Each issue event is chained to its measure's history: hashed here, inserted and the heads moved in one
    # executemany each.
    append_many(session, CHAIN, [tuple(r) for r in done], actor, Action.issue.value, now=now)
    enqueue_for_measures(session, [r.id for r in done], "issue", now)  # notices, in this transaction
    return len(done)


def record(
    session: Session, measure: SupervisionMeasure, actor: Actor, action: str, now: datetime, note: str | None = None
) -> None:
    """A chained event of ``measure`` that is not one of the table's actions (the engine withdrawing a moot
    proposal, a take-down when the hazard closes); the caller changes the measure itself."""
    append(session, CHAIN, measure, actor, action, now=now, note=note)
