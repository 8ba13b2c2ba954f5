"""A small fixed register with chosen dates, so every statistic has a hand-computed answer.

All figures below are as of 2026-06-30 with the cut-off 2023-12-31. Closing times are given as China days
and stored at 10:00 China (02:00 UTC), except H7, closed at 00:30 China on 2026-07-01.

Each hazard gets the history its state implies (statistics as of a day read the state and deadline of that
day from it): reported, assigned with its deadline and, past that, rectifying on the day it was found;
verified and closed at its closing time; rejected on the day it was found.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.auth.principal import SYSTEM
from hazard_registry.hazards.audit import append_event
from hazard_registry.hazards.models import Hazard
from hazard_registry.reference.models import Enterprise, Industry
from tests.factories import World

AS_OF = date(2026, 6, 30)

# key: (enterprise, found_at, deadline, closed China day or datetime, state)
ROWS: dict[str, tuple[str, date, date | None, Any, str]] = {
    "H1": ("chem", date(2023, 12, 31), date(2026, 6, 30), None, "rectifying"),  # stock, due on as_of: not overdue
    "H2": ("chem", date(2024, 1, 1), date(2026, 6, 29), None, "assigned"),  # increment, overdue by one day
    "H3": ("chem", date(2024, 1, 10), date(2024, 2, 1), date(2024, 1, 20), "closed"),  # 10 days
    "H4": ("chem", date(2023, 6, 1), date(2024, 3, 1), date(2024, 6, 1), "closed"),  # stock, 366 days
    "H5": ("chem", date(2026, 7, 1), None, None, "reported"),  # found after as_of
    "H6": ("chem", date(2025, 1, 1), None, None, "rejected"),  # never counted
    "H7": ("chem", date(2025, 3, 1), date(2026, 5, 1), datetime(2026, 6, 30, 16, 30, tzinfo=UTC), "closed"),
    "H8": ("metal", date(2025, 1, 1), date(2025, 3, 1), date(2025, 1, 31), "closed"),  # 30 days
    "H9": ("futian", date(2022, 5, 1), date(2023, 1, 1), None, "rectifying"),  # stock, overdue
    "H10": ("futian", date(2024, 5, 1), date(2024, 6, 1), date(2024, 5, 21), "closed"),  # 20 days
}


def load(db: Session, world: World) -> dict[str, int]:
    ids: dict[str, int] = {}
    dept = {"chem": "T-NS-YJ", "metal": "T-NS-YJ", "futian": "T-FT-YJ"}
    for key, (ent_key, found, deadline, closed, state) in ROWS.items():
        ent, sector = db.execute(
            select(Enterprise, Industry.sector_code)
            .join(Industry, Industry.code == Enterprise.industry_code)
            .where(Enterprise.id == world.ids[ent_key])
        ).one()
        if isinstance(closed, date) and not isinstance(closed, datetime):
            closed = datetime.combine(closed, time(2, 0), UTC)
        h = Hazard(
            number=f"T-{key}",
            state=state,
            source="inspection",
            enterprise_id=ent.id,
            industry_code=ent.industry_code,
            sector_code=sector,
            region_code=ent.region_code,
            department_id=world.ids[dept[ent_key]],
            clause_id=world.clause_chem,
            title=f"隐患 {key}",
            description="测试",
            found_at=found,
            deadline=deadline,
            closed_at=closed,
            reported_by_role="regulator",
        )
        db.add(h)
        db.flush()
        ids[key] = h.id
        write_history(db, h, state)
    db.commit()
    return ids


def _steps(h: Hazard, state: str) -> list[tuple[str, str | None, str, datetime]]:
    found = datetime.combine(h.found_at, time(2, 0), UTC)
    steps = [("report", None, "reported", found)]
    if state == "rejected":
        return [*steps, ("reject", "reported", "rejected", found)]
    if state == "reported":
        return steps
    steps.append(("assign", "reported", "assigned", found))
    if state == "assigned":
        return steps
    steps.append(("start_rectification", "assigned", "rectifying", found))
    if state == "closed":
        assert h.closed_at is not None
        steps += [("verify", "rectifying", "verified", h.closed_at), ("close", "verified", "closed", h.closed_at)]
    return steps


def write_history(db: Session, h: Hazard, state: str) -> None:
    steps = _steps(h, state)
    for action, before, after, at in steps:
        append_event(db, h, SYSTEM, action, now=at, from_state=before, to_state=after)
        db.flush()
    h.updated_at = steps[-1][3]
    db.flush()
