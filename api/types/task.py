"""Tasks, their history, and the filter every task list shares."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.context import Info, require_viewer
from api.errors import BadUserInput
from api.ids import BadGlobalId, global_id, parse_global_id
from api.types.connection import Connection, page_size, paged
from api.types.duty import DutyType
from api.types.enums import TaskKindEnum, TaskOrderEnum, TaskStatusEnum, UserRoleEnum
from api.types.nested_lists import TASK_HISTORY, nested_page, replaced_by
from api.types.node import Node
from api.types.unit import UnitType
from api.types.user import UserType
from models import clock
from models.cases import Case
from models.tasks import OPEN_STATUSES, Task, TaskEvent
from models.units import Unit
from models.users import User
from tasks.queue.lists import TaskCriteria, TaskOrder, task_page

if TYPE_CHECKING:
    from api.types.case import CaseType
    from api.types.fact import FactType
    from api.types.rule import RuleType


@strawberry.type(description="One field a history line changed.")
class FieldChange:
    field: str
    before: str | None
    after: str | None


@strawberry.type(name="TaskEvent", description="A line of a task's history: who, when, what, before and after.")
class TaskEventType:
    at: dt.datetime
    action: str = strawberry.field(
        description="CREATED, CLAIMED, STARTED, COMPLETED, COMMENTED, REASSIGNED, CANCELLED, REOPENED, ESCALATED "
        "or PART_DONE (a cooperating unit's part)"
    )
    comment: str | None
    changes: list[FieldChange]
    _actor_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: TaskEvent) -> TaskEventType:
        return cls(
            at=clock.local(row.at),
            action=row.action,
            comment=row.comment,
            changes=[
                FieldChange(field=f, before=_text(pair[0]), after=_text(pair[1])) for f, pair in row.changes.items()
            ],
            _actor_id=row.actor_id,
        )

    @strawberry.field(description="Who did it; null for the system's own workers.")
    async def actor(self, info: Info) -> UserType | None:
        if self._actor_id is None:
            return None
        user = await info.context.loaders.user.load(self._actor_id)
        return UserType.from_row(user) if user else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


@strawberry.type(description="A cooperating unit's part of a task.")
class TaskPart:
    unit: UnitType
    done_at: dt.datetime | None = strawberry.field(description="When the unit reported its part done; null if not yet.")
    note: str | None


@strawberry.type(name="Task", description="A piece of work with an owner unit and a deadline.")
class TaskType(Node):
    title: str
    description: str
    kind: TaskKindEnum  # type: ignore[valid-type]
    status: TaskStatusEnum  # type: ignore[valid-type]
    due_at: dt.datetime = strawberry.field(description="The deadline, county time (Asia/Shanghai).")
    due_date: dt.date = strawberry.field(description="The day the task is due, county calendar.")
    overdue: bool = strawberry.field(description="Still open after its deadline, as of now (county time).")
    outcome: str | None
    version: int = strawberry.field(description="Pass as expectedVersion to refuse a change made on a stale copy.")
    created_at: dt.datetime
    updated_at: dt.datetime
    _row: strawberry.Private[Task]

    @classmethod
    def from_row(cls, row: Task) -> TaskType:
        due = clock.local(row.due_at)
        return cls(
            id=global_id("Task", row.id),
            title=row.title,
            description=row.description,
            kind=row.kind,
            status=row.status,
            due_at=due,
            due_date=due.date(),
            overdue=row.status in OPEN_STATUSES and row.due_at < clock.now(),
            outcome=row.outcome,
            version=row.version,
            created_at=clock.local(row.created_at),
            updated_at=clock.local(row.updated_at),
            _row=row,
        )

    @strawberry.field(description="The unit that owns the task.")
    def assignee_unit(self, info: Info) -> UnitType:
        # Lists fetch the unit with the page (one JOIN), so most of the time nothing is awaited here.
        unit = self._row.__dict__.get("_assignee_unit")
        if isinstance(unit, Unit):
            return UnitType.shown(unit, info)
        return self._load_assignee_unit(info)  # type: ignore[return-value]

    async def _load_assignee_unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.assignee_unit_id))

    @strawberry.field(description="The person who claimed it, if anyone has.")
    async def assignee(self, info: Info) -> UserType | None:
        if self._row.assignee_id is None:
            return None
        user = await info.context.loaders.user.load(self._row.assignee_id)
        return UserType.from_row(user) if user else None

    @strawberry.field(description="Units that work with the owner on this task and see it in their queue.")
    async def cooperating_units(self, info: Info) -> list[UnitType]:
        links = await info.context.loaders.cooperators.load(self._row.id)
        return [UnitType.from_row(u) for u in await info.context.loaders.units([c.unit_id for c in links])]

    @strawberry.field(description="Each cooperating unit's own part: whether it reported it done, and what it did.")
    async def parts(self, info: Info) -> list[TaskPart]:
        links = await info.context.loaders.cooperators.load(self._row.id)
        units = {u.id: u for u in await info.context.loaders.units([c.unit_id for c in links])}
        return [
            TaskPart(
                unit=UnitType.from_row(units[c.unit_id]),
                done_at=clock.local(c.part_done_at) if c.part_done_at else None,
                note=c.part_note,
            )
            for c in links
            if c.unit_id in units
        ]

    @strawberry.field(description="The duty of the plan this task carries out, if any.")
    async def duty(self, info: Info) -> DutyType | None:
        if self._row.duty_id is None:
            return None
        duty = await info.context.loaders.duty.load(self._row.duty_id)
        return DutyType.from_row(duty) if duty else None

    @strawberry.field(
        description="Who inside the owner unit should act (head teacher, 教务处, principal), if it matters."
    )
    def assignee_role(self) -> UserRoleEnum | None:  # type: ignore[valid-type]
        return self._row.assignee_role

    @strawberry.field(description="The case this task is a step of, if any.")
    def case(self, info: Info) -> Annotated[CaseType, strawberry.lazy("api.types.case")] | None:
        from api.types.case import CaseType

        if self._row.case_id is None:
            return None
        # The queue fetches the case (and its student) with the page, so then nothing is awaited here.
        case = self._row.__dict__.get("_case")
        if isinstance(case, Case):
            return CaseType.from_row(case)
        return self._load_case(info)  # type: ignore[return-value]

    async def _load_case(self, info: Info) -> CaseType:
        from api.types.case import CaseType

        return CaseType.from_row(await info.context.loaders.case.load(self._row.case_id))

    @strawberry.field(description="The rule of the county's policy that created this task, if a rule did.")
    async def rule(self, info: Info) -> Annotated[RuleType, strawberry.lazy("api.types.rule")] | None:
        from api.types.rule import RuleType

        if self._row.rule_id is None:
            return None
        row = await info.context.loaders.rule.load(self._row.rule_id)
        return RuleType.from_row(row) if row else None

    @strawberry.field(description="The fact about a child that called for this task, if one did.")
    async def fact(self, info: Info) -> Annotated[FactType, strawberry.lazy("api.types.fact")] | None:
        from api.types.fact import FactType

        if self._row.fact_id is None:
            return None
        row = await info.context.loaders.fact.load(self._row.fact_id)
        return FactType.from_row(row) if row else None

    @strawberry.field(description="When the rule fixes the outcomes, taskComplete's outcome must be one of these.")
    def outcome_options(self) -> list[str] | None:
        return self._row.outcome_options

    @strawberry.field(description="0; 1 when escalated to the owner unit's leader; 2 when to the leading-group office.")
    def escalation_level(self) -> int:
        return self._row.escalation_level

    @strawberry.field(
        description="Why this task is in the viewer's queue: owner or cooperator, and by which rule or duty."
    )
    async def why_mine(self, info: Info) -> str:
        viewer = info.context.viewer
        row = self._row
        if viewer is not None and viewer.unit_id == row.assignee_unit_id:
            part = "本单位承办"
        elif viewer is not None and any(
            c.unit_id == viewer.unit_id for c in await info.context.loaders.cooperators.load(row.id)
        ):
            part = "本单位协办"
        else:
            part = "领导小组办公室督办" if viewer is not None and viewer.sees_every_unit else "可见"
        source = ""
        if row.rule_id is not None:
            rule = await info.context.loaders.rule.load(row.rule_id)
            source = f"规则 {rule.code}（{rule.clause} {rule.title}）" if rule else ""
        if row.duty_id is not None:
            duty = await info.context.loaders.duty.load(row.duty_id)
            if duty:
                source = (source + "；" if source else "") + f"职责 {duty.clause} {duty.title}"
        if row.escalation_level:
            source = (source + "；" if source else "") + f"已逾期升级（第{row.escalation_level}级）"
        return f"{part}：{source}" if source else part

    @strawberry.field(description="Every change, oldest first.", deprecation_reason=replaced_by("historyConnection"))
    async def history(self, info: Info) -> list[TaskEventType]:
        return [TaskEventType.from_row(e) for e in await info.context.loaders.task_events.load(self._row.id)]

    @strawberry.field(description="Every change, oldest first.")
    async def history_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TaskEventType]:
        return await nested_page(TASK_HISTORY, require_viewer(info), self._row.id, first, after, TaskEventType.from_row)


@strawberry.input(description="Narrow a task list; every field is optional and they combine with AND.")
class TaskFilter:
    status: list[TaskStatusEnum] | None = None  # type: ignore[valid-type]
    duty_id: strawberry.ID | None = None
    assignee_unit_id: strawberry.ID | None = None
    kind: TaskKindEnum | None = None  # type: ignore[valid-type]
    overdue: bool | None = None
    due_before: dt.date | None = strawberry.field(default=None, description="Due on or before this day.")
    due_after: dt.date | None = strawberry.field(default=None, description="Due on or after this day.")
    escalated: bool | None = strawberry.field(default=None, description="Escalated for being overdue (level >= 1).")


def _pk(value: strawberry.ID | None, type_name: str, field: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_global_id(value, type_name)[1]
    except BadGlobalId as exc:
        raise BadUserInput(f"filter.{field}: {exc}") from exc


def criteria_of(task_filter: TaskFilter | None) -> TaskCriteria:
    if task_filter is None:
        return TaskCriteria()
    return TaskCriteria(
        statuses=tuple(task_filter.status) if task_filter.status else None,
        duty_id=_pk(task_filter.duty_id, "Duty", "dutyId"),
        assignee_unit_id=_pk(task_filter.assignee_unit_id, "Unit", "assigneeUnitId"),
        kind=task_filter.kind,
        overdue=task_filter.overdue,
        due_before=task_filter.due_before,
        due_after=task_filter.due_after,
        escalated=task_filter.escalated,
    )


async def task_connection(
    viewer: User,
    criteria: TaskCriteria,
    order_by: TaskOrderEnum,  # type: ignore[valid-type]
    first: int | None,
    after: str | None,
    *,
    own_queue: bool = False,
) -> Connection[TaskType]:
    """Tasks the viewer may see: every task for the office, else their unit's own and shared ones.

    `own_queue` limits even the office to its own unit's work (the viewer's queue).
    """
    size = page_size(first)
    scope = viewer if own_queue or not viewer.sees_every_unit else None
    order = TaskOrder(order_by)
    return await paged(lambda: task_page(criteria, order, size, after, scope), TaskType.from_row)
