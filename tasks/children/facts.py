"""Facts about a child: recording and withdrawing them, and the cross-department work they call for.

`advance_facts` reconciles active facts with the tasks the county's rules give them, in order
(a step waits for the one before it), each with a unique key (fact, rule, step), so a rule fired
twice creates nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from models import clock
from models.cases import Case, CaseKind, CaseStatus
from models.children import Household, Student
from models.facts import DisabilityKind, Fact, FactKind, FactStatus
from models.rules import Rule
from models.tasks import OPEN_STATUSES, Task, TaskKind, TaskStatus
from models.units import Unit
from models.users import User
from tasks.access import may_record_fact, steers, student_visible
from tasks.errors import DomainError, ErrorCode, optional_text, required_text
from tasks.machinery.outbox import FACT_CHANGED, emit
from tasks.policy.county import CountyPolicy, UnitDirectory
from tasks.policy.spec import FactRuleSpec, FactStepSpec
from tasks.queue.workflow import create_task, settle_generated

DISABILITY_NAMES = {
    DisabilityKind.VISUAL: "视力残疾",
    DisabilityKind.HEARING: "听力残疾",
    DisabilityKind.INTELLECTUAL: "智力残疾",
    DisabilityKind.OTHER: "其他残疾",
}


@dataclass(frozen=True)
class FactData:
    kind: FactKind
    noted_on: date | None
    source: str
    reason: str
    disability_kind: DisabilityKind | None = None
    graded: bool | None = None
    detail: str = ""


async def record_fact(user: User, student_id: int, data: FactData) -> Fact:
    student = await Student.get_or_none(id=student_id)
    if student is None or not await may_record_fact(user, data.kind, student):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这名学生 (not found)", "id")
    noted_on = data.noted_on or clock.today()
    if noted_on > clock.today():
        raise DomainError(ErrorCode.INVALID, "日期不能晚于今天 (in the future)", "notedOn")
    if data.kind is FactKind.DISABILITY and data.disability_kind is None:
        raise DomainError(
            ErrorCode.REQUIRED, "残疾须注明类别：视力、听力、智力或其他 (disability kind)", "disabilityKind"
        )
    if data.kind is not FactKind.DISABILITY and (data.disability_kind or data.graded is not None):
        raise DomainError(ErrorCode.INVALID, "残疾类别和等级认定只用于残疾 (disability only)", "disabilityKind")
    needs_detail = {FactKind.CHILD_WORKING: "用工单位", FactKind.FAMILY_MOVED_AWAY: "流入地"}
    if data.kind in needs_detail and not data.detail.strip():
        raise DomainError(ErrorCode.REQUIRED, f"请填写{needs_detail[data.kind]} (detail)", "detail")
    detail = optional_text(data.detail, "detail", 300)
    async with in_transaction():
        fact = await Fact.create(
            kind=data.kind,
            student=student,
            household_id=student.household_id,
            noted_on=noted_on,
            source=required_text(data.source, "source", 200),
            reason=required_text(data.reason, "reason"),
            disability_kind=data.disability_kind,
            graded=data.graded if data.kind is FactKind.DISABILITY else None,
            detail=detail,
            recorded_by=user,
            recorded_at=clock.now(),
        )
        await emit(FACT_CHANGED, {"fact_id": fact.id}, effective_on=noted_on)
    return fact


async def withdraw_fact(user: User, fact_id: int, reason: str) -> Fact:
    """A fact recorded by mistake: it stays on file as withdrawn; its open tasks are cancelled."""
    fact = await Fact.get_or_none(id=fact_id)
    if fact is None or not await student_visible(user, await Student.get(id=fact.student_id)):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这条记录 (not found)", "id")
    if fact.status is FactStatus.WITHDRAWN:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "这条记录已撤回 (already withdrawn)", "id")
    if not (steers(user) or user.id == fact.recorded_by_id or user.unit_id == await _school_of(fact)):
        raise DomainError(ErrorCode.FORBIDDEN, "只有登记人、学生所在学校或办公室可以撤回 (not yours)", "id")
    why = required_text(reason, "reason")
    async with in_transaction():
        updated = await Fact.filter(id=fact.id, status=FactStatus.ACTIVE).update(
            status=FactStatus.WITHDRAWN, withdrawn_at=clock.now(), withdrawn_reason=why
        )
        if not updated:
            raise DomainError(ErrorCode.STALE_VERSION, "这条记录已被他人修改 (stale)", "id")
        tasks = await Task.filter(fact_id=fact.id, status__in=list(OPEN_STATUSES))
        await settle_generated(tasks, TaskStatus.CANCELLED, f"记录撤回：{why}", user)
    return await Fact.get(id=fact.id)


async def _school_of(fact: Fact) -> int:
    return (await Student.get(id=fact.student_id)).school_id


@dataclass
class FactContext:
    fact: Fact
    student: Student
    household: Household
    still_out: bool
    enrolled: bool


def _resolve(name: str, ctx: FactContext, units: UnitDirectory) -> int:
    relative = {
        "school": ctx.student.school_id,
        "township": ctx.household.township_id,
        "village": ctx.household.village_id or ctx.household.township_id,
    }
    unit_id = relative.get(name) or units.role(name)
    if unit_id is None:
        raise LookupError(f"a rule names unit {name!r}, which this county does not have")
    return unit_id


def _applies(step: FactStepSpec, ctx: FactContext) -> bool:
    if step.if_graded is not None and bool(ctx.fact.graded) != step.if_graded:
        return False
    return not (step.unless_enrolled and ctx.enrolled)


def fact_key(fact: Fact, rule: FactRuleSpec, step: FactStepSpec) -> str:
    return f"fact:{fact.id}:{rule.code}:{step.code}"


@dataclass
class PlannedFactTask:
    key: str
    step: FactStepSpec
    due: date


def plan_fact(ctx: FactContext, rule: FactRuleSpec, tasks: dict[str, Task], today: date) -> list[PlannedFactTask]:
    """The steps of one rule that are due for this fact today, in order."""
    planned: list[PlannedFactTask] = []
    ready_on: dict[str, date | None] = {}  # step → the day its successors may start (None: not yet)
    for step in rule.steps:
        key = fact_key(ctx.fact, rule, step)
        start: date | None = ctx.fact.noted_on
        if step.after is not None:
            start = ready_on.get(step.after)
        if step.after_deadline_of is not None:
            before = tasks.get(fact_key(ctx.fact, rule, _step(rule, step.after_deadline_of)))
            deadline = clock.local(before.due_at).date() if before else None
            start = deadline + timedelta(days=1) if deadline and today > deadline else None
        applies = _applies(step, ctx) and (not step.if_still_out or ctx.still_out)
        if not applies:
            ready_on[step.code] = start  # a step not needed does not hold up the next
            continue
        task = tasks.get(key)
        if start is not None and start <= today and task is None:
            planned.append(PlannedFactTask(key, step, start + timedelta(days=step.due_days)))
        done = task is not None and task.status is TaskStatus.DONE
        ready_on[step.code] = clock.local(task.updated_at).date() if done and task else None
    return planned


def _step(rule: FactRuleSpec, code: str) -> FactStepSpec:
    return next(s for s in rule.steps if s.code == code)


async def _contexts(fact_ids: Sequence[int]) -> list[FactContext]:
    facts = await Fact.filter(id__in=list(fact_ids), status=FactStatus.ACTIVE)
    if not facts:
        return []
    students = {s.id: s for s in await Student.filter(id__in=[f.student_id for f in facts])}
    households = {h.id: h for h in await Household.filter(id__in=[f.household_id for f in facts])}
    open_cases: dict[int, set[CaseKind]] = defaultdict(set)
    for student_id, kind in await Case.filter(student_id__in=list(students), status=CaseStatus.OPEN).values_list(
        "student_id", "kind"
    ):
        open_cases[student_id].add(CaseKind(kind))
    return [
        FactContext(
            fact=f,
            student=students[f.student_id],
            household=households[f.household_id],
            still_out=bool(open_cases[f.student_id]),
            enrolled=students[f.student_id].grade >= 1 and CaseKind.NOT_ENROLLED_GRADE1 not in open_cases[f.student_id],
        )
        for f in facts
    ]


def _names(ctx: FactContext, units: UnitDirectory) -> dict[str, str]:
    student = ctx.student
    grade = f"{student.grade}年级" if student.grade else ""
    return {
        "student": f"{units.names.get(student.school_id, '')}{grade}学生{student.name}",
        "school": units.names.get(student.school_id, "学校"),
        "township": units.names.get(ctx.household.township_id, "乡镇"),
        "village": units.names.get(ctx.household.village_id or 0, "村（社区）"),
        "detail": ctx.fact.detail or "—",
        "disability": DISABILITY_NAMES.get(ctx.fact.disability_kind, "残疾") if ctx.fact.disability_kind else "残疾",
    }


async def advance_facts(fact_ids: Sequence[int], today: date, policy: CountyPolicy | None = None) -> int:
    """Create the rule tasks that are due and missing for these facts; returns how many were created."""
    contexts = await _contexts(fact_ids)
    if not contexts:
        return 0
    policy = policy or await CountyPolicy.load()
    existing: dict[int, dict[str, Task]] = defaultdict(dict)
    for task in await Task.filter(fact_id__in=[c.fact.id for c in contexts]):
        if task.unique_key:
            existing[task.fact_id or 0][task.unique_key] = task
    created = 0
    for ctx in contexts:
        for rule_row, rule in policy.fact_rules:
            if rule.fact is not ctx.fact.kind:
                continue
            for planned in plan_fact(ctx, rule, existing[ctx.fact.id], today):
                created += await _create(ctx, rule_row, planned, policy)
    return created


async def _create(ctx: FactContext, rule_row: Rule, planned: PlannedFactTask, policy: CountyPolicy) -> int:
    step = planned.step
    units = policy.units
    cooperators = await Unit.filter(id__in=[_resolve(c, ctx, units) for c in step.cooperators])
    duty_id = policy.duty_ids.get(step.duty or "", rule_row.duty_id)
    _, created = await create_task(
        title=step.title.format(**_names(ctx, units)),
        description=f"依据：{rule_row.clause} {rule_row.title}；登记来源：{ctx.fact.source}；事由：{ctx.fact.reason}",
        unit=await Unit.get(id=_resolve(step.unit, ctx, units)),
        due=planned.due,
        kind=TaskKind.RULE,
        cooperators=cooperators,
        unique_key=planned.key,
        rule_id=rule_row.id,
        duty_id=duty_id,
        fact_id=ctx.fact.id,
        outcome_options=step.outcomes,
    )
    return int(created)


async def active_fact_ids() -> list[int]:
    return await Fact.filter(status=FactStatus.ACTIVE).order_by("id").values_list("id", flat=True)
