"""Subscriptions (graphql-transport-ws only), pushed: a unit's queue, one case's timeline, the office's escalations.

Each first sends the current state (so a client that reconnects is up to date), then waits on the
live hub (api/live.py) for a bus message that concerns it; nothing polls the database. What a
subscriber receives is what the same viewer's lists and `node(id:)` show: the queue's own filters,
`case_visible` and `steers` of tasks/access.py. A revoked token's sockets are closed by the hub.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.context import Info, require_viewer
from api.errors import BadUserInput, Forbidden
from api.ids import BadGlobalId, parse_global_id
from api.live import ESCALATIONS, REVOKED_CLOSE_CODE, case_key, hub, unit_key
from api.loaders import Loaders
from api.types.case import CaseType
from api.types.task import TaskType
from models import clock
from models.cases import Case
from models.tasks import OPEN_STATUSES, Task
from models.users import User, UserRole
from tasks.access import case_visible, steers
from tasks.queue.lists import TaskCriteria, queue_criteria, unit_task_queries

OFFICE_LEVEL = 2  # escalation_level 2: escalated to the leading-group office
__all__ = ["REVOKED_CLOSE_CODE", "Subscription"]


@strawberry.type(description="The viewer's queue as it is now: how many open, how many overdue, and what changed.")
class QueueUpdate:
    at: dt.datetime
    open_count: int
    overdue_count: int
    changed_tasks: list[TaskType] = strawberry.field(
        description="Tasks of the queue that changed since the last update (empty in the first one); "
        "one no longer open is still listed, with its new status."
    )


@strawberry.type(description="A case as it is now, sent first and again whenever it or one of its tasks changes.")
class CaseTimelineUpdate:
    at: dt.datetime
    case: CaseType


@strawberry.type(description="Open tasks escalated to the leading-group office, and those just escalated.")
class EscalationUpdate:
    at: dt.datetime
    escalated_count: int
    escalated_tasks: list[TaskType] = strawberry.field(description="Escalated since the last update.")


def _fresh(info: Info) -> None:
    """Each update reads the database anew (a socket's context lives for hours)."""
    info.context.loaders = Loaders()
    info.context.shown = {}


def _queue_key(viewer: User) -> tuple[Any, ...]:
    """Liaisons of a unit see one queue; a head teacher, their own part of it."""
    return ("queue", viewer.unit_id, viewer.id if viewer.role is UserRole.HEAD_TEACHER else None)


async def _queue_counts(viewer: User) -> tuple[int, int]:
    open_ = unit_task_queries(viewer, queue_criteria(TaskCriteria()))
    overdue = unit_task_queries(viewer, queue_criteria(TaskCriteria(overdue=True)))
    counts = await asyncio.gather(*(q.count() for q in (*open_, *overdue)))
    return sum(counts[: len(open_)]), sum(counts[len(open_) :])


async def _queue_tasks(viewer: User, ids: set[int]) -> list[Task]:
    if not ids:
        return []
    lists = await asyncio.gather(*(q.filter(id__in=sorted(ids)) for q in unit_task_queries(viewer, TaskCriteria())))
    return sorted((t for found in lists for t in found), key=lambda t: t.id)


async def _queue_state(viewer: User, ids: set[int]) -> tuple[tuple[int, int], list[Task]]:
    """The counts and the changed tasks through one pooled connection: under load a wake waits for one connection
    to come free, not for several (they were read side by side, each waiting its turn in the pool)."""
    async with in_transaction():
        return await _queue_counts(viewer), await _queue_tasks(viewer, ids)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The viewer's queue: counts of open and overdue tasks and the tasks that changed, first as "
        "they are, then whenever a change reaches the queue (made through any API process or worker)."
    )
    async def task_queue_counts(self, info: Info) -> AsyncGenerator[QueueUpdate, None]:
        viewer = require_viewer(info)
        key = _queue_key(viewer)
        with hub.watch(unit_key(viewer.unit_id)) as watch:
            changed: set[int] = set()
            last: tuple[int, int] | None = None
            while True:
                await hub.shared(watch.generation, ("clock",), clock.refresh)
                counts, tasks = await hub.shared(
                    watch.generation, (*key, frozenset(changed)), lambda ids=changed: _queue_state(viewer, ids)
                )
                if counts != last or tasks:
                    last = counts
                    _fresh(info)
                    yield QueueUpdate(
                        at=clock.local(clock.now()),
                        open_count=counts[0],
                        overdue_count=counts[1],
                        changed_tasks=[TaskType.from_row(t) for t in tasks],
                    )
                changed = await watch.changes()

    @strawberry.subscription(
        description="One case: first as it is, then again whenever it or one of its tasks changes. "
        "Ends when the viewer may no longer see the case."
    )
    async def case_timeline(self, info: Info, id: strawberry.ID) -> AsyncGenerator[CaseTimelineUpdate, None]:
        viewer = require_viewer(info)
        try:
            case_id = parse_global_id(id, "Case")[1]
        except BadGlobalId as error:
            raise BadUserInput(f"没有找到这个个案 (case not found): {error}") from error
        with hub.watch(case_key(case_id)) as watch:
            first = True
            while True:
                await clock.refresh()
                case = await Case.get_or_none(id=case_id)
                if case is None or not await case_visible(viewer, case):
                    if first:
                        raise BadUserInput("没有找到这个个案 (case not found)")
                    return
                first = False
                _fresh(info)
                yield CaseTimelineUpdate(at=clock.local(clock.now()), case=CaseType.from_row(case))
                await watch.changes()

    @strawberry.subscription(
        description="For the leading-group office: how many open tasks are escalated to it, and those just "
        "escalated, first as they are, then at every escalation."
    )
    async def office_escalations(self, info: Info) -> AsyncGenerator[EscalationUpdate, None]:
        viewer = require_viewer(info)
        if not steers(viewer):
            raise Forbidden("只有领导小组办公室可以订阅升级事项 (office only)")
        with hub.watch(ESCALATIONS) as watch:
            changed: set[int] = set()
            while True:

                async def count() -> int:
                    return await Task.filter(status__in=list(OPEN_STATUSES), escalation_level__gte=OFFICE_LEVEL).count()

                escalated = await hub.shared(watch.generation, ("escalations",), count)
                tasks = (
                    await Task.filter(Q(id__in=sorted(changed)), escalation_level__gte=OFFICE_LEVEL).order_by("id")
                    if changed
                    else []
                )
                _fresh(info)
                yield EscalationUpdate(
                    at=clock.local(clock.now()),
                    escalated_count=escalated,
                    escalated_tasks=[TaskType.from_row(t) for t in tasks],
                )
                changed = await watch.changes()
