"""A small made-up county for the office's figures: tasks and cases with known times, counted by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from models import clock
from models.cases import Case, CaseKind, CaseStage, CaseStatus
from models.children import Student
from models.duties import Duty
from models.rules import Rule
from models.tasks import Task, TaskKind, TaskStatus
from models.units import Unit

AS_OF = "2026-10-20"  # 08:00 county time


def at(text: str) -> datetime:
    """'2026-09-08' (08:00) or '2026-09-08T15:00', county time, as a UTC moment."""
    return clock.parse_moment(text)


async def make_task(
    unit: str,
    due: str,
    *,
    status: TaskStatus = TaskStatus.OPEN,
    created: str,
    completed: str | None = None,
    escalation: int = 0,
    duty: str | None = None,
    case: Case | None = None,
    rule: str | None = None,
) -> Task:
    task = await Task.create(
        title=f"{unit} {due}",
        kind=TaskKind.CASE_STEP if case else (TaskKind.DUTY if duty else TaskKind.MANUAL),
        status=status,
        due_at=clock.end_of_day(date.fromisoformat(due)),
        assignee_unit=await Unit.get(code=unit),
        duty=await Duty.get(code=duty) if duty else None,
        case=case,
        rule=await Rule.get(code=rule) if rule else None,
        escalation_level=escalation,
        completed_at=at(completed) if completed else None,
    )
    await Task.filter(id=task.id).update(created_at=at(created))
    return await Task.get(id=task.id)


async def make_case(
    township: str, kind: CaseKind, opened: str, closed: str | None = None, stage: CaseStage = CaseStage.OPENED
) -> Case:
    student = await Student.filter(school__code="demo-primary-1").order_by("id").first()
    assert student is not None
    return await Case.create(
        student=student,
        kind=kind,
        status=CaseStatus.CLOSED if closed else CaseStatus.OPEN,
        stage=stage,
        school=await Unit.get(code="demo-primary-1"),
        township=await Unit.get(code=township),
        absent_since=date.fromisoformat(opened[:10]),
        opened_at=at(opened),
        closed_at=at(closed) if closed else None,
    )


async def small_county() -> dict[str, Any]:
    """Tasks of 大丰镇, 五工台镇 and a demo school, and four cases; the expected figures are in the tests."""
    done, cancelled = TaskStatus.DONE, TaskStatus.CANCELLED
    made: dict[str, Any] = {}
    made["d1"] = await make_task(
        "dafeng", "2026-09-10", status=done, created="2026-09-01", completed="2026-09-08", duty="admission-notices"
    )
    made["d2"] = await make_task("dafeng", "2026-09-20", status=done, created="2026-09-05", completed="2026-09-25")
    made["d3"] = await make_task("dafeng", "2026-10-10", created="2026-10-01", escalation=2, duty="admission-notices")
    made["d4"] = await make_task("dafeng", "2026-10-25", created="2026-10-01")
    made["d5"] = await make_task("dafeng", "2026-10-30", created="2026-10-01")
    made["d6"] = await make_task("dafeng", "2026-10-15", status=cancelled, created="2026-10-01")
    made["d7"] = await make_task("dafeng", "2026-11-05", created="2026-10-01")
    made["w1"] = await make_task(
        "wugongtai",
        "2026-09-15",
        status=done,
        created="2026-09-14T10:00",
        completed="2026-09-15T10:00",
        duty="admission-notices",
    )
    c1 = await make_case("dafeng", CaseKind.ABSENT_WITHOUT_REASON, "2026-09-10", "2026-09-20", stage=CaseStage.RETURNED)
    c2 = await make_case("dafeng", CaseKind.ABSENT_WITHOUT_REASON, "2026-10-05", stage=CaseStage.HEAD_TEACHER)
    c3 = await make_case("wugongtai", CaseKind.NOT_ENROLLED_GRADE1, "2026-08-20", stage=CaseStage.REPORTED)
    await make_case("wugongtai", CaseKind.NOT_ENROLLED_GRADE1, "2026-08-01", "2026-08-25")
    made["cases"] = (c1, c2, c3)
    day1, report = "ladder:day1-head-teacher", "ladder:report-file"
    made["s1"] = await make_task(
        "demo-primary-1", "2026-09-10", status=done, created="2026-09-10T09:00", completed="2026-09-10T15:00",
        case=c1, rule=day1,
    )  # fmt: skip
    made["s2"] = await make_task(
        "demo-primary-1", "2026-10-05", status=done, created="2026-10-05T09:00", completed="2026-10-07T09:00",
        case=c2, rule=day1,
    )  # fmt: skip
    made["s3"] = await make_task("demo-primary-1", "2026-10-07", created="2026-10-06T09:00", case=c2, rule=report)
    return made
