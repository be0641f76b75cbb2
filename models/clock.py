"""The one clock of the whole system.

Everything that asks "what time is it" asks here, so tests and `manage tick --as-of`
can replay weeks in a second. Order of precedence: an `as_of` block, the clock stored in the
database (CLOCK_SOURCE=database), the CLOCK_AS_OF setting, the real time.

The county works in Asia/Shanghai: days, deadlines and what people see are county time. The
moments this module hands out are in UTC, so every value written to or compared in the
database has the same offset (SQLite compares them as text).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from config import settings

COUNTY_TZ = ZoneInfo(settings().county_timezone)
_as_of: ContextVar[datetime | None] = ContextVar("as_of", default=None)
_shared: datetime | None = None  # the database clock, when CLOCK_SOURCE=database


def parse_moment(text: str) -> datetime:
    """An ISO date (08:00 that day, county time) or datetime (county time if naive), in UTC."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(8, 0), COUNTY_TZ).astimezone(UTC)
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=COUNTY_TZ)).astimezone(UTC)


def now() -> datetime:
    override = _as_of.get()
    if override is not None:
        return override
    if _shared is not None:
        return _shared
    fixed = settings().clock_as_of
    if fixed:
        return parse_moment(fixed)
    return datetime.now(UTC)


async def refresh() -> None:
    """Follow the clock stored in the database (CLOCK_SOURCE=database); a no-op otherwise."""
    global _shared
    if settings().clock_source != "database":
        return
    from models.outbox import SystemClock

    row = await SystemClock.get_or_none(id=1)
    _shared = row.as_of.astimezone(UTC) if row and row.as_of else None


async def set_shared(moment: datetime | None) -> None:
    """Set (or clear) the clock every process follows under CLOCK_SOURCE=database."""
    from models.outbox import SystemClock

    await SystemClock.update_or_create(id=1, defaults={"as_of": moment})
    await refresh()


def aware(moment: datetime) -> datetime:
    """The moment in UTC; one given without an offset is county time, as in parse_moment."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=COUNTY_TZ)).astimezone(UTC)


def today() -> date:
    return now().astimezone(COUNTY_TZ).date()


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    token = _as_of.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _as_of.reset(token)


def end_of_day(day: date) -> datetime:
    """A deadline "by day D" means until the last second of D, county time (as a UTC moment)."""
    return datetime.combine(day, time(23, 59, 59), COUNTY_TZ).astimezone(UTC)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), COUNTY_TZ).astimezone(UTC)


def local(moment: datetime) -> datetime:
    return moment.astimezone(COUNTY_TZ)
