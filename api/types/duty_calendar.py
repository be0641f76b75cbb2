"""The calendar of duties as a preview, and the daily digests."""

from __future__ import annotations

import datetime as dt

import strawberry
from tortoise.queryset import QuerySet

from api.context import Info, require_viewer
from api.types.connection import Connection, page_size, paged
from api.types.duty import DutyType
from api.types.nested_lists import OLDEST_FIRST, replaced_by
from api.types.task import TaskType
from api.types.unit import UnitType
from models.paging import keyset_page
from models.rules import Digest
from models.tasks import Task
from tasks.access import visible
from tasks.duties.calendar import CalendarItem, CalendarPlan


@strawberry.type(description="A task the duty calendar would create (or has created).")
class DutyCalendarItem:
    title: str
    description: str
    due_date: dt.date
    exists: bool = strawberry.field(description="Already created by an earlier generation.")
    _item: strawberry.Private[CalendarItem]

    @strawberry.field
    async def unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._item.unit_id))

    @strawberry.field
    async def duty(self, info: Info) -> DutyType:
        return DutyType.from_row(await info.context.loaders.duty.load(self._item.duty_id))

    @strawberry.field
    async def cooperating_units(self, info: Info) -> list[UnitType]:
        return [UnitType.from_row(u) for u in await info.context.loaders.units(self._item.cooperator_ids)]


@strawberry.type(description="What generating a school year's duty calendar creates; nothing is written.")
class DutyCalendarPreview:
    school_year: str
    total: int = strawberry.field(description="Tasks the year's calendar holds.")
    to_create: int = strawberry.field(description="Of those, how many do not exist yet.")
    warnings: list[str]
    _plan: strawberry.Private[CalendarPlan]

    @strawberry.field(description="The items, in duty order; `first` caps the list (at most 100).")
    def items(self, first: int = 20, only_new: bool = True) -> list[DutyCalendarItem]:
        chosen = self._plan.new_items if only_new else self._plan.items
        return [
            DutyCalendarItem(
                title=i.title,
                description=i.description,
                due_date=i.due,
                exists=i.key in self._plan.existing_keys,
                _item=i,
            )
            for i in chosen[: max(0, min(first, 100))]
        ]

    @classmethod
    def of(cls, plan: CalendarPlan) -> DutyCalendarPreview:
        return cls(
            school_year=plan.school_year,
            total=len(plan.items),
            to_create=len(plan.new_items),
            warnings=plan.warnings,
            _plan=plan,
        )


@strawberry.type(name="Digest", description="A unit's one message of the day: tasks coming due, tasks escalated to it.")
class DigestType:
    day: dt.date
    _row: strawberry.Private[Digest]

    @strawberry.field
    async def unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.unit_id))

    @strawberry.field(
        description="Open tasks due within the reminder window, oldest task first.",
        deprecation_reason=replaced_by("remindersConnection"),
    )
    async def reminders(self, info: Info) -> list[TaskType]:
        return [TaskType.from_row(t) for t in await _tasks(info, self._row.reminders).order_by("id")]

    @strawberry.field(description="Open tasks due within the reminder window, oldest task first.")
    async def reminders_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TaskType]:
        return await _task_page(info, self._row.reminders, first, after)

    @strawberry.field(
        description="Overdue tasks escalated to this unit (its own, or any, for the office), oldest task first.",
        deprecation_reason=replaced_by("escalationsConnection"),
    )
    async def escalations(self, info: Info) -> list[TaskType]:
        return [TaskType.from_row(t) for t in await _tasks(info, self._row.escalations).order_by("id")]

    @strawberry.field(
        description="Overdue tasks escalated to this unit (its own, or any, for the office), oldest task first."
    )
    async def escalations_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TaskType]:
        return await _task_page(info, self._row.escalations, first, after)


def _tasks(info: Info, ids: list[int]) -> QuerySet[Task]:
    """Of the digest's tasks, those the viewer may see (a head teacher reads the school's digest)."""
    return Task.filter(visible(Task, require_viewer(info)), id__in=ids)


async def _task_page(info: Info, ids: list[int], first: int | None, after: str | None) -> Connection[TaskType]:
    """The digest's tasks the viewer may see by keyset on the task's id, the order the digest keeps them in."""
    size = page_size(first)
    return await paged(lambda: keyset_page([_tasks(info, ids)], OLDEST_FIRST, size, after), TaskType.from_row)
