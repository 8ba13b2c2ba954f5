"""Filing periods: quarters and years, their bounds and due dates. Pure functions of their arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hazard_registry.clock import today_in_china
from hazard_registry.errors import InvalidInput

_PERIOD = re.compile(r"^(\d{4})(?:Q([1-4]))?$")


@dataclass(frozen=True)
class Period:
    code: str  # "2026Q3" or "2026"
    kind: str  # quarterly | annual
    start: date
    end: date
    due_on: date


def parse_period(code: str) -> Period:
    """A quarter (``2026Q3``) is due on the 15th of the month after it ends; a year (``2026``) on 31 January."""
    m = _PERIOD.match(code)
    if not m or not 2000 <= int(m.group(1)) <= 2100:
        raise InvalidInput(
            "period must be a quarter like 2026Q3 or a year like 2026",
            code="invalid_period",
            errors=[{"field": "period", "message": "expected YYYYQn or YYYY"}],
        )
    year = int(m.group(1))
    if m.group(2) is None:
        return Period(code, "annual", date(year, 1, 1), date(year, 12, 31), date(year + 1, 1, 31))
    q = int(m.group(2))
    start = date(year, 3 * q - 2, 1)
    if q == 4:
        end, due = date(year, 12, 31), date(year + 1, 1, 15)
    else:
        end = date(year, 3 * q + 1, 1) - timedelta(days=1)
        due = date(year, 3 * q + 1, 15)
    return Period(code, "quarterly", start, end, due)


def quarter_containing(day: date) -> Period:
    return parse_period(f"{day.year}Q{(day.month - 1) // 3 + 1}")


def last_quarter_ended(as_of: date) -> Period:
    """The latest quarter ending on or before ``as_of`` (``as_of`` may be a quarter's last day)."""
    current = quarter_containing(as_of + timedelta(days=1))
    return quarter_containing(current.start - timedelta(days=1))


def period_to_file(now: datetime) -> Period:
    """The quarter an enterprise files now: the last one that has ended (in China's calendar)."""
    today = today_in_china(now)
    current = quarter_containing(today)
    return quarter_containing(current.start - timedelta(days=1))
