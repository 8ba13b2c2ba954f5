"""Chinese working days: official holidays and make-up working weekends (调休).

The years ``chinese-calendar`` knows come from it; a year it does not know must be loaded by an
administrator (``POST /api/v1/calendar/{year}``) before any deadline falls in it. Until then a computation
that needs that year refuses with ``CalendarYearUnknown`` rather than guess: a guessed deadline would be
wrong by the length of a holiday week.

"Start + N working days" is the Nth working day after ``start`` (the start day itself does not count), so
a hazard assigned on a Friday with one working day to act is due the next working Monday, or the 调休
Saturday if that comes first.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, lru_cache

import chinese_calendar

from hazard_registry.errors import DomainError


class CalendarYearUnknown(DomainError):
    status, code, title = 422, "calendar_year_unknown", "Holiday table for the year not loaded"

    def __init__(self, year: int) -> None:
        super().__init__(
            f"the official holiday table for {year} is not known; an administrator loads it with "
            f"PUT /api/v1/calendar/{year}",
            year=year,
        )
        self.year = year


@cache
def _package_knows(year: int) -> bool:
    """Asked once per year and process: the package's refusal costs a scan of its whole table each time."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@dataclass
class WorkCalendar:
    """``loaded`` maps an administrator-loaded year to its exceptions: day → is it a working day.
    Days of a loaded year not listed follow the week (Monday–Friday work). A loaded year wins over the
    package, so a correction to the package's table can be loaded too."""

    loaded: Mapping[int, Mapping[date, bool]] = field(default_factory=dict)

    def knows(self, year: int) -> bool:
        return year in self.loaded or _package_knows(year)

    def is_workday(self, day: date) -> bool:
        if day.year in self.loaded:
            return self.loaded[day.year].get(day, day.weekday() < 5)
        index = day.timetuple().tm_yday - 1
        running = _package_running(day.year)
        return running[index] > (running[index - 1] if index else 0)

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start``, found in the years' running counts (as
        ``working_days_between`` counts): a bisection per year reached, not a look-up per day. Only the years
        of the days after ``start`` up to the answer are asked for, as a walk day by day would."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return start
        first = start + timedelta(days=1)
        year, index = first.year, first.timetuple().tm_yday - 1
        running = self._year(year)
        target = (running[index - 1] if index else 0) + n
        while running[-1] < target:
            target -= running[-1]
            year += 1
            running = self._year(year)
        return date(year, 1, 1) + timedelta(days=bisect_left(running, target))

    def add_days(self, start: date, n: int, *, working: bool) -> date:
        return self.add_working_days(start, n) if working else start + timedelta(days=n)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` ≤ ``start``).

        From each year's running count of working days, worked out once per calendar: a hazard overdue for
        three years costs what one due tomorrow costs, not a thousand look-ups (the 工作台 shows one per row)."""
        if end <= start:
            return 0
        first = start + timedelta(days=1)  # only the years of the days counted are asked for, as a loop would
        count = self._through(end) - (self._through(first) - self.is_workday(first))
        for year in range(first.year, end.year):
            count += self._year(year)[-1]
        return count

    def _year(self, year: int) -> list[int]:
        """``[n₀, n₁, …]``: working days of ``year`` from 1 January through its (i+1)-th day."""
        years: dict[int, list[int]] = self.__dict__.setdefault("_running", {})
        if year not in years:
            if year in self.loaded:
                years[year] = _loaded_running(year, frozenset(self.loaded[year].items()))
            else:
                years[year] = _package_running(year)
        return years[year]

    def _through(self, day: date) -> int:
        return self._year(day.year)[day.timetuple().tm_yday - 1]


@lru_cache(maxsize=32)
def _loaded_running(year: int, exceptions: frozenset[tuple[date, bool]]) -> list[int]:
    """A loaded year's running count, kept per content of its table: a calendar is made per change of a hazard,
    the table it reads changes a few times a year."""
    table = dict(exceptions)
    return _running(year, lambda day: table.get(day, day.weekday() < 5))


@cache
def _package_running(year: int) -> list[int]:
    """A year the package knows never changes in this process: its running count is worked out once, and every
    question about one of its days is answered from it (the package scans its whole table on each call)."""
    if not _package_knows(year):
        raise CalendarYearUnknown(year)
    return _running(year, chinese_calendar.is_workday)


def _running(year: int, is_workday: Callable[[date], bool]) -> list[int]:
    running, n, day = [], 0, date(year, 1, 1)
    while day.year == year:
        n += is_workday(day)
        running.append(n)
        day += timedelta(days=1)
    return running


def year_table(year: int, holidays: Iterable[date], workdays: Iterable[date]) -> dict[date, bool]:
    """The exceptions of one year as loaded by an administrator: holidays off, 调休 weekend days on."""
    table: dict[date, bool] = {}
    for day in holidays:
        if day.year != year:
            raise ValueError(f"holiday {day} is not in {year}")
        table[day] = False
    for day in workdays:
        if day.year != year:
            raise ValueError(f"working day {day} is not in {year}")
        if day in table:
            raise ValueError(f"{day} is listed both as a holiday and as a working day")
        table[day] = True
    return table
