"""The suspected-dropout ladder (附件1): which tasks a case calls for on a given day.

The steps are the county's policy (the `ladder` of the policy file). `advance_cases` reconciles
cases with the tasks their state calls for. Each task has a unique key (case, episode, step,
occurrence), so running it twice, or in two workers at once, creates nothing twice.

A batch of cases is advanced in one transaction with bulk inserts (the daily sweep of 20,000 open
cases must take seconds, not minutes); if another worker created one of the same tasks meanwhile,
the batch is rolled back and redone step by step, each step deciding in its own transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models import clock
from models.cases import (
    Case,
    CaseEvent,
    CaseStage,
    CaseStatus,
    DropoutReport,
    PersuasionKind,
    PersuasionRecord,
    PersuasionResult,
    ReportRouting,
)
from models.children import Household, Student
from models.rules import Rule, RuleKind
from models.tasks import Task, TaskCooperator, TaskEvent, TaskKind, TaskStatus
from models.units import Unit
from models.users import UserRole
from tasks.errors import required_text
from tasks.policy.county import CountyPolicy, UnitDirectory
from tasks.policy.spec import LadderStepSpec
from tasks.queue.workflow import create_task
from tasks.school_days import SchoolDayCache, SchoolDays, years_around

STAGE_ORDER = list(CaseStage)
# Unique keys looked up per query: with a longer IN list PostgreSQL scans the whole task table instead of
# its unique index, and a sweep's cost would grow with the table rather than with the cases it advances.
KEY_CHUNK = 1000


@dataclass
class Planned:
    key: str
    title: str
    unit_id: int
    role: UserRole | None
    due: date
    stage: CaseStage
    rule_id: int
    duty_id: int | None
    cooperator_ids: tuple[int, ...] = ()
    escalation_level: int = 0


@dataclass(frozen=True)
class Occurrence:
    """One happening of a ladder event: on which day, for which report copy."""

    day: date
    suffix: str = ""
    receiver_id: int | None = None
    report_id: int | None = None


@dataclass
class CaseFacts:
    """What the reconciler needs to know about one case, loaded in bulk."""

    case: Case
    student: Student
    household: Household
    failed: list[PersuasionRecord] = field(default_factory=list)
    reports: list[DropoutReport] = field(default_factory=list)
    routings: dict[int, list[ReportRouting]] = field(default_factory=dict)


def absence_days(days: SchoolDays, case: Case, today: date) -> int:
    """School days of unexplained absence: from the first absent day to today, or to the day before the return."""
    last = case.returned_on - timedelta(days=1) if case.returned_on else today
    return days.count(case.absent_since, last) if last >= case.absent_since else 0


def occurrence_suffix(step: LadderStepSpec, report_id: int | None, receiver_id: int | None) -> str:
    if step.event in ("report-filed", "receipt-acknowledged"):
        return f":{report_id}:{receiver_id}" if step.per == "receiver" else f":{report_id}"
    return ""


def _occurrences(facts: CaseFacts, step: LadderStepSpec) -> list[Occurrence]:
    def day_of(moment) -> date:  # type: ignore[no-untyped-def]
        return clock.local(moment).date()

    collective = [r for r in facts.failed if r.kind is PersuasionKind.COLLECTIVE_HOME_VISIT]
    if step.event == "collective-visit-failed":
        return [Occurrence(day_of(collective[0].held_at))] if collective else []
    if step.event == "persuasion-failed":
        return [Occurrence(day_of(facts.failed[0].held_at))] if facts.failed else []
    found: list[Occurrence] = []
    for report in facts.reports:
        if step.event == "report-filed" and step.per is None:
            found.append(Occurrence(day_of(report.filed_at), occurrence_suffix(step, report.id, None), None, report.id))
            continue
        for routing in facts.routings.get(report.id, []):
            moment = report.filed_at if step.event == "report-filed" else routing.received_at
            if moment is not None:
                suffix = occurrence_suffix(step, report.id, routing.receiver_id)
                found.append(Occurrence(day_of(moment), suffix, routing.receiver_id, report.id))
    return found


def _already_settled(facts: CaseFacts, step: LadderStepSpec, occurrence: Occurrence) -> bool:
    """A step whose closing event has happened already is not created at all."""
    if step.done_when == "report-filed":
        return bool(facts.reports)
    if step.done_when == "follow-up-assigned":
        return facts.case.follow_up_name is not None
    if step.done_when in ("receipt-acknowledged", "result-recorded"):
        for routing in facts.routings.get(occurrence.report_id or 0, []):
            if routing.receiver_id == occurrence.receiver_id:
                done = routing.received_at if step.done_when == "receipt-acknowledged" else routing.result
                return done is not None
    return False


def resolve_unit(name: str, facts: CaseFacts, units: UnitDirectory, receiver_id: int | None = None) -> int:
    relative = {
        "school": facts.case.school_id,
        "township": facts.case.township_id,
        "village": facts.household.village_id or facts.case.township_id,
        "receiver": receiver_id,
        "vocational": units.vocational_id or units.role("education_bureau"),
    }
    unit_id = relative[name] if name in relative else units.role(name)
    if unit_id is None:
        raise LookupError(f"the ladder names unit {name!r}, which this county does not have")
    return unit_id


def _names(facts: CaseFacts, units: UnitDirectory, receiver_id: int | None) -> dict[str, str]:
    student = facts.student
    grade = f"{student.grade}年级{student.class_name}" if student.grade else ""
    return {
        "student": f"{grade}学生{student.name}",
        "school": units.names.get(facts.case.school_id, "学校"),
        "township": units.names.get(facts.case.township_id, "乡镇"),
        "village": units.names.get(facts.household.village_id or facts.case.township_id, "村（社区）"),
        "receiver": units.names.get(receiver_id or 0, "接收单位"),
    }


def plan_case(facts: CaseFacts, days: SchoolDays, today: date, policy: CountyPolicy) -> list[Planned]:
    """Every task the case calls for as of `today` (existing ones included; keys make them unique)."""
    case = facts.case
    absent = absence_days(days, case, today)
    planned: list[Planned] = []
    for rule, step in policy.ladder:
        if step.kinds and case.kind not in step.kinds:
            continue
        if step.day is not None:
            occurrences = [Occurrence(case.absent_since)] if step.day <= absent else []
            first_due_day = step.day
        else:
            occurrences = [o for o in _occurrences(facts, step) if o.day <= today]
            first_due_day = 1
        for occurrence in occurrences:
            if _already_settled(facts, step, occurrence):
                continue
            due = days.nth(occurrence.day, first_due_day + step.due) or today
            rid = occurrence.receiver_id
            planned.append(
                Planned(
                    key=step.code + occurrence.suffix,
                    title=step.title.format(**_names(facts, policy.units, rid)),
                    unit_id=resolve_unit(step.unit, facts, policy.units, rid),
                    role=step.role,
                    due=due,
                    stage=step.stage,
                    rule_id=rule.id,
                    duty_id=rule.duty_id,
                    cooperator_ids=tuple(resolve_unit(c, facts, policy.units, rid) for c in step.cooperators),
                    escalation_level=step.escalation_level,
                )
            )
    return planned


async def load_facts(case_ids: Sequence[int]) -> list[CaseFacts]:
    cases = await Case.filter(id__in=list(case_ids), status=CaseStatus.OPEN)
    if not cases:
        return []
    students = {s.id: s for s in await Student.filter(id__in=[c.student_id for c in cases])}
    households = {h.id: h for h in await Household.filter(id__in=[s.household_id for s in students.values()])}
    episodes = {c.id: c.episode for c in cases}
    failed: dict[int, list[PersuasionRecord]] = defaultdict(list)
    records = PersuasionRecord.filter(case_id__in=list(episodes), result=PersuasionResult.FAILED)
    for record in await records.order_by("held_at", "id"):
        if record.episode == episodes[record.case_id]:
            failed[record.case_id].append(record)
    reports: dict[int, list[DropoutReport]] = defaultdict(list)
    for report in await DropoutReport.filter(case_id__in=list(episodes)).order_by("id"):
        if report.episode == episodes[report.case_id]:
            reports[report.case_id].append(report)
    report_ids = [r.id for rs in reports.values() for r in rs]
    routings: dict[int, list[ReportRouting]] = defaultdict(list)
    if report_ids:
        for routing in await ReportRouting.filter(report_id__in=report_ids).order_by("id"):
            routings[routing.report_id].append(routing)
    facts = []
    for case in cases:
        student = students[case.student_id]
        facts.append(
            CaseFacts(case, student, households[student.household_id], failed[case.id], reports[case.id], routings)
        )
    return facts


def head_teacher_of(student: Student, case: Case) -> int | None:
    """The person a head-teacher step goes to: the head teacher of the child's class (tasks/registers/classes.py),
    when the case is at the child's school (a grade-7 case at the middle school has no class there yet)."""
    return student.head_teacher_id if student.school_id == case.school_id else None


