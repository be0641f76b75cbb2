"""taskClaim, taskStart, taskComplete, taskComment, taskReassign, taskCancel, taskReopen."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.task import TaskType
from models.tasks import Task
from models.users import User
from tasks.errors import DomainError
from tasks.machinery import dispatch
from tasks.queue import workflow


@strawberry.type
class TaskPayload:
    task: TaskType | None = strawberry.field(description="The task as it is now; null if the mutation was refused.")
    user_errors: list[UserError]


@strawberry.type
class TaskClaimPayload(TaskPayload):
    pass


@strawberry.type
class TaskStartPayload(TaskPayload):
    pass


@strawberry.type
class TaskCompletePayload(TaskPayload):
    pass


@strawberry.type
class TaskCommentPayload(TaskPayload):
    pass


@strawberry.type
class TaskPartCompletePayload(TaskPayload):
    pass


@strawberry.type
class TaskReassignPayload(TaskPayload):
    pass


@strawberry.type
class TaskCancelPayload(TaskPayload):
    pass


@strawberry.type
class TaskReopenPayload(TaskPayload):
    pass


@strawberry.input
class TaskClaimInput:
    expected_version: int | None = None


@strawberry.input
class TaskStartInput:
    expected_version: int | None = None


@strawberry.input
class TaskCompleteInput:
    outcome: str = strawberry.field(description="What was done; kept in the history.")
    expected_version: int | None = None


@strawberry.input
class TaskCommentInput:
    text: str
    expected_version: int | None = None


@strawberry.input
class TaskPartCompleteInput:
    note: str = strawberry.field(description="What your unit did for its part; kept in the history.")


@strawberry.input
class TaskReassignInput:
    unit_id: strawberry.ID = strawberry.field(description="The unit that should own the task.")
    reason: str
    expected_version: int | None = None


@strawberry.input
class TaskCancelInput:
    reason: str
    expected_version: int | None = None


@strawberry.input
class TaskReopenInput:
    reason: str
    expected_version: int | None = None


P = TypeVar("P", bound=TaskPayload)


async def _run(info: Info, payload: type[P], task_id: strawberry.ID, act: Callable[[User, int], Awaitable[Task]]) -> P:
    viewer = require_viewer(info)
    try:
        task = await act(viewer, pk_of(task_id, "Task", "id"))
    except DomainError as error:
        return payload(task=None, user_errors=[user_error(error)])
    await dispatch.nudge()  # subscribers and webhooks hear of it; the next step of its case or fact may be due
    return payload(task=TaskType.from_row(task), user_errors=[])


@strawberry.type
class TaskMutations:
    @strawberry.mutation(description="Take the task as yours; your unit must own it.")
    async def task_claim(self, info: Info, id: strawberry.ID, input: TaskClaimInput | None = None) -> TaskClaimPayload:
        version = input.expected_version if input else None
        return await _run(info, TaskClaimPayload, id, lambda u, pk: workflow.claim_task(u, pk, version))

    @strawberry.mutation(description="Start work: OPEN becomes IN_PROGRESS, claimed by you.")
    async def task_start(self, info: Info, id: strawberry.ID, input: TaskStartInput | None = None) -> TaskStartPayload:
        version = input.expected_version if input else None
        return await _run(info, TaskStartPayload, id, lambda u, pk: workflow.start_task(u, pk, version))

    @strawberry.mutation(description="Finish the task with its outcome.")
    async def task_complete(self, info: Info, id: strawberry.ID, input: TaskCompleteInput) -> TaskCompletePayload:
        return await _run(
            info,
            TaskCompletePayload,
            id,
            lambda u, pk: workflow.complete_task(u, pk, input.outcome, input.expected_version),
        )

    @strawberry.mutation(description="Add a comment to the task's history.")
    async def task_comment(self, info: Info, id: strawberry.ID, input: TaskCommentInput) -> TaskCommentPayload:
        return await _run(
            info, TaskCommentPayload, id, lambda u, pk: workflow.comment_task(u, pk, input.text, input.expected_version)
        )

    @strawberry.mutation(
        description="A cooperating unit reports its own part of the task done (a village's share of the census)."
    )
    async def task_part_complete(
        self, info: Info, id: strawberry.ID, input: TaskPartCompleteInput
    ) -> TaskPartCompletePayload:
        return await _run(info, TaskPartCompletePayload, id, lambda u, pk: workflow.complete_part(u, pk, input.note))

    @strawberry.mutation(description="Hand the task to another unit, with the reason.")
    async def task_reassign(self, info: Info, id: strawberry.ID, input: TaskReassignInput) -> TaskReassignPayload:
        async def act(user: User, pk: int) -> Task:
            unit_pk = pk_of(input.unit_id, "Unit", "unitId")
            return await workflow.reassign_task(user, pk, unit_pk, input.reason, input.expected_version)

        return await _run(info, TaskReassignPayload, id, act)

    @strawberry.mutation(description="Cancel an open task (leading-group office).")
    async def task_cancel(self, info: Info, id: strawberry.ID, input: TaskCancelInput) -> TaskCancelPayload:
        return await _run(
            info, TaskCancelPayload, id, lambda u, pk: workflow.cancel_task(u, pk, input.reason, input.expected_version)
        )

    @strawberry.mutation(description="Reopen a done or cancelled task (leading-group office).")
    async def task_reopen(self, info: Info, id: strawberry.ID, input: TaskReopenInput) -> TaskReopenPayload:
        return await _run(
            info, TaskReopenPayload, id, lambda u, pk: workflow.reopen_task(u, pk, input.reason, input.expected_version)
        )
