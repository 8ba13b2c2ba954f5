"""Working days with China's holidays and 调休, at the awkward boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from hazard_registry.workdays import CalendarYearUnknown, WorkCalendar, year_table

CAL = WorkCalendar()


def test_a_tiaoxiu_saturday_is_a_working_day():
    # 2026-02-14 is the Saturday worked before the Spring Festival week.
    assert CAL.is_workday(date(2026, 2, 14)) and not CAL.is_workday(date(2026, 2, 21))
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)


def test_spring_festival_and_national_day_weeks_are_skipped():
    assert CAL.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert CAL.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CAL.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10), "10-10 is a 调休 Saturday"
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 9)) == 2


def test_the_year_boundary():
    # 2026-01-01..03 are off and Sunday 2026-01-04 is worked.
    assert CAL.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)
    assert CAL.add_days(date(2025, 12, 31), 1, working=False) == date(2026, 1, 1)


def test_an_unknown_year_is_refused_until_loaded():
    with pytest.raises(CalendarYearUnknown) as err:
        CAL.add_working_days(date(2026, 12, 31), 1)
    assert err.value.year == 2027 and err.value.code == "calendar_year_unknown"
    loaded = WorkCalendar({2027: year_table(2027, [date(2027, 1, 1)], [])})
    assert loaded.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    with pytest.raises(ValueError):
        year_table(2027, [date(2026, 1, 1)], [])


def test_counting_working_days_over_years_asks_each_day_once_per_calendar(monkeypatch) -> None:
    """The 工作台 shows "已逾期 N 个工作日" per row; a hazard three years overdue must cost what one due tomorrow
    costs, not a thousand look-ups per page."""
    cal = WorkCalendar()
    assert cal.working_days_between(date(2021, 3, 1), date(2024, 3, 1)) == cal.working_days_between(
        date(2021, 3, 1), date(2022, 1, 1)
    ) + cal.working_days_between(date(2022, 1, 1), date(2024, 3, 1))
    asked: list[date] = []
    real = WorkCalendar.is_workday
    monkeypatch.setattr(WorkCalendar, "is_workday", lambda self, day: asked.append(day) or real(self, day))
    for offset in range(20):
        cal.working_days_between(date(2021, 5, 1 + offset), date(2024, 2, 1 + offset))
    assert len(asked) <= 20, f"{len(asked)} days looked up for 20 counts"


def _walk(loaded: dict[int, dict[date, bool]], start: date, n: int) -> date | int:
    """The definition, day by day, independent of the running counts: the answer, or the unknown year."""
    day = start
    while n:
        day += timedelta(days=1)
        if day.year in loaded:
            work = loaded[day.year].get(day, day.weekday() < 5)
        else:
            try:
                work = chinese_calendar.is_workday(day)
            except NotImplementedError:
                return day.year
        n -= work
    return day


def test_adding_working_days_agrees_with_a_walk_day_by_day_and_asks_the_package_once_per_year(monkeypatch):
    """Deadlines are found in the years' running counts (the 工作台's count): the same day a walk finds, the same
    year refused, and the package (which scans its whole table on every call) asked nothing more once warm."""
    loaded = {2027: year_table(2027, [date(2027, 1, 1), date(2027, 2, 8)], [date(2027, 2, 6)])}
    starts = [date(2024, 12, 31), date(2025, 12, 31), date(2026, 2, 13), date(2026, 9, 30), date(2026, 12, 25),
              date(2026, 12, 31), date(2027, 1, 26), date(2027, 12, 30)]  # fmt: skip
    for tables in ({}, loaded):
        cal = WorkCalendar(tables)
        for start in starts:
            for n in (0, 1, 5, 10, 30, 60, 250):
                try:
                    found: date | int = cal.add_working_days(start, n)
                except CalendarYearUnknown as exc:
                    found = exc.year
                assert found == _walk(tables, start, n), (tables.keys(), start, n)
    asked: list[date] = []
    monkeypatch.setattr(chinese_calendar, "is_workday", lambda day: asked.append(day) or True)
    for _ in range(3):
        assert CAL.add_working_days(date(2026, 1, 5), 60) and CAL.is_workday(date(2026, 3, 3)) is not None
        with pytest.raises(CalendarYearUnknown):
            CAL.add_working_days(date(2026, 12, 31), 5)
    assert asked == []
