"""The calendar of duties (四, 五): for a school year, recurring duties become dated tasks.

Each task's key is (duty, owner, period[, subject]), so generating a year twice creates nothing
twice; `preview` shows what would be created without writing anything.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import clock
from models.calendar import SchoolCalendar
from models.children import Household, Student
from models.duties import Duty, DutyParty, PartyRole
from models.tasks import Task, TaskCooperator, TaskEvent, TaskKind, TaskStatus
from models.units import Unit, UnitKind
from tasks.live.events import LiveKind, tasks_changed
from tasks.queue.workflow import create_task
from tasks.school_days import SchoolDays

CHUNK = 1000


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    due: date


@dataclass
class CalendarItem:
    key: str
    duty_id: int
    title: str
    description: str
    unit_id: int
    due: date
    cooperator_ids: tuple[int, ...] = ()


@dataclass
class CalendarPlan:
    school_year: str
    items: list[CalendarItem] = field(default_factory=list)
    existing_keys: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    @property
    def new_items(self) -> list[CalendarItem]:
        return [i for i in self.items if i.key not in self.existing_keys]


def _year_bounds(school_year: str) -> tuple[int, int]:
    if not re.fullmatch(r"\d{4}-\d{4}", school_year) or int(school_year[5:]) != int(school_year[:4]) + 1:
        raise ValueError(
            f"学年 {school_year!r} 应写成 2026-2027 这样的两个相连年份 (school year: write it as 2026-2027)"
        )
    return int(school_year[:4]), int(school_year[5:])


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def periods(
    rule: str, school_year: str, term_starts: Sequence[date], school_months: set[tuple[int, int]] | None = None
) -> list[Period]:
    """The dated occurrences of a deadline rule within a school year (1 August to 31 July).

    `before-year MM-DD` falls before the school year begins (the police's 0-18 data and the census
    organisation prepare the August census of that year). `monthly D` follows the school calendar:
    a month without a school day (`school_months`, when a calendar is known) has no report, unless
    the rule says `monthly D always`.
    """
    first, second = _year_bounds(school_year)
    kind, _, arg = rule.partition(" ")
    days = int(arg.strip("+d")) if arg.startswith("+") else 0
    if kind == "annual":
        month, day = int(arg[:2]), int(arg[3:])
        return [Period(school_year, f"{school_year}学年", date(first if month >= 8 else second, month, day))]
    if kind == "before-year":
        month, day = int(arg[:2]), int(arg[3:])
        return [Period(school_year, f"{school_year}学年（{first}年8月普查前）", date(first, month, day))]
    if kind == "monthly":
        day_of_month, _, always = arg.partition(" ")
        found = []
        for year, month in [(first, m) for m in range(8, 13)] + [(second, m) for m in range(1, 8)]:
            if not always and school_months is not None and (year, month) not in school_months:
                continue
            due_year, due_month = _next_month(year, month)
            found.append(
                Period(f"{year}-{month:02d}", f"{year}年{month}月", date(due_year, due_month, int(day_of_month)))
            )
        return found
    if kind == "quarterly":
        ends = [date(first, 9, 30), date(first, 12, 31), date(second, 3, 31), date(second, 6, 30)]
        return [
            Period(f"{end.year}-Q{(end.month - 1) // 3 + 1}", f"{end.year}年第{(end.month - 1) // 3 + 1}季度",
                   end + timedelta(days=days))
            for end in ends
        ]  # fmt: skip
    if kind in ("term-start", "year-start"):
        starts = list(term_starts[:1] if kind == "year-start" else term_starts)
        return [
            Period(f"{school_year}-T{i + 1}", f"{school_year}学年第{i + 1}学期", start + timedelta(days=days))
            for i, start in enumerate(starts)
        ]
    return []  # none, after-event: not on the calendar


def school_months(calendar: SchoolCalendar | None) -> set[tuple[int, int]] | None:
    """The (year, month)s of a school year with at least one school day; None without a calendar."""
    if calendar is None:
        return None
    days = SchoolDays()
    days.add(calendar)
    months: set[tuple[int, int]] = set()
    for term in days.terms:
        months.update((d.year, d.month) for d in days.between(term.start, term.end))
    return months


@dataclass
class Directory:
    units: dict[int, Unit]
    by_kind: dict[UnitKind, list[Unit]]

    @classmethod
    async def load(cls) -> Directory:
        units = await Unit.all().order_by("position", "id")
        by_kind: dict[UnitKind, list[Unit]] = defaultdict(list)
        for unit in units:
            by_kind[unit.kind].append(unit)
        return cls({u.id: u for u in units}, by_kind)

    def within(self, unit: Unit, ancestor_id: int) -> bool:
        """Is `unit` under `ancestor_id` in the unit tree (a township's villages, a bureau's schools)?"""
        seen: set[int] = set()
        parent = unit.parent_id
        while parent is not None and parent not in seen:
            if parent == ancestor_id:
                return True
            seen.add(parent)
            parent = self.units[parent].parent_id if parent in self.units else None
        return False

    def of_party(self, party: DutyParty) -> list[Unit]:
        if party.unit_id is not None:
            return [self.units[party.unit_id]] if party.unit_id in self.units else []
        members = self.by_kind.get(party.unit_kind, []) if party.unit_kind else []
        if party.school_levels:
            members = [u for u in members if u.school_level and u.school_level.value in party.school_levels]
        return members


async def _children_turning_six(school_year: str) -> dict[int, list[str]]:
    """Township id → names of the children registered there who are six by 31 August (适龄入学)."""
    first, _ = _year_bounds(school_year)
    born_from, born_to = date(first - 7, 9, 1), date(first - 6, 8, 31)
    households = dict(await Household.all().values_list("id", "township_id"))
    names: dict[int, list[str]] = defaultdict(list)
    rows = await Student.filter(birth_date__gte=born_from, birth_date__lte=born_to).values_list("name", "household_id")
    for name, household_id in rows:
        names[households[household_id]].append(name)
    return names


async def _pupil_villages() -> dict[int, set[int]]:
    """School id → the villages its pupils' households are registered in (the school's census area)."""
    households = dict(await Household.filter(village_id__not_isnull=True).values_list("id", "village_id"))
    villages: dict[int, set[int]] = defaultdict(set)
    for school_id, household_id in await Student.all().values_list("school_id", "household_id"):
        if household_id in households:
            villages[school_id].add(households[household_id])
    return villages


def kind_cooperators(
    directory: Directory, party: DutyParty, owner: Unit, pupil_villages: dict[int, set[int]]
) -> list[Unit]:
    """Every unit of a kind, as far as it concerns this owner: a township's own villages (or schools
    under it), a school's villages (where its pupils live); a county-wide owner works with all of them."""
    members = directory.of_party(party)
    if owner.kind is UnitKind.TOWNSHIP:
        return [u for u in members if directory.within(u, owner.id)]
    if owner.kind is UnitKind.SCHOOL:
        if party.unit_kind is UnitKind.VILLAGE:
            return [u for u in members if u.id in pupil_villages.get(owner.id, set())]
        return [u for u in members if directory.within(u, owner.id)]
    return members


