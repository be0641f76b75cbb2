"""The one clock of the whole system.

Everything that asks "what time is it" asks here, so tests and `manage tick --as-of`
can replay weeks in a second. Order of precedence: an `as_of` block, the
CLOCK_AS_OF setting, the real time. The county works in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from config import settings

COUNTY_TZ = ZoneInfo(settings().timezone)
_as_of: ContextVar[datetime | None] = ContextVar("as_of", default=None)


def parse_moment(text: str) -> datetime:
    """An ISO date (start of that day, county time) or datetime (county time if naive)."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(8, 0), COUNTY_TZ)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=COUNTY_TZ)


def now() -> datetime:
    override = _as_of.get()
    if override is not None:
        return override
    fixed = settings().clock_as_of
    if fixed:
        return parse_moment(fixed)
    return datetime.now(COUNTY_TZ)


def today() -> date:
    return now().astimezone(COUNTY_TZ).date()


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    token = _as_of.set(moment.astimezone(COUNTY_TZ))
    try:
        yield
    finally:
        _as_of.reset(token)


def end_of_day(day: date) -> datetime:
    """A deadline "by day D" means until the last second of D, county time."""
    return datetime.combine(day, time(23, 59, 59), COUNTY_TZ)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), COUNTY_TZ)


def local(moment: datetime) -> datetime:
    return moment.astimezone(COUNTY_TZ)


def days_later(day: date, days: int) -> date:
    return day + timedelta(days=days)
