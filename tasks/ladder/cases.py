"""What people do with a case: record an absence, persuade, report, acknowledge, bring a child back.

Each action checks everything first, then writes the change, its timeline line and an outbox
event in one transaction; the worker turns the event into the ladder's tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import clock
from models.cases import (
    Absence,
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
from models.rules import PolicySetting
from models.tasks import OPEN_STATUSES, Task, TaskStatus
from models.units import Unit
from models.users import User
from tasks.access import Act, case_visible, may, student_visible
from tasks.errors import DomainError, ErrorCode, optional_text, required_text
from tasks.ladder.steps import ladder_steps_settled_by, occurrence_suffix, task_key
from tasks.machinery.outbox import CASE_CHANGED, emit
from tasks.policy.county import CountyPolicy
from tasks.queue.workflow import settle_generated
from tasks.school_days import school_days


def _not_found(what: str, field: str = "id") -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"没有找到{what} (not found)", field)


FORBIDDEN_MESSAGES = {
    Act.RECORD_ABSENCE: "只有学生的班主任、教务处、分管领导或校长可以记录 (head teacher or school office)",
    Act.MANAGE_CASE: "只有学生所在学校的教务处、分管领导或校长可以办理 (school office, leader or principal)",
    Act.PERSUADE: "只有学生所在学校或户籍地乡镇可以记录劝学 (school or township)",
}


async def _case_for(user: User, case_id: int, act: Act | None = None) -> Case:
    case = await Case.get_or_none(id=case_id)
    if case is None or not await case_visible(user, case):
        raise _not_found("这个个案")
    if act is not None and not await may(user, act, await Student.get(id=case.student_id)):
        raise DomainError(ErrorCode.FORBIDDEN, FORBIDDEN_MESSAGES[act], "id")
    return case


async def _student_for(user: User, student_id: int, act: Act) -> Student:
    student = await Student.get_or_none(id=student_id)
    if student is None or not await student_visible(user, student):
        raise _not_found("这名学生", "studentId")
    if not await may(user, act, student):
        raise DomainError(ErrorCode.FORBIDDEN, FORBIDDEN_MESSAGES[act], "studentId")
    return student


async def _check_school_day(student: Student, day: date, field: str) -> None:
    if day > clock.today():
        raise DomainError(ErrorCode.INVALID, "日期不能晚于今天 (the day is in the future)", field)
    days = await school_days(student.school_id, day, day)
    if not days.is_school_day(day):
        raise DomainError(ErrorCode.INVALID, f"{day} 不是上课日 (not a school day)", field)


async def _timeline(case: Case, action: str, detail: str, actor: User | None) -> None:
    await CaseEvent.create(case_id=case.id, at=clock.now(), actor=actor, action=action, detail=detail)


def _open_key(student_id: int, kind: CaseKind) -> str:
    return f"{student_id}:{kind.value}"


async def _new_case(
    user: User | None, student: Student, kind: CaseKind, day: date, note: str, school_id: int | None = None
) -> Case:
    household = await Household.get(id=student.household_id)
    try:
        case = await Case.create(
            student=student,
            kind=kind,
            open_key=_open_key(student.id, kind),
            school_id=school_id or student.school_id,
            township_id=household.township_id,
            absent_since=day,
            opened_at=clock.now(),
        )
    except IntegrityError as exc:
        raise DomainError(ErrorCode.DUPLICATE, "该学生已有同类未结个案 (an open case exists)", "studentId") from exc
    await _timeline(case, "OPENED", note or kind.value, user)
    return case


async def record_absence(user: User, student_id: int, day: date | None, note: str = "") -> Case:
    """An unexplained absence: opens the student's case, or joins the open one."""
    student = await _student_for(user, student_id, Act.RECORD_ABSENCE)
    day = day or clock.today()
    await _check_school_day(student, day, "day")
    async with in_transaction():
        case = await Case.get_or_none(open_key=_open_key(student.id, CaseKind.ABSENT_WITHOUT_REASON))
        if case is None:
            case = await _new_case(user, student, CaseKind.ABSENT_WITHOUT_REASON, day, "无故缺勤，自动立案")
        elif day < case.absent_since:
            await Case.filter(id=case.id).update(absent_since=day, version=case.version + 1)
        try:
            await Absence.create(
                student=student, case=case, day=day, note=note.strip(), recorded_by=user, recorded_at=clock.now()
            )
        except IntegrityError as exc:
            raise DomainError(ErrorCode.DUPLICATE, f"{day} 的缺勤已经记录过 (already recorded)", "day") from exc
        remark = f"：{note.strip()}" if note.strip() else ""
        await _timeline(case, "ABSENCE_RECORDED", f"{day} 无故缺勤{remark}", user)
        await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=day)
    return await Case.get(id=case.id)


