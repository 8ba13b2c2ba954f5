"""The hazard's tamper-evident history: its chain on the kernel's audit writer (workflow/audit.py).

Each event's hash covers its content and the hash of the event before it, and the hazard row keeps the
chain's head. An edit, a deletion (the last event's too) or a reordering of any stored event breaks the
chain, and ``verify_chains`` names the first broken record of every hazard it finds broken.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor
from hazard_registry.hazards.models import Hazard, HazardEvent
from hazard_registry.workflow import audit
from hazard_registry.workflow.audit import GENESIS, Break

__all__ = ["CHAIN", "GENESIS", "Break", "append_event", "event_hash", "verify_chains"]

CHAIN = audit.register(
    audit.Chain(
        name="hazard",
        owner=Hazard,
        event=HazardEvent,
        owner_key="hazard_id",
        always_started=True,
        has_role=True,
        stamp=lambda hazard: {"deadline_after": hazard.deadline},
    )
)


def event_hash(e: HazardEvent) -> str:
    return CHAIN.hash(e)


def append_event(
    session: Session,
    hazard: Hazard,
    actor: Actor,
    action: str,
    *,
    now: datetime,
    from_state: str | None,
    to_state: str | None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    born: bool = False,
) -> HazardEvent:
    """Add the next event of ``hazard``'s chain (the caller holds its row lock and commits it). ``born``: the
    hazard is new and inserted here with its first event (``audit.append``)."""
    return audit.append(
        session, CHAIN, hazard, actor, action, now=now, from_state=from_state, to_state=to_state, note=note,
        data=data, born=born,
    )  # fmt: skip


def verify_chains(session: Session, hazard_id: int | None = None) -> Iterator[Break]:
    return audit.verify(session, CHAIN, hazard_id)
