"""What "overdue" means: one definition, in Python and in SQL, used by lists, ledgers, statistics and the
escalation engine alike.

A hazard is overdue on a day when its rectification deadline runs — it has been assigned and the
enterprise has not yet reported the work done (``DEADLINE_RUNNING``: ``assigned`` or ``rectifying``) — and
the deadline is before that day in China's calendar (the deadline day itself is not overdue). The deadline
runs from assignment: a hazard assigned and never started is overdue exactly as one being rectified is.

``is_overdue`` and ``overdue_sql`` are twins (``tests/test_facts.py`` checks they agree on every state);
``overdue_sql`` takes the state and deadline columns, so statistics can ask it about the state and deadline a
hazard had on a past day rather than today's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_

from hazard_registry.hazards.models import Hazard
from hazard_registry.hazards.workflow import DEADLINE_RUNNING

DEADLINE_RUNNING_VALUES = tuple(sorted(s.value for s in DEADLINE_RUNNING))


def is_overdue(state: str, deadline: date | None, today: date) -> bool:
    """True when a hazard in ``state`` with ``deadline`` is overdue on ``today`` (a China date)."""
    return state in DEADLINE_RUNNING_VALUES and deadline is not None and deadline < today


def overdue_sql(today: Any, state: Any = Hazard.state, deadline: Any = Hazard.deadline) -> ColumnElement[bool]:
    """``is_overdue`` as a SQL condition (NULL deadline: not overdue, as ``NULL < day`` is not true)."""
    return and_(state.in_(DEADLINE_RUNNING_VALUES), deadline.is_not(None), deadline < today)


def not_overdue_sql(today: Any, state: Any = Hazard.state, deadline: Any = Hazard.deadline) -> ColumnElement[bool]:
    """The complement of ``overdue_sql`` with no NULL left undecided (for ``overdue=false`` filters)."""
    return ~overdue_sql(today, state, deadline)
