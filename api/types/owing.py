"""Who owes what (the office's figures): every number opens the tasks or cases behind it."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import strawberry

from api.context import Info, require_viewer
from api.types.case import CaseKindEnum, CaseStageEnum, CaseType
from api.types.connection import Connection, page_size, paged
from api.types.duty import DutyType
from api.types.nested_lists import IN_POSITION, listed_connection, replaced_by
from api.types.rule import RuleType
from api.types.task import TaskType, task_connection
from api.types.unit import UnitType
from models import clock
from models.units import Unit
from tasks.ladder.case_queries import CaseCriteria, case_page
from tasks.office import owing
from tasks.office.owing import CaseFigure, Period, Scope, TaskFigure
from tasks.queue.lists import TaskCriteria, TaskOrder

TaskFigureEnum = strawberry.enum(
    TaskFigure, name="TaskFigure", description="Which of a row's numbers: the set of tasks behind it."
)
CaseFigureEnum = strawberry.enum(
    CaseFigure, name="CaseFigure", description="Which of a row's numbers: the set of cases behind it."
)


@strawberry.type(description="Counts of tasks due in the period (cancelled ones aside), as of now.")
class TaskFigures:
    total: int
    open: int
    due_soon: int = strawberry.field(description="Open and due by the end of the 7th day from today.")
    overdue: int
    escalated: int
    done_on_time: int
    done_late: int
    median_hours_to_close: float | None = strawberry.field(description="From creation to done; null if none done.")
    share_done_by_deadline: float | None = strawberry.field(
        description="Done on time ÷ the tasks done or past their deadline (0-1); null if none is either."
    )

    @classmethod
    def of(cls, counts: owing.TaskCounts) -> TaskFigures:
        return cls(
            total=counts.total,
            open=counts.open,
            due_soon=counts.due_soon,
            overdue=counts.overdue,
            escalated=counts.escalated,
            done_on_time=counts.done_on_time,
            done_late=counts.done_late,
            median_hours_to_close=counts.median_hours_to_close,
            share_done_by_deadline=counts.share_done_by_deadline,
        )


@strawberry.type(description="A month's figures (by the deadline's county month).")
class MonthTaskFigures:
    month: str = strawberry.field(description="Like 2026-09.")
    figures: TaskFigures


async def _tasks(info: Info, criteria: TaskCriteria, first: int | None, after: str | None) -> Connection[TaskType]:
    return await task_connection(require_viewer(info), criteria, TaskOrder.DUE_SOONEST, first, after)


def _criteria(period: Period, figure: TaskFigure, **more: Any) -> TaskCriteria:
    return TaskCriteria(due_after=period.first, due_before=period.last, condition=owing.task_condition(figure), **more)


@strawberry.type(description="One unit's tasks due in the period.")
class UnitOwing:
    unit: UnitType
    figures: TaskFigures
    _period: strawberry.Private[Period]
    _overview: strawberry.Private[Owing]

    @strawberry.field(description="The same figures month by month.")
    async def trend(self) -> list[MonthTaskFigures]:
        by_unit = await self._overview.unit_trends()
        months = by_unit.get(int(self.unit._row.id), [])
        return [MonthTaskFigures(month=m.month, figures=TaskFigures.of(m.counts)) for m in months]

    @strawberry.field(description="The tasks behind one of the figures (by default all of them).")
    async def tasks(
        self,
        info: Info,
        figure: TaskFigureEnum = TaskFigure.ALL,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaskType]:
        criteria = _criteria(self._period, TaskFigure(figure), assignee_unit_id=self.unit._row.id)
        return await _tasks(info, criteria, first, after)


@strawberry.type(description="A month of one duty: its tasks due, and how many are done.")
class DutyMonth:
    month: str
    task_count: int
    done_count: int


@strawberry.type(description="A duty of the register (by clause): which of the units that owe it have done it.")
class DutyCompliance:
    duty: DutyType
    clause: str
    owing_units: int = strawberry.field(description="Units with a task of this duty due in the period.")
    done_units: int = strawberry.field(description="Of them, those whose every such task is done.")
    task_count: int
    done_task_count: int
    trend: list[DutyMonth]
    _ids: strawberry.Private[list[int]]
    _period: strawberry.Private[Period]
    _scope: strawberry.Private[Scope]
    _duty_id: strawberry.Private[int]

    @strawberry.field(
        description="The units that owe it and have not done it all, in the county's order.",
        deprecation_reason=replaced_by("unitsNotDoneConnection"),
    )
    async def units_not_done(self, info: Info) -> list[UnitType]:
        return [UnitType.from_row(u) for u in await info.context.loaders.units(self._ids)]

    @strawberry.field(description="The units that owe it and have not done it all, in the county's order.")
    async def units_not_done_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[UnitType]:
        # Computed with the figures (tasks/office/owing.py), not a query: the units of the plain list, paged
        # in memory with the cursors of a unit's children (position, then id), the order the figures keep.
        rows = await info.context.loaders.units(self._ids)
        return await listed_connection(Unit, rows, IN_POSITION, first, after, UnitType.from_row)

    @strawberry.field(description="The duty's tasks behind a figure (OPEN: what the units not done still owe).")
    async def tasks(
        self,
        info: Info,
        figure: TaskFigureEnum = TaskFigure.ALL,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaskType]:
        criteria = _criteria(self._period, TaskFigure(figure), duty_id=self._duty_id, unit_ids=self._scope.unit_ids)
        return await _tasks(info, criteria, first, after)


@strawberry.type(description="Cases active in the period, counted one way (a kind, a stage, a township, or all).")
class CaseCount:
    kind: CaseKindEnum | None  # type: ignore[valid-type]
    stage: CaseStageEnum | None  # type: ignore[valid-type]
    township: UnitType | None
    active: int = strawberry.field(description="Open at some moment of the period.")
    open: int = strawberry.field(description="Open now.")
    opened: int = strawberry.field(description="Opened in the period.")
    closed: int = strawberry.field(description="Closed in the period (returned to school, or closed otherwise).")
    _period: strawberry.Private[Period]
    _scope: strawberry.Private[Scope]

    @strawberry.field(description="The cases behind one of the figures (by default the active ones).")
    async def cases(
        self,
        info: Info,
        figure: CaseFigureEnum = CaseFigure.ACTIVE,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CaseType]:
        viewer = require_viewer(info)
        size = page_size(first)
        condition = owing.case_condition(CaseFigure(figure), self._period)
        if self._scope.case_units is not None:
            condition &= owing.case_scope_condition(Scope(None, self._scope.case_units, None))
        criteria = CaseCriteria(
            kind=self.kind,
            stage=self.stage,
            township_id=self.township._row.id if self.township else None,
            condition=condition,
        )
        return await paged(lambda: case_page(viewer, criteria, size, after), CaseType.from_row)


@strawberry.type(description="A month of one ladder step: steps created, and how many closed within the expectation.")
class StepMonth:
    month: str
    count: int
    within_expectation: int


EXPECTATIONS = {0: "当日", 1: "次日"}


@strawberry.type(description="How long one ladder step took, against the plan's expectation (its due).")
class LadderStepTiming:
    rule: RuleType
    expected_school_days: int = strawberry.field(description="0: the same day; 1: the next school day; ...")
    expectation: str = strawberry.field(description="当日, 次日, or N个上学日内.")
    count: int
    done: int
    within_expectation: int = strawberry.field(description="Done by the step's deadline.")
    overdue: int = strawberry.field(description="Still open past the deadline.")
    median_hours: float | None
    slowest_hours: float | None
    share_within_expectation: float | None
    trend: list[StepMonth]
    _rule_id: strawberry.Private[int]
    _period: strawberry.Private[Period]
    _scope: strawberry.Private[Scope]

    @strawberry.field(description="The step's tasks behind a figure (DONE_ON_TIME: within the expectation).")
    async def tasks(
        self,
        info: Info,
        figure: TaskFigureEnum = TaskFigure.ALL,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaskType]:
        condition = owing.step_condition(self._rule_id, self._period) & owing.task_condition(TaskFigure(figure))
        criteria = TaskCriteria(condition=condition, unit_ids=self._scope.unit_ids)
        return await _tasks(info, criteria, first, after)


@strawberry.type(description="A month of cases: opened and closed.")
class CaseMonthFigures:
    month: str
    opened: int
    closed: int


@strawberry.type(description="Cases of suspected dropout and the ladder's timeliness in the period.")
class CaseFigures:
    _overview: strawberry.Private[Owing]

    async def _counts(self, info: Info, key: str) -> list[CaseCount]:
        merged = (await self._overview.case_counts())[key]
        townships: dict[int, Unit] = {}
        if key == "township_id":
            townships = {u.id: u for u in await info.context.loaders.units([k for k in merged if k is not None])}
        found = []
        for k, (active, open_, opened, closed) in merged.items():
            found.append(
                CaseCount(
                    kind=k if key == "kind" else None,
                    stage=k if key == "stage" else None,
                    township=UnitType.from_row(townships[k]) if key == "township_id" and k in townships else None,
                    active=active,
                    open=open_,
                    opened=opened,
                    closed=closed,
                    _period=self._overview.period,
                    _scope=self._overview.scope,
                )
            )
        return sorted(found, key=lambda c: str(c.kind or c.stage or (c.township._row.position if c.township else "")))

    @strawberry.field(description="Every case active in the period.")
    async def totals(self, info: Info) -> CaseCount:
        rows = await self._counts(info, "")
        if rows:
            return rows[0]
        return CaseCount(
            kind=None, stage=None, township=None, active=0, open=0, opened=0, closed=0,
            _period=self._overview.period, _scope=self._overview.scope,
        )  # fmt: skip

    @strawberry.field(description="By kind of case (附件1 控辍范围).")
    async def by_kind(self, info: Info) -> list[CaseCount]:
        return await self._counts(info, "kind")

    @strawberry.field(description="By how far the ladder has gone.")
    async def by_stage(self, info: Info) -> list[CaseCount]:
        return await self._counts(info, "stage")

    @strawberry.field(description="By township of household registration.")
    async def by_township(self, info: Info) -> list[CaseCount]:
        return await self._counts(info, "township_id")

    @strawberry.field(description="Each ladder step created in the period: time to close against the plan.")
    async def steps(self) -> list[LadderStepTiming]:
        found = await owing.step_figures(self._overview.period, self._overview.scope)
        return [
            LadderStepTiming(
                rule=RuleType.from_row(s.rule),
                expected_school_days=s.expected_school_days,
                expectation=EXPECTATIONS.get(s.expected_school_days, f"{s.expected_school_days}个上学日内"),
                count=s.count,
                done=s.done,
                within_expectation=s.within_expectation,
                overdue=s.overdue,
                median_hours=s.median_hours,
                slowest_hours=s.slowest_hours,
                share_within_expectation=s.share_within_expectation,
                trend=[StepMonth(month=m, count=n, within_expectation=w) for m, n, w in s.trend],
                _rule_id=s.rule.id,
                _period=self._overview.period,
                _scope=self._overview.scope,
            )
            for s in found
        ]

    @strawberry.field(description="Cases opened and closed, month by month.")
    async def trend(self) -> list[CaseMonthFigures]:
        months = await owing.case_trend(self._overview.period, self._overview.scope)
        return [CaseMonthFigures(month=m.month, opened=m.opened, closed=m.closed) for m in months]


@strawberry.type(description="Who owes what over a period: the office sees every unit, any other unit its own rows.")
class Owing:
    since: dt.date = strawberry.field(name="from")
    until: dt.date = strawberry.field(name="to")
    as_of: dt.datetime = strawberry.field(description="The moment the open and overdue figures are counted at.")
    period: strawberry.Private[Period]
    scope: strawberry.Private[Scope]
    _cache: strawberry.Private[dict[str, Any]]

    async def _once(self, key: str, compute: Any) -> Any:
        """Sibling fields resolve concurrently: the first starts the work, the others await the same result."""
        if key not in self._cache:
            self._cache[key] = asyncio.ensure_future(compute())
        return await self._cache[key]

    async def unit_trends(self) -> dict[int | None, list[owing.MonthFigures]]:
        return await self._once("unit_trends", lambda: owing.task_trend(self.period, self.scope, by_unit=True))

    async def summary(self) -> owing.TaskSummary:
        return await self._once("summary", lambda: owing.task_summary(self.period, self.scope))

    async def case_counts(self) -> dict[str, dict[Any, tuple[int, int, int, int]]]:
        return await self._once("case_counts", lambda: owing.case_counts(self.period, self.scope))

    @strawberry.field(description="Every task of the scope due in the period.")
    async def totals(self) -> TaskFigures:
        return TaskFigures.of((await self.summary()).totals)

    @strawberry.field(description="The tasks behind one of the totals.")
    async def tasks(
        self,
        info: Info,
        figure: TaskFigureEnum = TaskFigure.ALL,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaskType]:
        return await _tasks(
            info, _criteria(self.period, TaskFigure(figure), unit_ids=self.scope.unit_ids), first, after
        )

    @strawberry.field(description="The totals month by month.")
    async def trend(self) -> list[MonthTaskFigures]:
        months = (await self.summary()).trend
        return [MonthTaskFigures(month=m.month, figures=TaskFigures.of(m.counts)) for m in months]

    @strawberry.field(description="One row per unit with tasks due in the period, in the county's order.")
    async def units(self, info: Info) -> list[UnitOwing]:
        rows = (await self.summary()).units
        units = {u.id: u for u in await info.context.loaders.units([r.unit_id for r in rows])}
        return [
            UnitOwing(
                unit=UnitType.from_row(units[r.unit_id]),
                figures=TaskFigures.of(r.counts),
                _period=self.period,
                _overview=self,
            )
            for r in rows
            if r.unit_id in units
        ]

    @strawberry.field(description="Each duty of the register with tasks due in the period.")
    async def duties(self) -> list[DutyCompliance]:
        found = (await self.summary()).duties
        return [
            DutyCompliance(
                duty=DutyType.from_row(d.duty),
                clause=d.duty.clause,
                owing_units=d.owing_units,
                done_units=d.done_units,
                task_count=d.tasks,
                done_task_count=d.done_tasks,
                trend=[DutyMonth(month=m, task_count=n, done_count=done) for m, n, done in d.trend],
                _ids=d.not_done_unit_ids,
                _period=self.period,
                _scope=self.scope,
                _duty_id=d.duty.id,
            )
            for d in found
        ]

    @strawberry.field(description="Cases and the ladder's timeliness.")
    def cases(self) -> CaseFigures:
        return CaseFigures(_overview=self)

    @classmethod
    def of(cls, period: Period, scope: Scope) -> Owing:
        return cls(
            since=period.first, until=period.last, as_of=clock.local(clock.now()), period=period, scope=scope, _cache={}
        )
