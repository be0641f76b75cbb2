"""Accountability (四(一)1, 五(一)): the office records 约谈, 通报 and 限期整改 against a unit.

Each measure names what caused it: the unit's overdue (or late, or escalated) tasks, and/or the
plan's targets it failed in a school year. A 限期整改 becomes a task for that unit with the
deadline, which is reminded and escalated like any other (tasks/duties/deadlines.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tortoise.transactions import in_transaction

from models import clock
from models.office import AccountabilityCause, AccountabilityMeasure, MeasureKind
from models.paging import Page, SortKey, keyset_page
from models.tasks import OPEN_STATUSES, Task, TaskKind, TaskStatus
from models.units import Unit
from models.users import User
from tasks.access import sees, steers, visible
from tasks.errors import DomainError, ErrorCode, required_text
from tasks.office.policy import office_policy
from tasks.queue.workflow import create_task
from tasks.school_days import school_year_of

KIND_NAMES = {MeasureKind.INTERVIEW: "约谈", MeasureKind.NOTICE: "通报", MeasureKind.RECTIFICATION: "限期整改"}
NEWEST_FIRST = (SortKey("id", descending=True),)
MAX_CAUSES = 100


@dataclass(frozen=True)
class FailedIndicator:
    indicator: str  # a target code of the policy file (enrolment, primary-retention ...)
    school_year: str
    value: float | None = None


def _failing(task: Task) -> bool:
    """Overdue now, done after its deadline, or escalated for being overdue."""
    now = clock.now()
    if task.status in OPEN_STATUSES and task.due_at < now:
        return True
    late = task.status is TaskStatus.DONE and task.completed_at is not None and task.completed_at > task.due_at
    return late or task.escalation_level >= 1


async def record_measure(
    user: User,
    *,
    kind: MeasureKind,
    unit_id: int,
    summary: str,
    task_ids: Sequence[int] = (),
    indicators: Sequence[FailedIndicator] = (),
    deadline: date | None = None,
    decided_on: date | None = None,
) -> AccountabilityMeasure:
    if not steers(user):
        raise DomainError(ErrorCode.FORBIDDEN, "只有领导小组办公室可以记录问责措施 (office only)", "id")
    text = required_text(summary, "summary", 2000)
    unit = await Unit.get_or_none(id=unit_id)
    if unit is None:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到被问责单位 (unit not found)", "id")
    if not task_ids and not indicators:
        raise DomainError(
            ErrorCode.REQUIRED, "请列明原因：逾期任务或未达标指标 (name the overdue tasks or failed targets)", "taskIds"
        )
    if len(task_ids) > MAX_CAUSES or len(indicators) > MAX_CAUSES:
        raise DomainError(ErrorCode.TOO_LONG, f"原因最多 {MAX_CAUSES} 项 (too many causes)", "taskIds")
    day = decided_on or clock.today()
    if kind is MeasureKind.RECTIFICATION:
        if deadline is None:
            raise DomainError(ErrorCode.REQUIRED, "限期整改须规定整改期限 (deadline required)", "deadline")
        if deadline <= clock.today():
            raise DomainError(ErrorCode.INVALID, "整改期限须晚于今天 (deadline must be after today)", "deadline")
    elif deadline is not None:
        raise DomainError(ErrorCode.INVALID, "只有限期整改有整改期限 (deadline: rectification only)", "deadline")
    tasks = await Task.filter(id__in=list(task_ids)) if task_ids else []
    if len(tasks) != len(set(task_ids)):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到所列任务 (task not found)", "taskIds")
    for task in tasks:
        if task.assignee_unit_id != unit.id:
            raise DomainError(ErrorCode.INVALID, f"任务「{task.title}」不由该单位承办 (not the unit's task)", "taskIds")
        if not _failing(task):
            raise DomainError(ErrorCode.INVALID, f"任务「{task.title}」未逾期 (task is not overdue)", "taskIds")
    known = {t.code: t for t in (await office_policy()).targets}
    for item in indicators:
        if item.indicator not in known:
            raise DomainError(ErrorCode.INVALID, f"未知指标 {item.indicator} (unknown target)", "indicators")
        try:
            start, end = (int(y) for y in item.school_year.split("-"))
        except ValueError:
            start, end = 0, 0
        if end != start + 1 or start < 2000:
            raise DomainError(ErrorCode.INVALID, "学年写作 2026-2027 (school year)", "indicators")
    async with in_transaction():
        measure = await AccountabilityMeasure.create(
            kind=kind,
            unit=unit,
            school_year=school_year_of(day),
            summary=text,
            decided_on=day,
            deadline=deadline,
            indicators=[
                {
                    "indicator": i.indicator,
                    "name": known[i.indicator].name,
                    "schoolYear": i.school_year,
                    "value": i.value,
                    "target": known[i.indicator].target,
                }
                for i in indicators
            ],
            recorded_by=user,
            recorded_at=clock.now(),
        )
        for task in tasks:
            await AccountabilityCause.create(measure=measure, task=task)
        if kind is MeasureKind.RECTIFICATION and deadline is not None:
            causes = [f"逾期任务：{t.title}" for t in tasks] + [
                f"未达标指标：{known[i.indicator].name}（{i.school_year}）" for i in indicators
            ]
            task, _ = await create_task(
                title=f"限期整改：{text[:80]}",
                description="\n".join(["依据：四(一)1 限期整改；五(一) 督导问责", *causes]),
                unit=unit,
                due=deadline,
                kind=TaskKind.RECTIFICATION,
                unique_key=f"rectification:{measure.id}",
                actor=user,
            )
            measure.task = task
            await measure.save(update_fields=["task_id"])
    return measure


async def measures_page(
    user: User,
    *,
    unit_id: int | None,
    school_year: str | None,
    kind: MeasureKind | None,
    first: int,
    after: str | None,
) -> Page[AccountabilityMeasure]:
    query = AccountabilityMeasure.filter(visible(AccountabilityMeasure, user))
    if unit_id is not None:
        query = query.filter(unit_id=unit_id)
    if school_year:
        query = query.filter(school_year=school_year)
    if kind is not None:
        query = query.filter(kind=kind)
    return await keyset_page([query], NEWEST_FIRST, first, after)


async def measure_visible(user: User, measure: AccountabilityMeasure) -> bool:
    return await sees(user, AccountabilityMeasure, measure.id)