async def open_case(user: User, student_id: int, kind: CaseKind, day: date | None, note: str = "") -> Case:
    """Open a case of any kind of 附件1 by hand."""
    student = await _student_for(user, student_id, Act.MANAGE_CASE)
    day = day or clock.today()
    if day > clock.today():
        raise DomainError(ErrorCode.INVALID, "日期不能晚于今天 (the day is in the future)", "day")
    async with in_transaction():
        case = await _new_case(user, student, kind, day, note.strip() or "手工立案")
        await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=day)
    return case


async def open_case_by_rule(
    student: Student, kind: CaseKind, day: date, note: str, school_id: int | None = None
) -> tuple[Case, bool]:
    """A case the registers open by themselves (an unconfirmed transfer, a grade-7 graduate not reported):
    the student's open case of that kind if there is one, else a new one at `school_id` (default the
    student's school). Call inside the caller's transaction. Returns (case, created)."""
    existing = await Case.get_or_none(open_key=_open_key(student.id, kind))
    if existing is not None:
        return existing, False
    case = await _new_case(None, student, kind, day, note, school_id)
    await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=day)
    return case, True


async def close_returned(case: Case, user: User, day: date, evidence: str) -> Case:
    """Close an open case because the child is at school again (a confirmed arrival, a registration)."""
    return await _close(case, user, returned_on=day, reason="学生已到校", evidence=evidence)


async def _settle_case_tasks(case: Case, status: TaskStatus, reason: str, actor: User | None) -> None:
    tasks = await Task.filter(case_id=case.id, status__in=list(OPEN_STATUSES))
    await settle_generated(tasks, status, reason, actor)


async def _close(case: Case, user: User, *, returned_on: date | None, reason: str, evidence: str) -> Case:
    async with in_transaction():
        updated = await Case.filter(id=case.id, version=case.version, status=CaseStatus.OPEN).update(
            status=CaseStatus.CLOSED,
            stage=CaseStage.RETURNED if returned_on else case.stage,
            open_key=None,
            returned_on=returned_on,
            close_reason=reason,
            close_evidence=evidence,
            closed_at=clock.now(),
            version=case.version + 1,
        )
        if not updated:
            raise DomainError(ErrorCode.STALE_VERSION, "个案已被他人修改，请刷新后重试 (stale)", "id")
        await _settle_case_tasks(case, TaskStatus.CANCELLED, reason, user)
        detail = f"{returned_on} 返校销号：{evidence}" if returned_on else f"结案：{reason}；{evidence}"
        await _timeline(case, "RETURNED" if returned_on else "CLOSED", detail, user)
        await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=returned_on)
    return await Case.get(id=case.id)


async def record_return(user: User, case_id: int, day: date | None, evidence: str) -> Case:
    """The child is back (销号): open ladder tasks are cancelled and the case closes."""
    case = await _case_for(user, case_id, Act.RECORD_ABSENCE)
    if case.status is not CaseStatus.OPEN:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "个案已结案 (the case is closed)", "id")
    day = day or clock.today()
    if day > clock.today() or day < case.absent_since:
        raise DomainError(ErrorCode.INVALID, "返校日期应在缺勤开始之后、今天之前 (return day out of range)", "day")
    proof = required_text(evidence, "evidence")
    return await _close(case, user, returned_on=day, reason="学生已返校", evidence=proof)


async def close_case(user: User, case_id: int, reason: str, evidence: str) -> Case:
    """Close without a return (transferred with confirmation, enrolled elsewhere ...)."""
    case = await _case_for(user, case_id, Act.MANAGE_CASE)
    if case.status is not CaseStatus.OPEN:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "个案已结案 (the case is closed)", "id")
    why = required_text(reason, "reason")
    return await _close(case, user, returned_on=None, reason=why, evidence=required_text(evidence, "evidence"))


