"""The suspected-dropout ladder (附件1): which tasks a case calls for on a given day.

`advance_cases` reconciles cases with the tasks their state calls for. It is a pure
function of the case's state and the date, and each task has a unique key
(case, episode, step), so running it twice, or in two workers at once, creates nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from models import clock
from models.cases import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStage,
    CaseStatus,
    DropoutReport,
    PersuasionKind,
    PersuasionRecord,
    PersuasionResult,
    ReportRouting,
)
from models.children import Household, Student
from models.tasks import Task, TaskKind
from models.units import SchoolLevel, Unit
from models.users import UserRole
from tasks.calendar import SchoolDayCache, SchoolDays, years_around
from tasks.workflow import create_task

STAGE_ORDER = list(CaseStage)
ESCALATION_DAYS = {1: 5, 2: 10, 3: 15}  # school days absent → escalation level (四(二)6: one week, then up)


@dataclass(frozen=True)
class DayStep:
    """A step that falls due on the n-th school day of absence."""

    key: str
    day: int
    unit: str  # school | village | township | a unit code
    role: UserRole | None
    title: str
    stage: CaseStage
    cooperators: tuple[str, ...] = ()
    escalation_level: int = 0


LADDER: tuple[DayStep, ...] = (
    DayStep("day1-head-teacher", 1, "school", UserRole.HEAD_TEACHER,
            "第1天：班主任电话或上门随访{student}，填写劝学记录表，当日报告教务处", CaseStage.HEAD_TEACHER),
    DayStep("day2-register", 2, "school", UserRole.SCHOOL_OFFICE,
            "第2天：教务处登记{student}缺勤，通知分管领导", CaseStage.SCHOOL_VISIT),
    DayStep("day2-home-visit", 2, "school", UserRole.SCHOOL_LEADER,
            "第2天：分管领导与班主任当日家访{student}，结果报教务处", CaseStage.SCHOOL_VISIT),
    DayStep("day3-plan", 3, "school", UserRole.PRINCIPAL,
            "第3天：校长与中层领导研究制定{student}控辍方案", CaseStage.COLLECTIVE_VISIT),
    DayStep("day3-notify-village", 3, "school", UserRole.SCHOOL_OFFICE,
            "第3天：通知{village}，按方案组织{student}集体家访", CaseStage.COLLECTIVE_VISIT, ("village",)),
    DayStep("day3-collective-visit", 3, "school", UserRole.PRINCIPAL,
            "第3天：学校与{village}村委会（社区）集体家访{student}", CaseStage.COLLECTIVE_VISIT, ("village",)),
    DayStep("week-follow-up", ESCALATION_DAYS[1], "school", UserRole.PRINCIPAL,
            "一周未到校：为{student}指定专人跟进直至返校，并向教育局报告", CaseStage.COLLECTIVE_VISIT,
            escalation_level=1),
    DayStep("escalate-education-section", ESCALATION_DAYS[1], "education-section", None,
            "逐级上报（一级）：{school}无法解决{student}一周未到校，请教育股协调", CaseStage.COLLECTIVE_VISIT,
            escalation_level=1),
    DayStep("escalate-supervision", ESCALATION_DAYS[2], "supervision", None,
            "逐级上报（二级）：{student}两周未返校，督导室组织劝学", CaseStage.COLLECTIVE_VISIT,
            ("township",), escalation_level=2),
    DayStep("escalate-office", ESCALATION_DAYS[3], "leading-group-office", None,
            "逐级上报（三级）：{student}三周未返校，领导小组办公室督办", CaseStage.COLLECTIVE_VISIT,
            ("township",), escalation_level=3),
)  # fmt: skip


@dataclass
class Planned:
    key: str
    title: str
    unit_id: int
    role: UserRole | None
    due: date
    stage: CaseStage
    cooperator_ids: tuple[int, ...] = ()
    escalation_level: int = 0


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


class UnitDirectory:
    """Unit ids by code, and the county's vocational school, looked up once per run."""

    def __init__(self, codes: dict[str, int], vocational_id: int | None) -> None:
        self.codes = codes
        self.vocational_id = vocational_id

    @classmethod
    async def load(cls) -> UnitDirectory:
        codes = dict(await Unit.all().values_list("code", "id"))
        vocational = await Unit.filter(school_level=SchoolLevel.VOCATIONAL).order_by("position", "id").first()
        return cls(codes, vocational.id if vocational else None)

    def resolve(self, name: str | int, facts: CaseFacts) -> int:
        if isinstance(name, int):
            return name
        if name == "school":
            return facts.case.school_id
        if name == "township":
            return facts.case.township_id
        if name == "village":
            return facts.household.village_id or facts.case.township_id
        if name == "vocational":
            return self.vocational_id or self.codes["education"]
        return self.codes[name]


