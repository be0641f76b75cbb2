"""Working a task: create, claim, start, complete, comment, reassign, cancel, reopen.

Each action takes the acting user, checks what they may do, and writes the change and its
history line in one transaction. A stale `expected_version` or an illegal step raises a
DomainError and writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import clock
from models.duties import Duty
from models.tasks import OPEN_STATUSES, Task, TaskCooperator, TaskEvent, TaskKind, TaskStatus
from models.units import Unit
from models.users import User, UserRole
from tasks.access import visible_row
from tasks.errors import DomainError, ErrorCode, required_text
from tasks.live.events import LiveKind, tasks_changed
from tasks.machinery.outbox import CASE_CHANGED, FACT_CHANGED, emit

Changes = dict[str, Any]


async def visible_task(user: User, task_id: int) -> Task | None:
    """The task if the viewer may see it (tasks/access.py's gate), else None."""
    return await visible_row(Task, user, task_id)


def _due_at(due: date | datetime) -> datetime:
    return due if isinstance(due, datetime) else clock.end_of_day(due)


async def create_task(
    *,
    title: str,
    unit: Unit,
    due: date | datetime,
    kind: TaskKind = TaskKind.MANUAL,
    description: str = "",
    duty: Duty | None = None,
    cooperators: Sequence[Unit] = (),
    unique_key: str | None = None,
    actor: User | None = None,
    assignee_role: UserRole | None = None,
    assignee_id: int | None = None,
    case_id: int | None = None,
    rule_id: int | None = None,
    duty_id: int | None = None,
    fact_id: int | None = None,
    outcome_options: Sequence[str] | None = None,
) -> tuple[Task, bool]:
    """Create a task, or return the one that already has `unique_key`. Returns (task, created)."""
    title = required_text(title, "title", 300)
    if unique_key is not None:
        existing = await Task.get_or_none(unique_key=unique_key)
        if existing is not None:
            return existing, False
    try:
        async with in_transaction():
            task = await Task.create(
                title=title,
                description=description,
                kind=kind,
                due_at=_due_at(due),
                assignee_unit=unit,
                duty_id=duty.id if duty else duty_id,
                unique_key=unique_key,
                rule_id=rule_id,
                fact_id=fact_id,
                outcome_options=list(outcome_options) if outcome_options else None,
                assignee_role=assignee_role,
                assignee_id=assignee_id,
                case_id=case_id,
            )
            for cooperator in cooperators:
                if cooperator.id != unit.id:
                    await TaskCooperator.create(task=task, unit=cooperator)
            await TaskEvent.create(
                task=task,
                at=clock.now(),
                actor=actor,
                action="CREATED",
                changes={"status": [None, task.status.value], "assigneeUnit": [None, unit.code]},
            )
            await tasks_changed(LiveKind.TASK_CREATED, [task.id], [unit.id, *(c.id for c in cooperators)], [case_id])
    except IntegrityError:
        # Another worker created the same generated task between our check and insert.
        if unique_key is None:
            raise
        return await Task.get(unique_key=unique_key), False
    return task, True


HISTORY_NAMES = {"assignee_unit_id": "assigneeUnit", "assignee_id": "assignee"}


async def _describe(history: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """History speaks of units by code and people by name, not by row id."""
    unit_ids = [v for v in history.get("assignee_unit_id", []) if v is not None]
    user_ids = [v for v in history.get("assignee_id", []) if v is not None]
    units = dict(await Unit.filter(id__in=unit_ids).values_list("id", "code")) if unit_ids else {}
    users = dict(await User.filter(id__in=user_ids).values_list("id", "name")) if user_ids else {}
    names = {"assignee_unit_id": units, "assignee_id": users}
    return {
        HISTORY_NAMES.get(field, field): [names[field].get(v, v) if field in names else v for v in pair]
        for field, pair in history.items()
    }


async def _change(
    user: User,
    task_id: int,
    action: str,
    expected_version: int | None,
    decide: Callable[[Task], Changes],
    comment: str | None = None,
    also: Callable[[Task], Awaitable[object]] | None = None,
) -> Task:
    """Apply `decide(task)`'s changes if the user may see the task and its version matches.

    `also` writes whatever else the change implies, in the same transaction.
    """
    async with in_transaction():
        task = await visible_task(user, task_id)
        if task is None:
            raise DomainError(ErrorCode.NOT_FOUND, "没有找到这项任务 (task not found)", "id")
        if expected_version is not None and expected_version != task.version:
            raise DomainError(
                ErrorCode.STALE_VERSION,
                f"任务已被他人修改（当前版本 {task.version}），请刷新后重试 (stale version)",
                "expectedVersion",
            )
        changes = {f: v for f, v in decide(task).items() if getattr(task, f) != v}
        history = {f: [_plain(getattr(task, f)), _plain(v)] for f, v in changes.items()}
        if "status" in changes:  # kept apart from the history: the history line has the time already
            changes["completed_at"] = clock.now() if changes["status"] is TaskStatus.DONE else None
        if changes:
            updated = await Task.filter(id=task.id, version=task.version).update(
                **changes, version=task.version + 1, updated_at=clock.now()
            )
            if updated != 1:
                raise DomainError(
                    ErrorCode.STALE_VERSION, "任务已被他人修改，请刷新后重试 (stale version)", "expectedVersion"
                )
            if also is not None:
                await also(task)
        await TaskEvent.create(
            task_id=task.id,
            at=clock.now(),
            actor=user,
            action=action,
            comment=comment,
            changes=await _describe(history),
        )
        if "status" in changes:
            await _tell_subject(task)
        if changes or comment:
            units = [task.assignee_unit_id, changes.get("assignee_unit_id")]
            units += await TaskCooperator.filter(task_id=task.id).values_list("unit_id", flat=True)
            await tasks_changed(LiveKind.TASK_CHANGED, [task.id], units, [task.case_id])
    return await Task.get(id=task.id)


async def _tell_subject(task: Task) -> None:
    """A step done or reopened may let the next step of its case or fact fall due."""
    if task.fact_id is not None:
        await emit(FACT_CHANGED, {"fact_id": task.fact_id}, effective_on=clock.today())
    if task.case_id is not None:
        await emit(CASE_CHANGED, {"case_id": task.case_id}, effective_on=clock.today())


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _require_assignee_unit(user: User, task: Task, what: str) -> None:
    if not user.sees_every_unit and task.assignee_unit_id != user.unit_id:
        raise DomainError(ErrorCode.FORBIDDEN, f"只有承办单位可以{what}这项任务 (only the owner unit may)", "id")


def _require_office(user: User, what: str) -> None:
    if not user.sees_every_unit:
        raise DomainError(ErrorCode.FORBIDDEN, f"只有领导小组办公室可以{what}任务 (office only)", "id")


def _require_status(task: Task, allowed: Sequence[TaskStatus], what: str) -> None:
    if task.status not in allowed:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"状态为 {task.status.value} 的任务不能{what} (invalid transition)",
            "id",
        )


def _claimable(user: User, task: Task, what: str) -> None:
    _require_assignee_unit(user, task, what)
    _require_status(task, OPEN_STATUSES, what)
    if task.assignee_id not in (None, user.id):
        raise DomainError(ErrorCode.ALREADY_CLAIMED, "这项任务已由他人认领 (already claimed)", "id")


async def claim_task(user: User, task_id: int, expected_version: int | None = None) -> Task:
    def decide(task: Task) -> Changes:
        _claimable(user, task, "认领")
        return {"assignee_id": user.id}

    return await _change(user, task_id, "CLAIMED", expected_version, decide)


async def start_task(user: User, task_id: int, expected_version: int | None = None) -> Task:
    def decide(task: Task) -> Changes:
        _claimable(user, task, "开始办理")
        _require_status(task, (TaskStatus.OPEN,), "开始办理")
        return {"status": TaskStatus.IN_PROGRESS, "assignee_id": user.id}

    return await _change(user, task_id, "STARTED", expected_version, decide)


async def complete_task(user: User, task_id: int, outcome: str, expected_version: int | None = None) -> Task:
    text = required_text(outcome, "outcome")

    def decide(task: Task) -> Changes:
        _require_assignee_unit(user, task, "办结")
        _require_status(task, OPEN_STATUSES, "办结")
        if task.outcome_options and text not in task.outcome_options:
            choices = "、".join(task.outcome_options)
            raise DomainError(
                ErrorCode.INVALID, f"办理结果须为以下之一：{choices} (outcome: one of the options)", "outcome"
            )
        return {"status": TaskStatus.DONE, "outcome": text, "assignee_id": task.assignee_id or user.id}

    return await _change(user, task_id, "COMPLETED", expected_version, decide, comment=text)


async def complete_part(user: User, task_id: int, note: str) -> Task:
    """A cooperating unit records that its own part is done (a village's share of the census).

    The task stays with its owner, who completes it; done again, the part's note is replaced.
    """
    text = required_text(note, "note")
    async with in_transaction():
        task = await visible_task(user, task_id)
        if task is None:
            raise DomainError(ErrorCode.NOT_FOUND, "没有找到这项任务 (task not found)", "id")
        part = await TaskCooperator.get_or_none(task_id=task.id, unit_id=user.unit_id)
        if part is None:
            raise DomainError(ErrorCode.FORBIDDEN, "只有协办单位可以报告本单位承担的部分 (cooperators only)", "id")
        _require_status(task, OPEN_STATUSES, "报告完成部分")
        now = clock.now()
        await TaskCooperator.filter(id=part.id).update(part_done_at=now, part_note=text)
        unit = await Unit.get(id=user.unit_id)
        await TaskEvent.create(
            task_id=task.id,
            at=now,
            actor=user,
            action="PART_DONE",
            comment=text,
            changes={"part": [None, unit.code]},
        )
    return await Task.get(id=task.id)


async def comment_task(user: User, task_id: int, text: str, expected_version: int | None = None) -> Task:
    body = required_text(text, "text")
    return await _change(user, task_id, "COMMENTED", expected_version, lambda task: {}, comment=body)


async def reassign_task(
    user: User, task_id: int, unit_id: int, reason: str, expected_version: int | None = None
) -> Task:
    why = required_text(reason, "reason")
    target = await Unit.get_or_none(id=unit_id)
    if target is None:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到接收单位 (unit not found)", "unitId")

    def decide(task: Task) -> Changes:
        _require_assignee_unit(user, task, "转办")
        _require_status(task, OPEN_STATUSES, "转办")
        if task.assignee_unit_id == target.id:
            raise DomainError(ErrorCode.SAME_UNIT, "任务已在该单位 (already with that unit)", "unitId")
        return {"assignee_unit_id": target.id, "assignee_id": None, "status": TaskStatus.OPEN}

    async def no_longer_a_partner(task: Task) -> None:
        # The new owner owns the task; it is not also one of its cooperators.
        await TaskCooperator.filter(task_id=task.id, unit_id=target.id).delete()

    return await _change(user, task_id, "REASSIGNED", expected_version, decide, comment=why, also=no_longer_a_partner)


async def cancel_task(user: User, task_id: int, reason: str, expected_version: int | None = None) -> Task:
    why = required_text(reason, "reason")

    def decide(task: Task) -> Changes:
        _require_office(user, "取消")
        _require_status(task, OPEN_STATUSES, "取消")
        return {"status": TaskStatus.CANCELLED}

    return await _change(user, task_id, "CANCELLED", expected_version, decide, comment=why)


async def reopen_task(user: User, task_id: int, reason: str, expected_version: int | None = None) -> Task:
    why = required_text(reason, "reason")

    def decide(task: Task) -> Changes:
        _require_office(user, "重新打开")
        _require_status(task, (TaskStatus.DONE, TaskStatus.CANCELLED), "重新打开")
        return {"status": TaskStatus.OPEN, "outcome": None}

    return await _change(user, task_id, "REOPENED", expected_version, decide, comment=why)


async def settle_generated(tasks: Sequence[Task], status: TaskStatus, reason: str, actor: User | None = None) -> int:
    """Close tasks the system generated, because the case itself moved on (a report filed, the child back).

    Call inside the caller's transaction. Returns how many were still open and are now closed.
    """
    settled = 0
    action = "COMPLETED" if status is TaskStatus.DONE else "CANCELLED"
    for task in tasks:
        if task.status not in OPEN_STATUSES:
            continue
        changes: Changes = {"status": status}
        if status is TaskStatus.DONE:
            changes["outcome"] = reason
            changes["completed_at"] = clock.now()
        updated = await Task.filter(id=task.id, version=task.version).update(
            **changes, version=task.version + 1, updated_at=clock.now()
        )
        if updated:
            settled += 1
            await TaskEvent.create(
                task_id=task.id,
                at=clock.now(),
                actor=actor,
                action=action,
                comment=reason,
                changes={"status": [task.status.value, status.value]},
            )
            await tasks_changed(LiveKind.TASK_CHANGED, [task.id], [task.assignee_unit_id], [task.case_id])
    return settled