async def reopen_case(user: User, case_id: int, day: date | None, reason: str) -> Case:
    """The child is absent again: the same case, a new episode, the ladder from day 1."""
    case = await _case_for(user, case_id, Act.MANAGE_CASE)
    why = required_text(reason, "reason")
    if case.status is not CaseStatus.CLOSED:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "个案未结案，无需重新打开 (the case is open)", "id")
    day = day or clock.today()
    if day > clock.today():
        raise DomainError(ErrorCode.INVALID, "日期不能晚于今天 (the day is in the future)", "day")
    async with in_transaction():
        try:
            updated = await Case.filter(id=case.id, version=case.version, status=CaseStatus.CLOSED).update(
                status=CaseStatus.OPEN,
                stage=CaseStage.OPENED,
                open_key=_open_key(case.student_id, case.kind),
                episode=case.episode + 1,
                absent_since=day,
                escalation_level=0,
                returned_on=None,
                closed_at=None,
                version=case.version + 1,
            )
        except IntegrityError as exc:
            raise DomainError(ErrorCode.DUPLICATE, "该学生已有同类未结个案 (an open case exists)", "id") from exc
        if not updated:
            raise DomainError(ErrorCode.STALE_VERSION, "个案已被他人修改，请刷新后重试 (stale)", "id")
        await _timeline(case, "REOPENED", f"{day} 起再次缺勤：{why}", user)
        await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=day)
    return await Case.get(id=case.id)


@dataclass(frozen=True)
class PersuasionData:
    kind: PersuasionKind
    result: PersuasionResult
    held_at: datetime | None
    persuaders: str
    process: str
    family_situation: str = ""
    parents_attitude: str = ""
    student_attitude: str = ""
    school_opinion: str = ""


async def add_persuasion_record(user: User, case_id: int, data: PersuasionData) -> PersuasionRecord:
    """A 劝学记录表. A failed collective visit calls for the report; a failed high-school persuasion, the referral."""
    case = await _case_for(user, case_id, Act.PERSUADE)
    if case.status is not CaseStatus.OPEN:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "个案已结案 (the case is closed)", "id")
    held_at = clock.aware(data.held_at) if data.held_at else clock.now()
    if held_at > clock.now():
        raise DomainError(ErrorCode.INVALID, "劝学时间不能晚于现在 (in the future)", "heldAt")
    async with in_transaction():
        record = await PersuasionRecord.create(
            case=case,
            episode=case.episode,
            kind=data.kind,
            result=data.result,
            held_at=held_at,
            persuaders=required_text(data.persuaders, "persuaders", 300),
            process=required_text(data.process, "process"),
            family_situation=data.family_situation.strip(),
            parents_attitude=data.parents_attitude.strip(),
            student_attitude=data.student_attitude.strip(),
            school_opinion=data.school_opinion.strip(),
            recorded_by=user,
        )
        await _timeline(case, "PERSUASION_RECORDED", f"{data.kind.value}：{data.result.value}", user)
        await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=clock.local(held_at).date())
    return record


@dataclass(frozen=True)
class ReportData:
    situation: str
    contact_person: str
    contact_phone: str
    absent_to: date | None = None


async def file_report(user: User, case_id: int, data: ReportData) -> DropoutReport:
    """File 附件3 in three copies: 教育股, 督导室 and the township of household registration."""
    case = await _case_for(user, case_id, Act.MANAGE_CASE)
    if case.status is not CaseStatus.OPEN:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "个案已结案 (the case is closed)", "id")
    if case.kind is CaseKind.HIGH_SCHOOL_DROPOUT:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION, "普高退学不走报告单，劝学未果后由教育局对接中职 (high-school branch)", "id"
        )
    if await DropoutReport.exists(case_id=case.id, episode=case.episode):
        raise DomainError(ErrorCode.DUPLICATE, "本次缺勤的报告单已经报送 (already filed)", "id")
    attempts = await PersuasionRecord.filter(case_id=case.id, episode=case.episode).count()
    collective_failed = await PersuasionRecord.exists(
        case_id=case.id,
        episode=case.episode,
        kind=PersuasionKind.COLLECTIVE_HOME_VISIT,
        result=PersuasionResult.FAILED,
    )
    if not collective_failed:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            "集体家访未果后才能填报报告单；请先记录集体家访 (record the failed collective visit first)",
            "id",
        )
    absent_to = data.absent_to or clock.today()
    if absent_to < case.absent_since:
        raise DomainError(ErrorCode.INVALID, "缺勤截止日期早于开始日期 (absentTo before the absence began)", "absentTo")
    receivers = await _report_receivers(case)
    async with in_transaction():
        report = await DropoutReport.create(
            case=case,
            episode=case.episode,
            absent_from=case.absent_since,
            absent_to=absent_to,
            persuasion_count=attempts,
            situation=required_text(data.situation, "situation"),
            contact_person=required_text(data.contact_person, "contactPerson", 100),
            contact_phone=required_text(data.contact_phone, "contactPhone", 32),
            filed_by=user,
            filed_at=clock.now(),
        )
        for receiver in receivers:
            await ReportRouting.create(report=report, receiver=receiver, sent_at=clock.now(), sender_name=user.name)
        await Case.filter(id=case.id).update(stage=CaseStage.REPORTED, version=case.version + 1)
        await _settle_steps(case, "report-filed", "报告单已报送", user)
        names = "、".join(r.name for r in receivers)
        await _timeline(case, "REPORT_FILED", f"报告单一式三份报送：{names}", user)
        await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=clock.today())
    return report


