"""Facts about a child (special groups and events)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.context import Info, require_viewer
from api.ids import global_id
from api.types.connection import Connection
from api.types.nested_lists import FACT_TASKS, nested_page, replaced_by
from api.types.node import Node
from models import clock
from models.facts import DisabilityKind, Fact, FactKind, FactStatus
from models.tasks import Task

if TYPE_CHECKING:
    from api.types.task import TaskType

FactKindEnum = strawberry.enum(FactKind, name="FactKind")
FactStatusEnum = strawberry.enum(FactStatus, name="FactStatus")
DisabilityKindEnum = strawberry.enum(DisabilityKind, name="DisabilityKind")


@strawberry.type(name="Fact", description="A fact about a child that makes work for the departments (四(一)4-7).")
class FactType(Node):
    kind: FactKindEnum  # type: ignore[valid-type]
    status: FactStatusEnum  # type: ignore[valid-type]
    noted_on: dt.date
    source: str
    reason: str
    disability_kind: DisabilityKindEnum | None  # type: ignore[valid-type]
    graded: bool | None
    detail: str = strawberry.field(description="The employer (child working) or destination (family moved away).")
    recorded_at: dt.datetime
    withdrawn_at: dt.datetime | None
    withdrawn_reason: str | None
    _row: strawberry.Private[Fact]

    @classmethod
    def from_row(cls, row: Fact) -> FactType:
        return cls(
            id=global_id("Fact", row.id),
            kind=row.kind,
            status=row.status,
            noted_on=row.noted_on,
            source=row.source,
            reason=row.reason,
            disability_kind=row.disability_kind,
            graded=row.graded,
            detail=row.detail,
            recorded_at=clock.local(row.recorded_at),
            withdrawn_at=clock.local(row.withdrawn_at) if row.withdrawn_at else None,
            withdrawn_reason=row.withdrawn_reason,
            _row=row,
        )

    @strawberry.field(
        description="The tasks this fact created, soonest due first.", deprecation_reason=replaced_by("tasksConnection")
    )
    async def tasks(self, info: Info) -> list[Annotated[TaskType, strawberry.lazy("api.types.task")]]:
        from api.types.task import TaskType

        loader = info.context.loaders.visible_under(require_viewer(info), Task, "fact_id", ("due_at", "id"))
        return [TaskType.from_row(t) for t in await loader.load(self._row.id)]

    @strawberry.field(description="The tasks this fact created, soonest due first.")
    async def tasks_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[TaskType, strawberry.lazy("api.types.task")]]:
        from api.types.task import TaskType

        return await nested_page(FACT_TASKS, require_viewer(info), self._row.id, first, after, TaskType.from_row)