def task_key(case: Case, step_key: str) -> str:
    return f"case:{case.id}:{case.episode}:{step_key}"


async def advance_cases(case_ids: Sequence[int], today: date, policy: CountyPolicy | None = None) -> int:
    """Create the tasks that are due and missing for these cases; returns how many were created."""
    facts = await load_facts(case_ids)
    if not facts:
        return 0
    policy = policy or await CountyPolicy.load()
    cache = SchoolDayCache()
    earliest = min(f.case.absent_since for f in facts)
    await cache.preload(years_around(min(earliest, today), today), school_ids={f.case.school_id for f in facts})
    calendars: dict[tuple[int, tuple[str, ...]], SchoolDays] = {}  # shared by the cases of a school

    def days_for(case: Case) -> SchoolDays:
        key = (case.school_id, tuple(years_around(case.absent_since, today)))
        if key not in calendars:
            calendars[key] = cache.for_school(case.school_id, case.absent_since, today)
        return calendars[key]

    plans = {f.case.id: plan_case(f, days_for(f.case), today, policy) for f in facts}
    wanted = [task_key(f.case, p.key) for f in facts for p in plans[f.case.id]]
    existing = set(await _task_ids(wanted))
    missing = [(f, p, key) for f in facts for p in plans[f.case.id] if (key := task_key(f.case, p.key)) not in existing]
    try:
        return await _advance_in_bulk(facts, plans, missing)
    except (IntegrityError, _Contended):
        pass  # another worker got to some of these cases first: step by step, each step in its own transaction
    created = 0
    for f in facts:
        for p in plans[f.case.id]:
            key = task_key(f.case, p.key)
            if key not in existing:
                created += await _create_step(f.case, f.student, p, key)
        await _record_progress(f.case, plans[f.case.id])
    return created


