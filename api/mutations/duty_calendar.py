"""dutyCalendarGenerate."""

from __future__ import annotations

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.types.duty_calendar import DutyCalendarPreview
from tasks.duties.calendar import generate_school_year, plan_school_year
from tasks.errors import DomainError, ErrorCode


@strawberry.input
class DutyCalendarGenerateInput:
    school_year: str = strawberry.field(description="Like 2026-2027.")


@strawberry.type
class DutyCalendarGeneratePayload:
    created: int
    calendar: DutyCalendarPreview | None
    user_errors: list[UserError]


@strawberry.type
class DutyCalendarMutations:
    @strawberry.mutation(description="Create the school year's duty tasks (leading-group office). Safe to run twice.")
    async def duty_calendar_generate(self, info: Info, input: DutyCalendarGenerateInput) -> DutyCalendarGeneratePayload:
        viewer = require_viewer(info)
        try:
            if not viewer.sees_every_unit:
                raise DomainError(ErrorCode.FORBIDDEN, "只有领导小组办公室可以生成职责日历 (office only)", "schoolYear")
            try:
                plan = await generate_school_year(input.school_year)
                after = await plan_school_year(input.school_year)  # the calendar as it is now: nothing left to create
            except ValueError as exc:
                raise DomainError(ErrorCode.INVALID, str(exc), "schoolYear") from exc
        except DomainError as error:
            return DutyCalendarGeneratePayload(created=0, calendar=None, user_errors=[user_error(error)])
        return DutyCalendarGeneratePayload(
            created=len(plan.new_items), calendar=DutyCalendarPreview.of(after), user_errors=[]
        )
