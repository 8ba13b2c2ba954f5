"""The one way any life-cycle takes an action: a workflow is data, ``act`` is the sequence.

A ``Workflow`` holds a transition table, the facts of each state, its scope (the visible-rows clause), its
audit chain and its listeners. ``act`` does, in this order and nowhere else:

1. load the row within the actor's scope, with its row lock — outside the scope it does not exist (404) —
   and, in the same statement, the workflow's ``companions`` (rows the answer shows beside it, not locked)
   and the answers to the action's ``lookups`` (what its gate asks the database about the payload);
2. who may take the action: the transition's ``who`` checks (403, each with its own code);
3. version, always: missing → 428 ``version_required``, stale → 409 ``version_conflict``;
4. state (409 ``wrong_state``) and the gates — ``guards`` on actor and row, then the payload ``gate`` — run
   as the ``transitions`` machine's conditions (409, or 422 for a malformed payload);
5. the effect (returns what changed, for the history);
6. the row's changes and its audit event, chained, written at once (workflow/audit.py, ``append(moved=True)``:
   one versioned UPDATE and the event's INSERT, one statement on PostgreSQL; a lost race is a 409, and nothing
   of it is written);
7. the listeners, in the same transaction (the seam between domains: supervision rebuilds a hazard's
   timers, notices queue a measure's letters).

``allowed_actions`` is derived from the same ``who`` checks and guards, so the buttons a page shows and what
the service accepts cannot drift apart. Services never commit: the route, CLI command or worker does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session
from transitions import Machine
from transitions.core import MachineError

from hazard_registry import clock, rule_machine
from hazard_registry.auth.principal import Actor
from hazard_registry.db import KeptStatements, flush_versioned
from hazard_registry.errors import (
    DomainError,
    Forbidden,
    GateFailed,
    NotFound,
    PreconditionRequired,
    VersionConflict,
    WrongState,
)
from hazard_registry.workflow.audit import Chain, append


@dataclass
class Context:
    """What a gate or an effect may look at: the row, who acts, what they sent, and when."""

    session: Session
    row: Any
    actor: Actor | None  # None: the anonymous reporter, through the receipt
    payload: dict[str, Any]
    now: datetime
    note: str | None = None
    looked_up: Mapping[str, Any] = field(default_factory=dict)  # the answers to the transition's ``lookups``

    @property
    def today(self) -> date:
        return clock.today_in_china(self.now)


@dataclass(frozen=True)
class Check:
    """A yes/no question on who acts and the row (no payload), with the code given when the answer is no."""

    holds: Callable[[Actor | None, Any], bool]
    code: str
    detail: str
    refusal: type[DomainError] = GateFailed  # what a failed guard raises (a failed ``who`` check is a 403)

    def refuse(self) -> DomainError:
        return self.refusal(self.detail, code=self.code)


@dataclass(frozen=True)
class Lookup:
    """A question an action's gate asks the database (is the chosen officer one of the hazard's candidates?),
    answered by the locking SELECT itself rather than a statement of its own: ``expr`` is a column over the
    workflow's model (correlated subqueries welcome) whose bind parameters are the payload fields ``params``.
    The gate reads the answer as ``ctx.looked_up[name]``."""

    name: str
    expr: ColumnElement[Any]
    params: tuple[str, ...] = ()


def no_gate(_ctx: Context) -> None:
    return None


def no_effect(_ctx: Context) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Transition:
    action: StrEnum
    source: StrEnum
    dest: StrEnum
    who: tuple[Check, ...]  # refused → 403 with the check's code
    guards: tuple[Check, ...] = ()  # refused → 409 gate_failed with the check's code; judged by allowed_actions
    gate: Callable[[Context], None] = no_gate  # on the payload; raises its own typed error
    effect: Callable[[Context], dict[str, Any]] = no_effect
    lookups: tuple[Lookup, ...] = ()  # answered with the locked row, for the gate

    def admits(self, actor: Actor | None, row: Any) -> bool:
        return all(c.holds(actor, row) for c in self.who) and all(c.holds(actor, row) for c in self.guards)

    def admit(self, ctx: Context) -> None:
        """The machine's condition: guards, then the payload gate (the state was checked by the machine)."""
        for check in self.guards:
            if not check.holds(ctx.actor, ctx.row):
                raise check.refuse()
        self.gate(ctx)