async def _task_ids(keys: Sequence[str]) -> dict[str, int]:
    """The ids of the tasks that have these unique keys, for the keys that exist."""
    ids: dict[str, int] = {}
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = list(keys[start : start + KEY_CHUNK])
        ids.update(await Task.filter(unique_key__in=chunk).values_list("unique_key", "id"))
    return ids


class _Contended(Exception):
    """A case changed under the batch: roll it back and advance the cases one by one."""


async def _advance_in_bulk(
    facts: Sequence[CaseFacts], plans: dict[int, list[Planned]], missing: Sequence[tuple[CaseFacts, Planned, str]]
) -> int:
    """What `_create_step` and `_record_progress` do for each case, for a whole batch in one transaction.

    Raises IntegrityError if another worker created one of the tasks meanwhile (nothing is kept then).
    """
    now = clock.now()
    async with in_transaction():
        if missing:
            await _create_steps(missing, now)
        await _record_progress_in_bulk(facts, plans, now)
    return len(missing)


async def _create_steps(missing: Sequence[tuple[CaseFacts, Planned, str]], now: datetime) -> None:
    """The tasks, their cooperators, CREATED history lines and the cases' STEP_DUE timeline lines."""
    codes = dict(await Unit.filter(id__in={p.unit_id for _, p, _ in missing}).values_list("id", "code"))
    await Task.bulk_create(
        [
            Task(
                title=required_text(p.title, "title", 300),
                description="",
                kind=TaskKind.CASE_STEP,
                due_at=clock.end_of_day(p.due),
                assignee_unit_id=p.unit_id,
                duty_id=p.duty_id,
                unique_key=key,
                rule_id=p.rule_id,
                assignee_role=p.role,
                assignee_id=head_teacher_of(f.student, f.case) if p.role is UserRole.HEAD_TEACHER else None,
                case_id=f.case.id,
            )
            for f, p, key in missing
        ]
    )
    ids = await _task_ids([key for _, _, key in missing])
    cooperators = [
        TaskCooperator(task_id=ids[key], unit_id=unit_id)
        for _, p, key in missing
        for unit_id in dict.fromkeys(p.cooperator_ids)
        if unit_id != p.unit_id
    ]
    if cooperators:
        await TaskCooperator.bulk_create(cooperators)
    await TaskEvent.bulk_create(
        [
            TaskEvent(
                task_id=ids[key],
                at=now,
                action="CREATED",
                changes={"status": [None, TaskStatus.OPEN.value], "assigneeUnit": [None, codes.get(p.unit_id)]},
            )
            for _, p, key in missing
        ]
    )
    await CaseEvent.bulk_create(
        [CaseEvent(case_id=f.case.id, at=now, action="STEP_DUE", detail=p.title) for f, p, _ in missing]
    )