def _names(facts: CaseFacts, unit_names: dict[int, str]) -> dict[str, str]:
    student = facts.student
    grade = f"{student.grade}年级{student.class_name}" if student.grade else ""
    return {
        "student": f"{grade}学生{student.name}",
        "school": unit_names.get(facts.case.school_id, "学校"),
        "township": unit_names.get(facts.case.township_id, "乡镇"),
        "village": unit_names.get(facts.household.village_id or facts.case.township_id, "村（社区）"),
    }


def plan_case(
    facts: CaseFacts, days: SchoolDays, today: date, units: UnitDirectory, unit_names: dict[int, str]
) -> list[Planned]:
    """Every task the case calls for as of `today` (existing ones included; keys make them unique)."""
    case = facts.case
    names = _names(facts, unit_names)
    planned: list[Planned] = []
    absent = absence_days(days, case, today)

    def add(key: str, title: str, unit: str | int, role: UserRole | None, due: date, stage: CaseStage,
            cooperators: Iterable[str] = (), level: int = 0) -> None:  # fmt: skip
        planned.append(
            Planned(
                key=key,
                title=title.format(**names),
                unit_id=units.resolve(unit, facts),
                role=role,
                due=due,
                stage=stage,
                cooperator_ids=tuple(units.resolve(c, facts) for c in cooperators),
                escalation_level=level,
            )
        )

    for step in LADDER:
        if step.day <= absent:
            due = days.nth(case.absent_since, step.day) or today
            add(step.key, step.title, step.unit, step.role, due, step.stage, step.cooperators, step.escalation_level)

    next_school_day = days.nth(today, 2) or today
    if case.kind is CaseKind.HIGH_SCHOOL_DROPOUT:
        if facts.failed:
            for key, unit, title in (
                ("vocational-education", "education", "普高退学劝学未果：对接{township}及中职学校，安排{student}"),
                ("vocational-township", "township", "普高退学劝学未果：动员{student}接受职业技能教育"),
                ("vocational-school", "vocational", "接收普高退学学生{student}接受职业技能教育"),
            ):  # fmt: skip
                add(key, title, unit, None, next_school_day, CaseStage.VOCATIONAL_REFERRAL)
        return planned

    collective_failed = [r for r in facts.failed if r.kind is PersuasionKind.COLLECTIVE_HOME_VISIT]
    if collective_failed and not facts.reports:
        add("report-file", "集体家访未果：填报{student}疑似辍学学生劝学返校报告单（一式三份）", "school",
            UserRole.SCHOOL_OFFICE, next_school_day, CaseStage.REPORT_DUE)  # fmt: skip
    for report in facts.reports:
        add(f"report-{report.id}-supervision-follow-up",
            "接报：向教育局主要领导汇报，对接{township}对{student}劝学", "supervision", None,
            next_school_day, CaseStage.REPORTED, ("township",))  # fmt: skip
        for routing in facts.routings.get(report.id, []):
            add(f"report-{report.id}-receipt-{routing.receiver_id}", "签收{student}疑似辍学学生劝学返校报告单",
                routing.receiver_id, None, next_school_day, CaseStage.REPORTED)  # fmt: skip
            if routing.received_at is not None:
                add(f"report-{report.id}-result-{routing.receiver_id}", "记录{student}报告单的处理结果",
                    routing.receiver_id, None, days.nth(today, 6) or today, CaseStage.REPORTED)  # fmt: skip
    return planned