@dataclass(frozen=True)
class SideAction:
    """Something done to a row that is not a state move (attach a file, ask for a later deadline): who may do it
    and what must hold, as ``Check``s on the actor and a subject (the row, with whatever else the rule looks
    at). The service calls ``enforce``; a page shows the action's button when ``allows`` — one rule for both.
    """

    action: str
    who: tuple[Check, ...]
    guards: tuple[Check, ...] = ()

    def allows(self, actor: Actor | None, subject: Any) -> bool:
        return all(c.holds(actor, subject) for c in (*self.who, *self.guards))

    def enforce(self, actor: Actor | None, subject: Any) -> None:
        """403 with the first failed ``who`` check's code, else the first failed guard's refusal."""
        for check in self.who:
            if not check.holds(actor, subject):
                raise Forbidden(check.detail, code=check.code)
        for check in self.guards:
            if not check.holds(actor, subject):
                raise check.refuse()


@dataclass(frozen=True)
class StateFacts:
    label_zh: str
    label_en: str
    terminal: bool = False
    deadline_running: bool = False
    public: str | None = None  # what someone outside the office is told the state is


Listener = Callable[[Session, Any, str, datetime], None]


@dataclass
class Workflow:
    """A life-cycle as data. ``scope(actor)`` is the clause of rows the actor may see."""

    name: str
    model: type
    states: type[StrEnum]
    initial: StrEnum
    table: tuple[Transition, ...]
    facts: Mapping[StrEnum, StateFacts]
    scope: Callable[[Actor], ColumnElement[bool]]
    chain: Chain
    not_found_code: str
    listeners: list[Listener] = field(default_factory=list)
    # Rows read with the locked row, joined into its SELECT but not locked (``FOR UPDATE OF`` the row's table):
    # what the answer to an action shows beside the row (a hazard's enterprise and clause), so the answer needs
    # no statement, and no transaction, of its own. Each is (entity, join condition on the workflow's model).
    companions: tuple[tuple[type, ColumnElement[bool]], ...] = ()
    machine: Machine = field(init=False)
    rules: dict[str, Transition] = field(init=False)
    _locking: dict[str | None, Select[Any]] = field(init=False, repr=False)  # per action with lookups; None: the rest
    _statements: KeptStatements = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = set(self.states) - set(self.facts)
        if missing:
            raise ValueError(f"{self.name}: no facts for states {sorted(missing)}")
        self.machine = rule_machine.build(self.table, self.states, self.initial)
        self.rules = {t.action.value: t for t in self.table}
        self._locking = {None: self._locking_select(())}  # ``locked``'s statements, less the actor's scope
        for t in self.table:
            if t.lookups:
                self._locking[t.action.value] = self._locking_select(t.lookups)
        self._statements = KeptStatements(max_entries=4096)

    def _locking_select(self, lookups: tuple[Lookup, ...]) -> Select[Any]:
        columns = (*(entity for entity, _ in self.companions), *(q.expr.label(q.name) for q in lookups))
        locking = select(self.model, *columns)
        for entity, onclause in self.companions:
            locking = locking.join(entity, onclause)
        return locking.where(self.model.id == bindparam("row_id")).with_for_update(of=self.model)

    # --- facts about states, in one place --------------------------------------------------------------------

    def states_where(self, fact: str) -> frozenset[StrEnum]:
        return frozenset(s for s, f in self.facts.items() if getattr(f, fact))

    @property
    def terminal(self) -> frozenset[StrEnum]:
        return self.states_where("terminal")

    @property
    def deadline_running(self) -> frozenset[StrEnum]:
        return self.states_where("deadline_running")

    def label(self, state: str, lang: str = "zh") -> str:
        f = self.facts[self.states(state)]
        return f.label_zh if lang == "zh" else f.label_en

    # --- listeners: the seam between domains -----------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        """Call ``listener(session, row, action, now)`` after every action and recorded change of a row of
        this workflow, in the same transaction. Registering the same function twice registers it once."""
        if listener not in self.listeners:
            self.listeners.append(listener)

    def changed(self, session: Session, row: Any, action: str, now: datetime) -> None:
        for listener in self.listeners:
            listener(session, row, action, now)

    # --- reading ---------------------------------------------------------------------------------------------

    def visible(self, session: Session, actor: Actor, row_id: int, *, lock: bool = False) -> Any:
        """The row if ``actor`` may see it, else 404 as if it did not exist; ``lock`` takes its row lock."""
        stmt = select(self.model).where(self.model.id == row_id, self.scope(actor))
        if lock:
            stmt = stmt.with_for_update()
        row = session.scalar(stmt)
        if row is None:
            raise NotFound(f"{self.name} {row_id} not found", code=self.not_found_code)
        return row

    def locked(
        self,
        session: Session,
        actor: Actor,
        row_id: int,
        action: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        """``visible(..., lock=True)``, the ``companions`` and the answers to ``action``'s lookups (on ``payload``)
        in one statement; only the row is locked. The statement is kept per action and actor (its scope), so it
        is built, and its cache key computed, once per caller and not at every request."""
        rule = self.rules.get(action) if action is not None else None
        lookups = rule.lookups if rule is not None else ()
        key = (action if lookups else None, actor)
        stmt = self._statements.get(key, lambda: self._locking[key[0]].where(self.scope(actor)))
        params = {"row_id": row_id}
        for q in lookups:
            params.update((p, (payload or {}).get(p)) for p in q.params)
        found = session.execute(stmt, params).first()
        if found is None:
            raise NotFound(f"{self.name} {row_id} not found", code=self.not_found_code)
        n = 1 + len(self.companions)
        return found[0], tuple(found[1:n]), {q.name: found[n + i] for i, q in enumerate(lookups)}

    def look_up(self, session: Session, row: Any, rule: Transition, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The answers to ``rule``'s lookups for a row found another way (a statement of their own)."""
        if not rule.lookups:
            return {}
        stmt = select(*(q.expr.label(q.name) for q in rule.lookups)).where(self.model.id == row.id)
        params = {p: payload.get(p) for q in rule.lookups for p in q.params}
        return dict(session.execute(stmt, params).one()._mapping)

    def allowed_actions(self, row: Any, actor: Actor | None) -> list[str]:
        """What ``actor`` may do to ``row`` now: the same ``who`` checks and guards ``act`` applies, in table
        order. Gates on what the caller will send (a plan, evidence) are not judged here."""
        return [t.action.value for t in self.table if t.source == row.state and t.admits(actor, row)]


