"""School days: the ladder counts them, never weekends or holidays (county time)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from tortoise.expressions import Q

from models.calendar import SchoolCalendar


def school_year_of(day: date) -> str:
    """2026-09-01 and 2027-03-01 both belong to 2026-2027; a year turns over on 1 August."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{start + 1}"


@dataclass(frozen=True)
class Term:
    name: str
    start: date
    end: date


@dataclass
class SchoolDays:
    """Which days are school days, from one or more school years' calendars.

    Answers are remembered (a sweep asks the same questions for thousands of cases); `add` forgets them.
    """

    terms: list[Term] = field(default_factory=list)
    holidays: set[date] = field(default_factory=set)
    makeup_days: set[date] = field(default_factory=set)
    _school_days: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)
    _counts: dict[tuple[date, date], int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _nths: dict[tuple[date, int, int], date | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def add(self, calendar: SchoolCalendar) -> None:
        self.terms.extend(
            Term(t["name"], date.fromisoformat(t["start"]), date.fromisoformat(t["end"])) for t in calendar.terms
        )
        self.holidays.update(date.fromisoformat(d) for d in calendar.holidays)
        self.makeup_days.update(date.fromisoformat(d) for d in calendar.makeup_days)
        self._school_days.clear()
        self._counts.clear()
        self._nths.clear()

    def in_term(self, day: date) -> bool:
        """Without any calendar for the year, every weekday counts: better a task too many than a child missed."""
        return not self.terms or any(t.start <= day <= t.end for t in self.terms)

    def is_school_day(self, day: date) -> bool:
        known = self._school_days.get(day)
        if known is None:
            known = self._school_days[day] = self._is_school_day(day)
        return known

    def _is_school_day(self, day: date) -> bool:
        if not self.in_term(day) or day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.makeup_days

    def between(self, first: date, last: date) -> Iterator[date]:
        """School days from first to last, both included."""
        day = first
        while day <= last:
            if self.is_school_day(day):
                yield day
            day += timedelta(days=1)

    def count(self, first: date, last: date) -> int:
        known = self._counts.get((first, last))
        if known is None:
            known = self._counts[(first, last)] = sum(1 for _ in self.between(first, last))
        return known

    def nth(self, first: date, n: int, horizon_days: int = 400) -> date | None:
        """The n-th school day counting `first` as a candidate for the first (n >= 1)."""
        key = (first, n, horizon_days)
        if key not in self._nths:
            self._nths[key] = self._nth(first, n, horizon_days)
        return self._nths[key]

    def _nth(self, first: date, n: int, horizon_days: int) -> date | None:
        day, seen = first, 0
        for _ in range(horizon_days):
            if self.is_school_day(day):
                seen += 1
                if seen == n:
                    return day
            day += timedelta(days=1)
        return None


def years_around(first: date, last: date) -> list[str]:
    """Every school year from the one holding `first` to the one holding `last`."""
    start, end = int(school_year_of(first)[:4]), int(school_year_of(last)[:4])
    return [f"{y}-{y + 1}" for y in range(start, end + 1)]


async def school_days(school_id: int, first: date, last: date) -> SchoolDays:
    """A school's own calendar for each year it has one, else the county's."""
    cache = SchoolDayCache()
    await cache.preload(years_around(first, last), school_ids=[school_id])
    return cache.for_school(school_id, first, last)


def calendar_key(school_year: str, school_id: int | None) -> str:
    return f"{school_year}:{school_id if school_id is not None else 'county'}"


class SchoolDayCache:
    """Calendars loaded once per sweep, keyed by school, so a sweep of many cases stays cheap."""

    def __init__(self) -> None:
        self._by_school: dict[int | None, dict[str, SchoolCalendar | None]] = {}
        self._county: dict[str, SchoolCalendar | None] = {}

    async def preload(self, school_years: Iterable[str], school_ids: Iterable[int] | None = None) -> None:
        years = list(school_years)
        query = SchoolCalendar.filter(school_year__in=years)
        if school_ids is not None:
            query = query.filter(Q(school_id=None) | Q(school_id__in=list(school_ids)))
        for calendar in await query:
            if calendar.school_id is None:
                self._county[calendar.school_year] = calendar
            else:
                self._by_school.setdefault(calendar.school_id, {})[calendar.school_year] = calendar
        for year in years:
            self._county.setdefault(year, None)

    def for_school(self, school_id: int, first: date, last: date) -> SchoolDays:
        days = SchoolDays()
        for year in years_around(first, last):
            calendar = self._by_school.get(school_id, {}).get(year) or self._county.get(year)
            if calendar is not None:
                days.add(calendar)
        return days