async def _report_receivers(case: Case) -> list[Unit]:
    """The copies of the report: the county's receivers (教育股, 督导室 ...) and the township of registration."""
    setting = await PolicySetting.get_or_none(key="report_receivers")
    policy = await CountyPolicy.load()
    receivers: list[Unit] = []
    for name in setting.value if setting else ["township"]:
        unit_id = case.township_id if name == "township" else policy.units.role(name)
        if unit_id is None:
            raise DomainError(ErrorCode.INVALID, f"县级政策缺少报告单接收单位 {name} (policy: report receiver)", "id")
        receivers.append(await Unit.get(id=unit_id))
    return receivers


async def _settle_steps(case: Case, event: str, outcome: str, user: User, routing: ReportRouting | None = None) -> None:
    """Complete the ladder tasks that this event of the case settles."""
    keys = []
    for step in await ladder_steps_settled_by(event):
        suffix = occurrence_suffix(step, routing.report_id, routing.receiver_id) if routing else ""
        if routing is None and step.event in ("report-filed", "receipt-acknowledged"):
            continue
        keys.append(task_key(case, step.code + suffix))
    if keys:
        await settle_generated(await Task.filter(unique_key__in=keys), TaskStatus.DONE, outcome, user)


async def _routing_for(user: User, routing_id: int) -> tuple[ReportRouting, Case]:
    routing = await ReportRouting.get_or_none(id=routing_id)
    if routing is None:
        raise _not_found("这份报告单", "routingId")
    report = await DropoutReport.get(id=routing.report_id)
    case = await Case.get(id=report.case_id)
    if not (user.sees_every_unit or user.unit_id == routing.receiver_id):
        if await case_visible(user, case):
            raise DomainError(ErrorCode.FORBIDDEN, "只有接收单位可以办理 (the receiving unit only)", "routingId")
        raise _not_found("这份报告单", "routingId")
    return routing, case


async def acknowledge_receipt(user: User, routing_id: int, receiver_name: str, contact: str) -> ReportRouting:
    routing, case = await _routing_for(user, routing_id)
    if routing.received_at is not None:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "已经签收 (already acknowledged)", "routingId")
    async with in_transaction():
        await ReportRouting.filter(id=routing.id).update(
            received_at=clock.now(),
            receiver_name=required_text(receiver_name, "receiverName", 100),
            receiver_contact=required_text(contact, "receiverContact", 100),
        )
        await _settle_steps(case, "receipt-acknowledged", f"已签收（{receiver_name.strip()}）", user, routing)
        unit = await Unit.get(id=routing.receiver_id)
        await _timeline(case, "REPORT_RECEIVED", f"{unit.name}签收报告单", user)
        await emit(CASE_CHANGED, {"case_id": case.id}, effective_on=clock.today())
    return await ReportRouting.get(id=routing.id)


async def record_result(user: User, routing_id: int, result: str) -> ReportRouting:
    """处理结果: what the receiving unit did about the report."""
    routing, case = await _routing_for(user, routing_id)
    if routing.received_at is None:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "请先签收报告单 (acknowledge receipt first)", "routingId")
    text = required_text(result, "result")
    async with in_transaction():
        await ReportRouting.filter(id=routing.id).update(result=text, result_at=clock.now())
        await _settle_steps(case, "result-recorded", text, user, routing)
        unit = await Unit.get(id=routing.receiver_id)
        await _timeline(case, "REPORT_RESULT", f"{unit.name}处理结果：{text}", user)
    return await ReportRouting.get(id=routing.id)


async def assign_follow_up(user: User, case_id: int, name: str, phone: str) -> Case:
    """派专人负责跟进 (四(二)6): the named person who follows the case until the child is back."""
    case = await _case_for(user, case_id, Act.MANAGE_CASE)
    if case.status is not CaseStatus.OPEN:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "个案已结案 (the case is closed)", "id")
    person = required_text(name, "name", 100)
    number = optional_text(phone, "phone", 32)
    async with in_transaction():
        await Case.filter(id=case.id).update(
            follow_up_name=person, follow_up_phone=number or None, version=case.version + 1
        )
        await _settle_steps(case, "follow-up-assigned", f"已指定专人跟进：{person}", user)
        await _timeline(case, "FOLLOW_UP_ASSIGNED", f"专人跟进：{person}", user)
    return await Case.get(id=case.id)