@dataclass
class Outcome:
    row: Any
    before: str
    result: dict[str, Any]
    event: Any
    companions: tuple[Any, ...] = ()  # the workflow's companions, read with the row (none when ``row`` was given)


def check_version(workflow: Workflow, row: Any, expected: int | None) -> None:
    if expected is None:
        raise PreconditionRequired(f"send the {workflow.name}'s version (If-Match header or 'version' field)")
    if row.version != expected:
        raise VersionConflict(
            f"the {workflow.name} is at version {row.version}, not {expected}; reload and retry",
            current_version=row.version,
        )


def act(
    session: Session,
    workflow: Workflow,
    actor: Actor | None,
    row_id: int | None,
    action: str,
    payload: Mapping[str, Any] | None = None,
    *,
    expected_version: int | None,
    now: datetime,
    note: str | None = None,
    row: Any = None,
) -> Outcome:
    """Take ``action`` on the row ``row_id`` as ``actor`` (see the module docstring for the order).

    ``row`` instead of ``row_id``: a row the caller already found and locked another way (the reporter's
    receipt), whose scope is that way of finding it.
    """
    companions: tuple[Any, ...] = ()
    given = dict(payload or {})
    looked_up: dict[str, Any] | None = None
    if row is None:
        assert actor is not None and row_id is not None
        row, companions, looked_up = workflow.locked(session, actor, row_id, action, given)
    rule = workflow.rules.get(action)
    if rule is None:
        raise WrongState(f"{action} is not an action on a {workflow.name}", state=row.state)
    for check in rule.who:
        if not check.holds(actor, row):
            raise Forbidden(check.detail, code=check.code)
    check_version(workflow, row, expected_version)
    if looked_up is None:
        looked_up = workflow.look_up(session, row, rule, given)
    ctx = Context(session=session, row=row, actor=actor, payload=given, now=now, note=note, looked_up=looked_up)
    before = row.state
    try:
        result = rule_machine.fire(workflow.machine, row, rule.action, ctx)
    except MachineError as exc:
        raise WrongState(f"cannot {action} a {workflow.name} that is {before}", state=before) from exc
    if hasattr(row, "updated_at"):
        row.updated_at = now
    ev = append(
        session, workflow.chain, row, actor, action, now=now, from_state=before, to_state=row.state,
        note=ctx.note, data=result, moved=True,
    )  # fmt: skip
    workflow.changed(session, row, action, now)
    return Outcome(row=row, before=before, result=result, event=ev, companions=companions)


def record(
    session: Session,
    workflow: Workflow,
    row: Any,
    actor: Actor | None,
    action: str,
    *,
    now: datetime,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    notify: bool = False,
) -> Any:
    """A change that is not a state move (a file, a message, an extension decision): its chained event, and
    — when ``notify`` — the workflow's listeners. The row's version moves only if the caller changed it."""
    ev = append(
        session, workflow.chain, row, actor, action, now=now, from_state=row.state, to_state=row.state, note=note,
        data=data,
    )  # fmt: skip
    flush_versioned(session, f"the {workflow.name} was changed by someone else meanwhile; reload and retry")
    if notify:
        workflow.changed(session, row, action, now)
    return ev