async def _record_progress_in_bulk(facts: Sequence[CaseFacts], plans: dict[int, list[Planned]], now: datetime) -> None:
    """Stage and escalation level forward, for the cases still at the version that was planned from."""
    due = {f.case.id: (f.case, changes) for f in facts if (changes := _progress(f.case, plans[f.case.id]))}
    if not due:
        return
    locked = await Case.filter(id__in=list(due), status=CaseStatus.OPEN).select_for_update().only("id", "version")
    current = {c.id: c.version for c in locked}
    groups: dict[tuple[tuple[str, object], ...], list[int]] = defaultdict(list)
    for case_id, (case, changes) in due.items():
        if current.get(case_id) == case.version:  # else changed meanwhile: left for the next run, as one by one
            groups[tuple(sorted(changes.items()))].append(case_id)
    escalated: list[CaseEvent] = []
    for changes_key, case_ids in groups.items():
        changes = dict(changes_key)
        updated = await Case.filter(id__in=case_ids, status=CaseStatus.OPEN).update(**changes, version=F("version") + 1)
        if updated != len(case_ids):
            raise _Contended
        if "escalation_level" in changes:
            detail = f"升级至第{changes['escalation_level']}级"
            escalated += [CaseEvent(case_id=i, at=now, action="ESCALATED", detail=detail) for i in case_ids]
    if escalated:
        escalated.sort(key=lambda e: e.case_id)
        await CaseEvent.bulk_create(escalated)


def _progress(case: Case, plan: list[Planned]) -> dict[str, object]:
    """How the case's stage and escalation level move forward with this plan (nothing if they do not)."""
    if not plan:
        return {}
    stage = max((p.stage for p in plan), key=STAGE_ORDER.index)
    level = max(p.escalation_level for p in plan)
    changes: dict[str, object] = {}
    if STAGE_ORDER.index(stage) > STAGE_ORDER.index(case.stage):
        changes["stage"] = stage
    if level > case.escalation_level:
        changes["escalation_level"] = level
    return changes


async def _create_step(case: Case, student: Student, planned: Planned, key: str) -> int:
    cooperators = await Unit.filter(id__in=list(planned.cooperator_ids)) if planned.cooperator_ids else []
    _, created = await create_task(
        title=planned.title,
        unit=await Unit.get(id=planned.unit_id),
        due=planned.due,
        kind=TaskKind.CASE_STEP,
        cooperators=cooperators,
        unique_key=key,
        assignee_role=planned.role,
        assignee_id=head_teacher_of(student, case) if planned.role is UserRole.HEAD_TEACHER else None,
        case_id=case.id,
        rule_id=planned.rule_id,
        duty_id=planned.duty_id,
    )
    if created:
        await CaseEvent.create(case_id=case.id, at=clock.now(), action="STEP_DUE", detail=planned.title)
    return int(created)


async def _record_progress(case: Case, plan: list[Planned]) -> None:
    changes = _progress(case, plan)
    if not changes:
        return
    updated = await Case.filter(id=case.id, status=CaseStatus.OPEN, version=case.version).update(
        **changes, version=case.version + 1
    )
    if updated and "escalation_level" in changes:
        detail = f"升级至第{changes['escalation_level']}级"
        await CaseEvent.create(case_id=case.id, at=clock.now(), action="ESCALATED", detail=detail)


async def ladder_steps_settled_by(event: str) -> list[LadderStepSpec]:
    """The steps whose tasks an event of the case completes (a report filed completes "file the report")."""
    rules = await Rule.filter(kind=RuleKind.LADDER_STEP)
    steps = [LadderStepSpec.model_validate(r.spec) for r in rules]
    return [s for s in steps if s.done_when == event]
