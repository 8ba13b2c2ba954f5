"""The tamper-evident history: each event's hash covers its content and the hash of the event before it.

An edit, a deletion or a reordering of any stored event breaks the chain from that point on, and
``verify_chains`` names the first broken record of every hazard it finds broken.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor
from hazard_registry.hazards.models import Hazard, HazardEvent

GENESIS = "0" * 64


def _canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(e: HazardEvent) -> str:
    body = {
        "hazard_id": e.hazard_id,
        "seq": e.seq,
        "action": e.action,
        "from": e.from_state,
        "to": e.to_state,
        "actor_id": e.actor_id,
        "actor_name": e.actor_name,
        "actor_role": e.actor_role,
        "at": _canonical_time(e.at),
        "note": e.note,
        "data": e.data or {},
        "prev": e.prev_hash,
    }
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


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
    first: bool = False,
) -> HazardEvent:
    """Add the next event of ``hazard``'s chain to the session (the caller commits it with the change).

    The caller holds the hazard's row lock (or is creating it: ``first``, the chain starts, nothing to read),
    so the chain's tail cannot move under us; the unique (hazard_id, seq) constraint is the last line should
    that ever fail.
    """
    last = None
    if not first:
        last = session.execute(
            select(HazardEvent.seq, HazardEvent.hash)
            .where(HazardEvent.hazard_id == hazard.id)
            .order_by(HazardEvent.seq.desc())
            .limit(1)
        ).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    ev = HazardEvent(
        hazard_id=hazard.id,
        seq=seq,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.user_id,
        actor_name=actor.username,
        actor_role=str(actor.role),
        at=now,
        note=note,
        data=data or {},
        prev_hash=prev,
    )
    ev.hash = event_hash(ev)
    session.add(ev)
    return ev


@dataclass(frozen=True)
class Break:
    hazard_id: int
    event_id: int
    seq: int
    reason: str


def verify_chains(session: Session, hazard_id: int | None = None) -> Iterator[Break]:
    """Stream every event in chain order and yield the first break of each broken chain."""
    stmt = select(HazardEvent).order_by(HazardEvent.hazard_id, HazardEvent.seq)
    if hazard_id is not None:
        stmt = stmt.where(HazardEvent.hazard_id == hazard_id)
    current, expected_seq, prev, broken = None, 1, GENESIS, False
    for ev in session.scalars(stmt.execution_options(yield_per=2000)):
        if ev.hazard_id != current:
            current, expected_seq, prev, broken = ev.hazard_id, 1, GENESIS, False
        if broken:
            continue
        reason = None
        if ev.seq != expected_seq:
            reason = f"sequence gap: expected {expected_seq}, found {ev.seq} (an event was removed)"
        elif ev.prev_hash != prev:
            reason = "link to the previous event does not match"
        elif event_hash(ev) != ev.hash:
            reason = "content does not match its hash (the record was edited)"
        if reason:
            broken = True
            yield Break(ev.hazard_id, ev.id, ev.seq, reason)
        expected_seq, prev = ev.seq + 1, ev.hash
    # A hazard with no first event at all has lost its whole history.
    if hazard_id is None:
        orphans = select(Hazard.id).where(~select(HazardEvent.id).where(HazardEvent.hazard_id == Hazard.id).exists())
        for hid in session.scalars(orphans):
            yield Break(hid, 0, 0, "no events: the history was removed")


@event.listens_for(HazardEvent, "before_update")
def _no_update(*_args: Any) -> None:
    raise RuntimeError("hazard events are append-only")


@event.listens_for(HazardEvent, "before_delete")
def _no_delete(*_args: Any) -> None:
    raise RuntimeError("hazard events are append-only")
