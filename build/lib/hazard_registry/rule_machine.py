"""A `transitions` machine built from a table of rules, shared by the hazard and the complaint workflows.

Each rule names an action (the trigger), its source and destination state, a gate (raises to refuse, e.g.
GateFailed) and an effect (returns what it changed, for the audit event). The machine has no model of its
own: ``fire`` runs a trigger on the row it is given, so one machine serves every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, Protocol

from transitions import Machine
from transitions.core import EventData


class TableRule(Protocol):
    @property
    def action(self) -> StrEnum: ...
    @property
    def source(self) -> StrEnum: ...
    @property
    def dest(self) -> StrEnum: ...
    @property
    def gate(self) -> Callable[[Any], None]: ...
    @property
    def effect(self) -> Callable[[Any], dict[str, Any]]: ...


def _condition(rule: TableRule) -> Callable[[EventData], bool]:
    def check(event: EventData) -> bool:
        rule.gate(event.kwargs["ctx"])
        return True

    return check


def _after(rule: TableRule) -> Callable[[EventData], None]:
    def apply(event: EventData) -> None:
        event.kwargs["result"].update(rule.effect(event.kwargs["ctx"]))

    return apply


def build(table: Iterable[TableRule], states: Iterable[StrEnum], initial: StrEnum) -> Machine:
    return Machine(
        model=None,
        states=[s.value for s in states],
        initial=initial.value,
        transitions=[
            {
                "trigger": r.action.value,
                "source": r.source.value,
                "dest": r.dest.value,
                "conditions": [_condition(r)],
                "after": [_after(r)],
            }
            for r in table
        ],
        auto_transitions=False,
        send_event=True,
    )


def fire(machine: Machine, row: Any, action: StrEnum, ctx: Any) -> dict[str, Any]:
    """Take ``action`` on ``row`` (its ``state`` attribute): MachineError in the wrong state, the gate's own
    exception when it refuses; returns what the effect recorded."""
    result: dict[str, Any] = {}
    machine.events[action.value].trigger(row, ctx=ctx, result=result)
    return result
