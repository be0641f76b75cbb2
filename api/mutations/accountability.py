"""accountabilityMeasureRecord: 约谈, 通报, 限期整改 against a unit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.accountability import AccountabilityMeasureType, MeasureKindEnum
from models.office import MeasureKind
from tasks.errors import DomainError
from tasks.office.accountability import FailedIndicator, record_measure


@strawberry.input(description="A target (二) the unit failed: its code in the policy file and the school year.")
class FailedIndicatorInput:
    indicator: str = strawberry.field(description="enrolment, disabled-enrolment, care-groups-enrolment, ...")
    school_year: str = strawberry.field(description="Like 2026-2027.")
    value: float | None = strawberry.field(default=None, description="The rate reached (0-1), if known.")


@strawberry.input
class AccountabilityMeasureRecordInput:
    kind: MeasureKindEnum  # type: ignore[valid-type]
    summary: str = strawberry.field(description="What was decided, as the office writes it.")
    task_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The unit's overdue, late or escalated tasks that caused it."
    )
    indicators: list[FailedIndicatorInput] = strawberry.field(
        default_factory=list, description="The targets the unit failed."
    )
    deadline: dt.date | None = strawberry.field(default=None, description="限期整改 only: put right by this day.")
    decided_on: dt.date | None = strawberry.field(default=None, description="Default: today.")


@strawberry.type
class AccountabilityMeasureRecordPayload:
    measure: AccountabilityMeasureType | None
    user_errors: list[UserError]


@strawberry.type
class AccountabilityMutations:
    @strawberry.mutation(
        description="Record 约谈, 通报 or 限期整改 against a unit (leading-group office), linked to what caused it; "
        "限期整改 becomes a task for the unit with the deadline."
    )
    async def accountability_measure_record(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The unit held to account.")],
        input: AccountabilityMeasureRecordInput,
    ) -> AccountabilityMeasureRecordPayload:
        viewer = require_viewer(info)
        try:
            measure = await record_measure(
                viewer,
                kind=MeasureKind(input.kind),
                unit_id=pk_of(id, "Unit", "id"),
                summary=input.summary,
                task_ids=[pk_of(t, "Task", "taskIds") for t in input.task_ids],
                indicators=[FailedIndicator(i.indicator, i.school_year, i.value) for i in input.indicators],
                deadline=input.deadline,
                decided_on=input.decided_on,
            )
        except DomainError as error:
            return AccountabilityMeasureRecordPayload(measure=None, user_errors=[user_error(error)])
        return AccountabilityMeasureRecordPayload(measure=AccountabilityMeasureType.from_row(measure), user_errors=[])