async def plan_school_year(school_year: str, before_year_only: bool = False) -> CalendarPlan:
    """The year's duty tasks; `before_year_only`: only those that fall before the year begins (generated ahead)."""
    _year_bounds(school_year)  # a malformed year is refused before it reaches the database
    plan = CalendarPlan(school_year)
    calendars = {c.school_id: c for c in await SchoolCalendar.filter(school_year=school_year)}
    calendar = calendars.get(None)
    term_starts = sorted(date.fromisoformat(t["start"]) for t in calendar.terms) if calendar else []
    if not term_starts and not before_year_only:
        plan.warnings.append(f"{school_year} 没有县级校历，按学期的职责（开学清查、毕业生交接）未生成 (no calendar)")
    county_months = school_months(calendar)
    directory = await Directory.load()
    parties: dict[int, list[DutyParty]] = defaultdict(list)
    for party in await DutyParty.all().order_by("position", "id"):
        parties[party.duty_id].append(party)
    turning_six: dict[int, list[str]] | None = None
    pupil_villages: dict[int, set[int]] | None = None
    for duty in await Duty.all().order_by("position", "id"):
        if before_year_only and not duty.deadline_rule.startswith("before-year"):
            continue
        if not periods(duty.deadline_rule, school_year, term_starts):
            continue  # not on the calendar (none, after-event), or no term to count from
        owners = _units(directory, parties[duty.id], PartyRole.OWNER)
        named = tuple(
            u.id
            for p in parties[duty.id]
            if p.role is PartyRole.COOPERATOR and p.unit_id
            for u in directory.of_party(p)
        )
        by_kind = [p for p in parties[duty.id] if p.role is PartyRole.COOPERATOR and p.unit_kind is not None]
        if by_kind and pupil_villages is None:
            pupil_villages = await _pupil_villages()
        subjects = directory.by_kind.get(duty.per_unit_kind, []) if duty.per_unit_kind else [None]
        if duty.lists == "children-turning-six" and turning_six is None:
            turning_six = await _children_turning_six(school_year)
        for owner in owners:
            own = calendars.get(owner.id)
            months = school_months(own) if own is not None else county_months
            occurrences = periods(duty.deadline_rule, school_year, term_starts, months)
            cooperators = named + tuple(
                u.id for p in by_kind for u in kind_cooperators(directory, p, owner, pupil_villages or {})
            )
            for subject in subjects:
                for period in occurrences:
                    plan.items.append(_item(duty, owner, subject, period, cooperators, directory, turning_six))
    plan.existing_keys = await _existing(plan.items)
    return plan


