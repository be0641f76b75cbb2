"""Which tasks a unit sees, filtered and in order: the liaison's queue and the office's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models import clock
from models.paging import Page, SortKey, keyset_page
from models.tasks import OPEN_STATUSES, Task, TaskKind, TaskStatus
from models.users import User, UserRole
from tasks.access import head_teacher_tasks
from tasks.queue.unit_page import unit_queue_page


class TaskOrder(StrEnum):
    DUE_SOONEST = "DUE_SOONEST"
    DUE_LATEST = "DUE_LATEST"
    NEWEST = "NEWEST"


SORT_KEYS: dict[TaskOrder, tuple[SortKey, ...]] = {
    TaskOrder.DUE_SOONEST: (SortKey("due_at"), SortKey("id")),
    TaskOrder.DUE_LATEST: (SortKey("due_at", descending=True), SortKey("id", descending=True)),
    TaskOrder.NEWEST: (SortKey("id", descending=True),),
}


@dataclass(frozen=True)
class TaskCriteria:
    statuses: tuple[TaskStatus, ...] | None = None
    duty_id: int | None = None
    assignee_unit_id: int | None = None
    kind: TaskKind | None = None
    overdue: bool | None = None
    due_before: date | None = None  # due on or before this date
    due_after: date | None = None  # due on or after this date
    escalated: bool | None = None
    # The office's figures (tasks/office/owing.py): the set behind one number.
    condition: Q | None = None
    unit_ids: frozenset[int] | None = None  # owned by one of these units (a township's or department's subtree)


def _filtered(query: QuerySet[Task], criteria: TaskCriteria) -> QuerySet[Task]:
    if criteria.statuses is not None:
        query = query.filter(status__in=list(criteria.statuses))
    if criteria.duty_id is not None:
        query = query.filter(duty_id=criteria.duty_id)
    if criteria.assignee_unit_id is not None:
        query = query.filter(assignee_unit_id=criteria.assignee_unit_id)
    if criteria.kind is not None:
        query = query.filter(kind=criteria.kind)
    if criteria.due_before is not None:
        query = query.filter(due_at__lte=clock.end_of_day(criteria.due_before))
    if criteria.due_after is not None:
        query = query.filter(due_at__gte=clock.start_of_day(criteria.due_after))
    if criteria.condition is not None:
        query = query.filter(criteria.condition)
    if criteria.unit_ids is not None:
        query = query.filter(assignee_unit_id__in=sorted(criteria.unit_ids))
    if criteria.escalated is True:
        query = query.filter(escalation_level__gte=1)
    elif criteria.escalated is False:
        query = query.filter(escalation_level=0)
    now = clock.now()  # UTC, like the stored values
    if criteria.overdue is True:
        query = query.filter(status__in=list(OPEN_STATUSES), due_at__lt=now)
    elif criteria.overdue is False:
        query = query.filter(Q(due_at__gte=now) | ~Q(status__in=list(OPEN_STATUSES)))
    return query


def every_task(criteria: TaskCriteria) -> QuerySet[Task]:
    """The office's list: every task that meets the criteria."""
    return _filtered(Task.all(), criteria)


def unit_task_queries(viewer: User, criteria: TaskCriteria) -> list[QuerySet[Task]]:
    """A unit's tasks: those it owns, and those it cooperates on (disjoint).

    A head teacher sees of them only the tasks given to them and those about their own pupils.
    """
    unit_id = viewer.unit_id
    own = Task.filter(assignee_unit_id=unit_id)
    cooperating = Task.filter(cooperators__unit_id=unit_id).exclude(assignee_unit_id=unit_id)
    if viewer.role is UserRole.HEAD_TEACHER:
        mine = head_teacher_tasks(viewer)
        own, cooperating = own.filter(mine), cooperating.filter(mine)
    return [_filtered(own, criteria), _filtered(cooperating, criteria)]


async def task_page(
    criteria: TaskCriteria,
    order: TaskOrder,
    first: int,
    after: str | None,
    scope: User | None,
) -> Page[Task]:
    """`scope` None lists every task (the office); a user, their unit's own and shared tasks."""
    if scope is not None and _by_status_only(criteria) and scope.role is not UserRole.HEAD_TEACHER:
        # The liaison's queue: one statement per list, with owners, cases and students (tasks/queue/unit_page.py).
        async def count() -> int:
            return sum([await q.count() for q in unit_task_queries(scope, criteria)])

        return await unit_queue_page(scope.unit_id, criteria.statuses, SORT_KEYS[order], first, after, count)
    if scope is None:
        queries = [every_task(criteria)]
    else:
        queries = unit_task_queries(scope, criteria)
    queries = [q.select_related("assignee_unit") for q in queries]  # a page shows its owners' names
    return await keyset_page(queries, SORT_KEYS[order], first, after)


def _by_status_only(criteria: TaskCriteria) -> bool:
    return criteria == TaskCriteria(statuses=criteria.statuses)


def queue_criteria(criteria: TaskCriteria) -> TaskCriteria:
    """The queue shows open work unless the liaison asks for other statuses."""
    if criteria.statuses is None:
        return TaskCriteria(**{**criteria.__dict__, "statuses": OPEN_STATUSES})
    return criteria
