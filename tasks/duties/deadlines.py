"""Deadlines that are kept: reminders before a task is due, escalation when it is overdue.

Escalation goes to the owner unit's leader (level 1), then to the leading-group office (level 2);
each level is recorded on the task and in its history. Every unit gets at most one digest a day,
listing what is coming due and what was escalated to it, never one message per task.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from models import clock
from models.rules import Digest
from models.tasks import OPEN_STATUSES, Task, TaskEvent
from tasks.live.events import LiveKind, tasks_changed
from tasks.policy.county import CountyPolicy

LEADER, OFFICE = 1, 2
CHUNK = 1000


@dataclass(frozen=True)
class DeadlineResult:
    reminders: int
    escalated_to_leader: int
    escalated_to_office: int
    digests: int


async def deadline_sweep(today: date, policy: CountyPolicy | None = None) -> DeadlineResult:
    policy = policy or await CountyPolicy.load()
    rules = policy.deadlines
    if rules is None:
        return DeadlineResult(0, 0, 0, 0)
    office = policy.units.role("office")
    reminders: dict[int, set[int]] = defaultdict(set)
    escalations: dict[int, set[int]] = defaultdict(set)

    soon = await Task.filter(
        status__in=list(OPEN_STATUSES),
        due_at__gte=clock.start_of_day(today),
        due_at__lte=clock.end_of_day(today + timedelta(days=rules.reminder_days_before)),
    ).values_list("id", "assignee_unit_id")
    for task_id, unit_id in soon:
        reminders[unit_id].add(task_id)

    to_leader = await _escalate(today, rules.escalate_to_leader_after_days, LEADER, "本单位负责人")
    for task_id, unit_id in to_leader:
        escalations[unit_id].add(task_id)
    to_office = await _escalate(today, rules.escalate_to_office_after_days, OFFICE, "领导小组办公室")
    for task_id, _ in to_office:
        if office is not None:
            escalations[office].add(task_id)

    digests = await _write_digests(today, reminders, escalations)
    return DeadlineResult(sum(map(len, reminders.values())), len(to_leader), len(to_office), digests)


async def _escalate(today: date, after_days: int, level: int, to: str) -> list[tuple[int, int]]:
    """Raise open tasks overdue by `after_days` or more to `level`; returns (task, owner unit) of those raised.

    Rows are locked while raised, so two sweeps at once raise (and record) each task once.
    """
    last_due = clock.end_of_day(today - timedelta(days=after_days))
    raised: list[tuple[int, int]] = []
    now = clock.now()
    while True:
        async with in_transaction():
            rows = (
                await Task.filter(status__in=list(OPEN_STATUSES), due_at__lte=last_due, escalation_level__lt=level)
                .order_by("id")
                .limit(CHUNK)
                .select_for_update()
                .values_list("id", "assignee_unit_id", "due_at", "escalation_level")
            )
            if not rows:
                return raised
            await Task.filter(id__in=[r[0] for r in rows]).update(escalation_level=level)
            await TaskEvent.bulk_create(
                [
                    TaskEvent(
                        task_id=task_id,
                        at=now,
                        action="ESCALATED",
                        comment=f"逾期{(today - clock.local(due_at).date()).days}天，升级至{to}",
                        changes={"escalationLevel": [before, level]},
                    )
                    for task_id, _, due_at, before in rows
                ]
            )
            await tasks_changed(LiveKind.TASK_ESCALATED, [r[0] for r in rows], [r[1] for r in rows])
        raised.extend((task_id, unit_id) for task_id, unit_id, _, _ in rows)


async def _write_digests(today: date, reminders: dict[int, set[int]], escalations: dict[int, set[int]]) -> int:
    """One digest per unit per day; a second sweep the same day merges into it."""
    written = 0
    for unit_id in set(reminders) | set(escalations):
        digest, created = await Digest.get_or_create(unit_id=unit_id, day=today)
        merged_reminders = sorted(set(digest.reminders) | reminders.get(unit_id, set()))
        merged_escalations = sorted(set(digest.escalations) | escalations.get(unit_id, set()))
        if created or merged_reminders != digest.reminders or merged_escalations != digest.escalations:
            digest.reminders, digest.escalations = merged_reminders, merged_escalations
            await digest.save(update_fields=["reminders", "escalations"])
            written += 1
    return written
