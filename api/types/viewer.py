"""The signed-in user and their unit's queue."""

from __future__ import annotations

import strawberry

from api.context import Info
from api.types.connection import Connection
from api.types.enums import TaskOrderEnum
from api.types.task import TaskFilter, TaskType, criteria_of, task_connection
from api.types.unit import UnitType
from api.types.user import UserType
from models.users import User
from tasks.queue.lists import TaskOrder, queue_criteria


@strawberry.type(description="Who is signed in, and what waits for their unit.")
class Viewer:
    _user: strawberry.Private[User]

    @strawberry.field
    def user(self) -> UserType:
        return UserType.from_row(self._user)

    @strawberry.field
    async def unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._user.unit_id))

    @strawberry.field(
        description="Open tasks of the viewer's unit and those it cooperates on, soonest due first. "
        "Pass filter.status to see other statuses."
    )
    async def task_queue(
        self,
        filter: TaskFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: TaskOrderEnum = TaskOrder.DUE_SOONEST,  # type: ignore[valid-type]
    ) -> Connection[TaskType]:
        criteria = queue_criteria(criteria_of(filter))
        return await task_connection(self._user, criteria, order_by, first, after, own_queue=True)
