"""crossCheckRun: start the cross-check of the roll with the population register and the census (四(一)3)."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.types.population import CrossCheckRunType
from tasks.errors import DomainError
from tasks.machinery import dispatch
from tasks.registers.crosscheck import start_run


@strawberry.input
class CrossCheckRunInput:
    as_of: dt.date | None = strawberry.field(
        default=None, description="The date to check as of; default the county's date (31 August) last passed."
    )


@strawberry.type
class CrossCheckRunPayload:
    run: CrossCheckRunType | None
    user_errors: list[UserError]


@strawberry.type
class PopulationMutations:
    @strawberry.mutation(
        description="Start a cross-check run (police, education bureau, office). It runs in the worker; "
        "read its status and summary from the run, its findings from crossCheckFindings."
    )
    async def cross_check_run(self, info: Info, input: CrossCheckRunInput | None = None) -> CrossCheckRunPayload:
        viewer = require_viewer(info)
        try:
            run = await start_run(viewer, input.as_of if input else None)
        except DomainError as error:
            return CrossCheckRunPayload(run=None, user_errors=[user_error(error)])
        await dispatch.crosscheck(run.id)
        return CrossCheckRunPayload(run=CrossCheckRunType.from_row(run), user_errors=[])
