"""Accountability measures (约谈, 通报, 限期整改) as the API shows them."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.context import Info
from api.ids import global_id
from api.types.node import Node
from api.types.task import TaskType
from api.types.unit import UnitType
from api.types.user import UserType
from models import clock
from models.office import AccountabilityCause, AccountabilityMeasure, MeasureKind
from tasks.queue.workflow import visible_task

MeasureKindEnum = strawberry.enum(
    MeasureKind, name="MeasureKind", description="INTERVIEW 约谈, NOTICE 通报, RECTIFICATION 限期整改."
)


@strawberry.type(description="A target (二) the unit failed in a school year, as recorded with the measure.")
class FailedIndicator:
    indicator: str = strawberry.field(description="The target's code in the policy file, e.g. enrolment.")
    name: str
    school_year: str
    value: float | None
    target: float


@strawberry.type(
    name="AccountabilityMeasure", description="A measure the office took against a unit (四(一)1, 五(一))."
)
class AccountabilityMeasureType(Node):
    kind: MeasureKindEnum  # type: ignore[valid-type]
    school_year: str
    summary: str
    decided_on: dt.date
    deadline: dt.date | None = strawberry.field(description="限期整改: by when it must be put right.")
    recorded_at: dt.datetime
    indicators: list[FailedIndicator]
    _row: strawberry.Private[AccountabilityMeasure]

    @classmethod
    def from_row(cls, row: AccountabilityMeasure) -> AccountabilityMeasureType:
        return cls(
            id=global_id("AccountabilityMeasure", row.id),
            kind=row.kind,
            school_year=row.school_year,
            summary=row.summary,
            decided_on=row.decided_on,
            deadline=row.deadline,
            recorded_at=clock.local(row.recorded_at),
            indicators=[
                FailedIndicator(
                    indicator=i["indicator"],
                    name=i.get("name", ""),
                    school_year=i["schoolYear"],
                    value=i.get("value"),
                    target=i.get("target", 0.0),
                )
                for i in row.indicators
            ],
            _row=row,
        )

    @strawberry.field(description="The unit held to account.")
    async def unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.unit_id))

    @strawberry.field(description="限期整改: the task the unit must complete by the deadline (escalates if late).")
    async def task(self, info: Info) -> TaskType | None:
        if self._row.task_id is None or info.context.viewer is None:
            return None
        row = await visible_task(info.context.viewer, self._row.task_id)
        return TaskType.from_row(row) if row else None

    @strawberry.field(description="The overdue or late tasks that caused it (those the viewer may see).")
    async def causes(self, info: Info) -> list[TaskType]:
        viewer = info.context.viewer
        found = []
        for cause in await AccountabilityCause.filter(measure_id=self._row.id).order_by("id"):
            row = await visible_task(viewer, cause.task_id) if viewer else None
            if row is not None:
                found.append(TaskType.from_row(row))
        return found

    @strawberry.field(description="Who in the office recorded it.")
    async def recorded_by(self, info: Info) -> UserType | None:
        if self._row.recorded_by_id is None:
            return None
        row = await info.context.loaders.user.load(self._row.recorded_by_id)
        return UserType.from_row(row) if row else None