def _units(directory: Directory, parties: Iterable[DutyParty], role: PartyRole) -> list[Unit]:
    seen: dict[int, Unit] = {}
    for party in parties:
        if party.role is role:
            for unit in directory.of_party(party):
                seen.setdefault(unit.id, unit)
    return list(seen.values())


def _item(
    duty: Duty,
    owner: Unit,
    subject: Unit | None,
    period: Period,
    cooperators: tuple[int, ...],
    directory: Directory,
    turning_six: dict[int, list[str]] | None,
) -> CalendarItem:
    title = f"{duty.title}：{subject.name}（{period.label}）" if subject else f"{duty.title}（{period.label}）"
    notes = [f"依据：{duty.clause}；{duty.deadline_text}"]
    partners = list(cooperators)
    if subject is not None:
        partners.append(subject.id)
    middle = directory.units.get(owner.designated_middle_school_id or 0)
    if middle is not None and duty.deadline_rule.startswith("year-start"):
        partners.append(middle.id)
        notes.append(f"指定中学：{middle.name}；报到一周内学生不报到或流失由本校负责，一周后由{middle.name}负责")
    if duty.lists == "children-turning-six" and turning_six is not None:
        names = turning_six.get(owner.id, [])
        notes.append(f"本乡镇年满6周岁适龄儿童（{len(names)}人）：{'、'.join(names) if names else '无登记'}")
    key = f"duty:{duty.code}:{owner.id}:{period.key}" + (f":{subject.id}" if subject else "")
    unique_partners = tuple(dict.fromkeys(p for p in partners if p != owner.id))
    return CalendarItem(key, duty.id, title, "\n".join(notes), owner.id, period.due, unique_partners)


async def _existing(items: Sequence[CalendarItem]) -> set[str]:
    """Which of these tasks exist already: one range scan of the duty tasks due in the same span.

    (Long IN lists of keys make PostgreSQL scan the whole task table once per chunk.)
    """
    if not items:
        return set()
    first, last = min(i.due for i in items), max(i.due for i in items)
    stored = await Task.filter(
        kind=TaskKind.DUTY, due_at__gte=clock.start_of_day(first), due_at__lte=clock.end_of_day(last)
    ).values_list("unique_key", flat=True)
    return set(stored) & {i.key for i in items}


async def generate_school_year(school_year: str, before_year_only: bool = False) -> CalendarPlan:
    """Create the year's missing duty tasks in bulk; returns the plan (its new_items were created)."""
    plan = await plan_school_year(school_year, before_year_only)
    new = plan.new_items
    for start in range(0, len(new), CHUNK):
        chunk = new[start : start + CHUNK]
        try:
            await _insert(chunk)
        except IntegrityError:  # another run created some of these meanwhile: one by one, idempotently
            await _insert_one_by_one(chunk)
    return plan


async def _insert(items: Sequence[CalendarItem]) -> None:
    now = clock.now()
    async with in_transaction():
        await Task.bulk_create(
            [
                Task(
                    title=i.title,
                    description=i.description,
                    kind=TaskKind.DUTY,
                    status=TaskStatus.OPEN,
                    due_at=clock.end_of_day(i.due),
                    assignee_unit_id=i.unit_id,
                    duty_id=i.duty_id,
                    unique_key=i.key,
                    created_at=now,
                    updated_at=now,
                )
                for i in items
            ]
        )
        ids = dict(await Task.filter(unique_key__in=[i.key for i in items]).values_list("unique_key", "id"))
        await TaskCooperator.bulk_create(
            [TaskCooperator(task_id=ids[i.key], unit_id=c) for i in items for c in i.cooperator_ids]
        )
        await TaskEvent.bulk_create(
            [TaskEvent(task_id=ids[i.key], at=now, action="CREATED", changes={"status": [None, "OPEN"]}) for i in items]
        )
        await tasks_changed(
            LiveKind.TASK_CREATED, list(ids.values()), [u for i in items for u in (i.unit_id, *i.cooperator_ids)]
        )


async def _insert_one_by_one(items: Sequence[CalendarItem]) -> None:
    for item in items:
        await create_task(
            title=item.title,
            description=item.description,
            unit=await Unit.get(id=item.unit_id),
            due=item.due,
            kind=TaskKind.DUTY,
            duty=await Duty.get(id=item.duty_id),
            cooperators=await Unit.filter(id__in=list(item.cooperator_ids)),
            unique_key=item.key,
        )
