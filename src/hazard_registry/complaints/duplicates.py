"""Likely duplicates of a complaint, for the handler deciding whether to merge."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import Actor, complaint_scope
from hazard_registry.complaints import schemas
from hazard_registry.complaints.access import get_visible, no_enterprise
from hazard_registry.complaints.models import (
    Complaint,
)
from hazard_registry.complaints.workflow import (
    State,
)

DUPLICATE_WINDOW_DAYS = 90
DUPLICATE_SCAN = 300


def _norm(text: str | None) -> str:
    return "".join((text or "").split()).lower()


def similarity(a: Complaint, b: Complaint) -> float:
    return difflib.SequenceMatcher(
        None, _norm(a.title + a.description)[:2000], _norm(b.title + b.description)[:2000]
    ).ratio()


def duplicates(session: Session, actor: Actor, complaint_id: int, now: datetime) -> list[schemas.DuplicateSuggestion]:
    """Likely duplicates: earlier or later complaints of the last 90 days in the same region, about the same
    enterprise or address, or with similar text; best first."""
    no_enterprise(actor)
    c = get_visible(session, actor, complaint_id)
    since = now - timedelta(days=DUPLICATE_WINDOW_DAYS)
    candidates = session.scalars(
        select(Complaint)
        .where(
            complaint_scope(actor, Complaint),
            Complaint.id != c.id,
            Complaint.region_code == c.region_code,
            Complaint.created_at >= since,
            Complaint.state.not_in([State.merged.value, State.refused.value]),
        )
        .order_by(Complaint.id.desc())
        .limit(DUPLICATE_SCAN)
    )
    out = []
    for o in candidates:
        same_ent = bool(
            (c.enterprise_id and o.enterprise_id == c.enterprise_id)
            or (c.enterprise_uscc and o.enterprise_uscc == c.enterprise_uscc)
            or (c.enterprise_name and _norm(o.enterprise_name) == _norm(c.enterprise_name))
        )
        same_addr = bool(c.address and _norm(o.address) == _norm(c.address))
        score = similarity(c, o)
        if same_ent or same_addr or score >= 0.6:
            out.append(
                schemas.DuplicateSuggestion(
                    id=o.id,
                    title=o.title,
                    state=o.state,
                    created_at=o.created_at,
                    score=round(score, 3),
                    same_enterprise=same_ent,
                    same_address=same_addr,
                )
            )
    out.sort(key=lambda s: (s.same_enterprise or s.same_address, s.score), reverse=True)
    return out[:20]
