"""Supervision's seam with the hazard core: it listens to hazard changes instead of being called by them.

``install()`` registers the timer rebuild on the hazard workflow; create_app, the worker and the CLI call
it at start-up (it is idempotent). The listener runs inside the hazard's transaction, so a hazard's timers
and open measures never disagree with its state.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hazard_registry.hazards.models import Hazard
from hazard_registry.hazards.workflow import WORKFLOW as HAZARDS
from hazard_registry.supervision import timers


def rebuild_timers(session: Session, hazard: Hazard, action: str, now: datetime) -> None:
    """After a report, an action of the workflow's table (a state move, now) or a recorded change."""
    timers.hazard_changed(session, hazard, now, new=action == "report", moved=action in HAZARDS.rules)


def install() -> None:
    HAZARDS.listen(rebuild_timers)
