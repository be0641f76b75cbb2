"""Tasks falling overdue by the clock alone.

A task becomes overdue when its deadline passes, with no change of its own: nothing would tell a queue's
subscribers that its overdue count moved, or a webhook receiver that a deadline was missed. Every minute
the worker (or the in-process runner) announces the open tasks whose deadline passed since the last
announcement, as one `task.overdue` event in the outbox: published on the bus and sent to the endpoints
that asked for it like any other change. How far it has got is kept in the database (ClockMark), so each
deadline is announced once however many workers run, and none is skipped after a pause.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from models import clock
from models.outbox import ClockMark
from models.tasks import OPEN_STATUSES, Task, TaskCooperator
from tasks.live.events import LiveKind, tasks_changed

MARK = "tasks-overdue"
# The first run ever announces what fell due just before it, not every task that was ever overdue.
FIRST_LOOK_BACK = timedelta(minutes=5)


async def announce_overdue() -> int:
    """Announce the open tasks whose deadline passed since the last run; returns how many."""
    await clock.refresh()
    now = clock.now()
    async with in_transaction():
        mark = await ClockMark.filter(name=MARK).select_for_update().first()
        since = mark.until if mark is not None else now - FIRST_LOOK_BACK
        if now <= since:  # the clock was set back (a replay): nothing new has fallen due
            return 0
        # Overdue means open with due_at < now (tasks/queue/lists.py): the window [since, now) is the new ones.
        rows = await Task.filter(status__in=list(OPEN_STATUSES), due_at__gte=since, due_at__lt=now).values_list(
            "id", "assignee_unit_id", "case_id"
        )
        if rows:
            task_ids = [row[0] for row in rows]
            cooperators = await TaskCooperator.filter(task_id__in=task_ids).values_list("unit_id", flat=True)
            await tasks_changed(
                LiveKind.TASK_OVERDUE, task_ids, [*(row[1] for row in rows), *cooperators], [row[2] for row in rows]
            )
        if mark is None:
            await ClockMark.create(name=MARK, until=now)
        else:
            await ClockMark.filter(name=MARK).update(until=now)
    return len(rows)
