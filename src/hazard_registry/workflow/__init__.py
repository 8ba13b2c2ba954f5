"""The workflow kernel: every life-cycle (hazards, complaints, supervision measures) is a table on it.

See ``kernel.py`` for the sequence an action follows and ``audit.py`` for the chained histories.
"""

from hazard_registry.workflow.audit import GENESIS, Break, Chain, append, append_many, register, verify, verify_all
from hazard_registry.workflow.kernel import (
    Check,
    Context,
    Listener,
    Lookup,
    Outcome,
    SideAction,
    StateFacts,
    Transition,
    Workflow,
    act,
    check_version,
    no_effect,
    no_gate,
    record,
)

__all__ = [
    "GENESIS",
    "Break",
    "Chain",
    "Check",
    "Context",
    "Listener",
    "Lookup",
    "Outcome",
    "SideAction",
    "StateFacts",
    "Transition",
    "Workflow",
    "act",
    "append",
    "append_many",
    "check_version",
    "no_effect",
    "no_gate",
    "record",
    "register",
    "verify",
    "verify_all",
]
