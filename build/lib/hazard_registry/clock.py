"""The one place that asks the system clock. Everything else takes ``now`` as a parameter."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(UTC)


def today_in_china(at: datetime | None = None) -> date:
    """Deadlines are Chinese calendar days: a hazard due on the 5th is overdue from 00:00 Beijing time on the 6th."""
    return (at or now()).astimezone(CHINA).date()


def day_end_utc(day: date) -> datetime:
    """The first instant after ``day`` in China, in UTC: a time before it falls on or before ``day``."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA).astimezone(UTC)