async def load_facts(case_ids: Sequence[int]) -> list[CaseFacts]:
    cases = await Case.filter(id__in=list(case_ids), status=CaseStatus.OPEN)
    if not cases:
        return []
    students = {s.id: s for s in await Student.filter(id__in=[c.student_id for c in cases])}
    households = {h.id: h for h in await Household.filter(id__in=[s.household_id for s in students.values()])}
    episodes = {c.id: c.episode for c in cases}
    failed: dict[int, list[PersuasionRecord]] = defaultdict(list)
    for record in await PersuasionRecord.filter(case_id__in=list(episodes), result=PersuasionResult.FAILED):
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


def task_key(case: Case, step_key: str) -> str:
    return f"case:{case.id}:{case.episode}:{step_key}"


async def advance_cases(
    case_ids: Sequence[int], today: date, units: UnitDirectory | None = None, unit_names: dict[int, str] | None = None
) -> int:
    """Create the tasks that are due and missing for these cases; returns how many were created."""
    facts = await load_facts(case_ids)
    if not facts:
        return 0
    units = units or await UnitDirectory.load()
    if unit_names is None:
        unit_names = dict(await Unit.all().values_list("id", "name"))
    cache = SchoolDayCache()
    earliest = min(f.case.absent_since for f in facts)
    await cache.preload(years_around(earliest, today), school_ids={f.case.school_id for f in facts})
    plans = {
        f.case.id: plan_case(
            f, cache.for_school(f.case.school_id, f.case.absent_since, today), today, units, unit_names
        )
        for f in facts
    }
    wanted = {task_key(f.case, p.key) for f in facts for p in plans[f.case.id]}
    existing = (
        set(await Task.filter(unique_key__in=list(wanted)).values_list("unique_key", flat=True)) if wanted else set()
    )
    created = 0
    for f in facts:
        for p in plans[f.case.id]:
            key = task_key(f.case, p.key)
            if key in existing:
                continue
            created += await _create_step(f.case, f.student, p, key)
        await _record_progress(f.case, plans[f.case.id])
    return created


async def _create_step(case: Case, student: Student, planned: Planned, key: str) -> int:
    cooperators = await Unit.filter(id__in=list(planned.cooperator_ids)) if planned.cooperator_ids else []
    owner = await Unit.get(id=planned.unit_id)
    _, created = await create_task(
        title=planned.title,
        unit=owner,
        due=planned.due,
        kind=TaskKind.CASE_STEP,
        cooperators=cooperators,
        unique_key=key,
        assignee_role=planned.role,
        assignee_id=student.head_teacher_id if planned.role is UserRole.HEAD_TEACHER else None,
        case_id=case.id,
    )
    if created:
        await CaseEvent.create(case_id=case.id, at=clock.now(), action="STEP_DUE", detail=planned.title)
    return int(created)


async def _record_progress(case: Case, plan: list[Planned]) -> None:
    if not plan:
        return
    stage = max((p.stage for p in plan), key=STAGE_ORDER.index)
    level = max(p.escalation_level for p in plan)
    changes: dict[str, object] = {}
    if STAGE_ORDER.index(stage) > STAGE_ORDER.index(case.stage):
        changes["stage"] = stage
    if level > case.escalation_level:
        changes["escalation_level"] = level
    if not changes:
        return
    updated = await Case.filter(id=case.id, status=CaseStatus.OPEN, version=case.version).update(
        **changes, version=case.version + 1
    )
    if updated and "escalation_level" in changes:
        await CaseEvent.create(case_id=case.id, at=clock.now(), action="ESCALATED", detail=f"升级至第{level}级")
