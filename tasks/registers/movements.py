"""The school roll's movements (学籍异动, 四(二)8): 转出, 转入, 休学, 复学, 升学, 毕业, leaving.

Each movement is a dated event with evidence and who recorded it; a pupil's status on any day is the
movements up to that day folded from ENROLLED. A movement that does not fit the status is refused
(ROLL_CONFLICT) and nothing changes. A transfer to a school of the county gives the receiving school a
task to confirm the arrival; not confirmed within the policy's school days, the child's case opens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.transactions import in_transaction

from models import clock
from models.cases import Case, CaseKind, CaseStatus
from models.children import Student
from models.registers import LeaveReason, MovementKind, RollMovement, RollStatus, TransferScope
from models.rules import PolicySetting
from models.tasks import OPEN_STATUSES, Task, TaskKind, TaskStatus
from models.units import Unit, UnitKind
from models.users import User, UserRole
from tasks.access import steers, student_visible
from tasks.errors import DomainError, ErrorCode, optional_text, required_text
from tasks.ladder.cases import close_returned, open_case_by_rule
from tasks.queue.workflow import create_task, settle_generated
from tasks.school_days import school_days

log = logging.getLogger("kongchuo.registers")
ROLL_MANAGERS = {UserRole.SCHOOL_OFFICE, UserRole.SCHOOL_LEADER, UserRole.PRINCIPAL}

# From which statuses each movement may be recorded.
ALLOWED_FROM: dict[MovementKind, set[RollStatus]] = {
    MovementKind.TRANSFER_OUT: {RollStatus.ENROLLED, RollStatus.SUSPENDED},
    MovementKind.TRANSFER_IN: {RollStatus.TRANSFERRING, RollStatus.TRANSFERRED_OUT},
    MovementKind.SUSPEND: {RollStatus.ENROLLED},
    MovementKind.RESUME: {RollStatus.SUSPENDED},
    MovementKind.PROMOTE: {RollStatus.ENROLLED, RollStatus.GRADUATED},
    MovementKind.GRADUATE: {RollStatus.ENROLLED},
    MovementKind.LEAVE: {RollStatus.ENROLLED, RollStatus.SUSPENDED, RollStatus.TRANSFERRING, RollStatus.GRADUATED},
}

STATUS_WORDS = {
    RollStatus.ENROLLED: "在籍",
    RollStatus.TRANSFERRING: "转出待确认",
    RollStatus.TRANSFERRED_OUT: "已转出",
    RollStatus.SUSPENDED: "休学",
    RollStatus.GRADUATED: "毕业",
    RollStatus.LEFT: "已离校",
}
MOVEMENT_WORDS = {
    MovementKind.TRANSFER_OUT: "转出",
    MovementKind.TRANSFER_IN: "转入",
    MovementKind.SUSPEND: "休学",
    MovementKind.RESUME: "复学",
    MovementKind.PROMOTE: "升学",
    MovementKind.GRADUATE: "毕业",
    MovementKind.LEAVE: "离校",
}


def status_after(movement: RollMovement) -> RollStatus:
    kind = movement.kind
    if kind is MovementKind.TRANSFER_OUT:
        return RollStatus.TRANSFERRING if movement.scope is TransferScope.IN_COUNTY else RollStatus.TRANSFERRED_OUT
    if kind is MovementKind.SUSPEND:
        return RollStatus.SUSPENDED
    if kind is MovementKind.GRADUATE:
        return RollStatus.GRADUATED
    if kind is MovementKind.LEAVE:
        return RollStatus.LEFT
    return RollStatus.ENROLLED  # 转入, 复学, 升学


def status_on(movements: Sequence[RollMovement], day: date) -> RollStatus:
    """The roll status on `day`: the movements up to and including that day, in order."""
    status = RollStatus.ENROLLED
    for movement in sorted(movements, key=lambda m: (m.day, m.id)):
        if movement.day > day:
            break
        status = status_after(movement)
    return status


async def roll_status_on(student_id: int, day: date) -> RollStatus:
    return status_on(await RollMovement.filter(student_id=student_id, day__lte=day), day)


async def roll_settings() -> dict[str, int]:
    stored = await PolicySetting.get_or_none(key="roll")
    values = {"transfer_confirm_school_days": 5, "grade7_report_school_days": 5}
    if stored is not None:
        values.update(stored.value)
    return values


@dataclass(frozen=True)
class MovementData:
    kind: MovementKind
    day: date | None
    evidence: str
    scope: TransferScope | None = None
    other_school_id: int | None = None
    other_place: str = ""
    leave_reason: LeaveReason | None = None
    expected_return: date | None = None
    grade: int | None = None
    note: str = ""


def _conflict(status: RollStatus, kind: MovementKind) -> DomainError:
    return DomainError(
        ErrorCode.ROLL_CONFLICT,
        f"学籍状态为“{STATUS_WORDS[status]}”，不能办理{MOVEMENT_WORDS[kind]} (does not fit roll status {status.value})",
        "kind",
    )


async def _county_school(unit_id: int | None, field: str) -> Unit:
    unit = await Unit.get_or_none(id=unit_id) if unit_id is not None else None
    if unit is None or unit.kind is not UnitKind.SCHOOL:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这所学校 (school not found)", field)
    return unit


def _may_record(user: User, school_id: int) -> bool:
    return steers(user) or (user.unit_id == school_id and user.role in ROLL_MANAGERS)


async def record_movement(user: User, student_id: int, data: MovementData) -> RollMovement:
    """Record one movement of a pupil of the viewer's school (or, for the office, of any school)."""
    student = await Student.get_or_none(id=student_id)
    if student is None or not await student_visible(user, student):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这名学生 (student not found)", "studentId")
    if not _may_record(user, student.school_id):
        raise DomainError(
            ErrorCode.FORBIDDEN, "只有学生所在学校的教务处、分管领导或校长可以办理学籍异动 (school office)", "studentId"
        )
    day = data.day or clock.today()
    if day > clock.today():
        raise DomainError(ErrorCode.INVALID, "日期不能晚于今天 (the day is in the future)", "day")
    last = await RollMovement.filter(student_id=student.id).order_by("-day", "-id").first()
    if last is not None and day < last.day:
        raise DomainError(ErrorCode.INVALID, f"日期早于上一次学籍异动（{last.day}）(before the last movement)", "day")
    status = RollStatus(student.roll_status)
    first_entry = data.kind is MovementKind.TRANSFER_IN and last is None and status is RollStatus.ENROLLED
    if status not in ALLOWED_FROM[data.kind] and not first_entry:  # 转入 of a pupil just recorded: from outside
        raise _conflict(status, data.kind)
    evidence = required_text(data.evidence, "evidence")
    note = optional_text(data.note, "note", 2000)
    values: dict[str, object] = {"school_id": student.school_id}
    student_changes: dict[str, object] = {}
    receiving: Unit | None = None
    if data.kind is MovementKind.TRANSFER_OUT:
        if data.scope is None:
            raise DomainError(ErrorCode.REQUIRED, "请注明转往县内学校、外县或外省 (scope)", "scope")
        values["scope"] = data.scope
        if data.scope is TransferScope.IN_COUNTY:
            receiving = await _county_school(data.other_school_id, "otherSchoolId")
            if receiving.id == student.school_id:
                raise DomainError(ErrorCode.SAME_UNIT, "不能转往本校 (the same school)", "otherSchoolId")
            values["other_school_id"] = receiving.id
        else:
            values["other_place"] = required_text(data.other_place, "otherPlace", 200)
    elif data.kind is MovementKind.TRANSFER_IN:
        if status is RollStatus.TRANSFERRING:
            raise DomainError(
                ErrorCode.ROLL_CONFLICT,
                "县内转学由接收学校确认到校 (transferArrivalConfirm: the receiving school confirms)",
                "kind",
            )
        values["other_place"] = optional_text(data.other_place, "otherPlace", 200)
    elif data.kind is MovementKind.SUSPEND:
        if data.expected_return is None:
            raise DomainError(ErrorCode.REQUIRED, "请填写预计复学日期 (expected return date)", "expectedReturn")
        if data.expected_return <= day:
            raise DomainError(ErrorCode.INVALID, "预计复学日期应晚于休学日期 (return after the day)", "expectedReturn")
        values["expected_return"] = data.expected_return
    elif data.kind is MovementKind.PROMOTE:
        receiving = await _county_school(data.other_school_id, "otherSchoolId")
        grade = data.grade if data.grade is not None else student.grade + 1
        if not 1 <= grade <= 12:
            raise DomainError(ErrorCode.INVALID, "年级应在1到12之间 (grade 1-12)", "grade")
        values.update(school_id=receiving.id, other_school_id=student.school_id, grade=grade)
        student_changes = _moved_to(receiving.id, grade)
    elif data.kind is MovementKind.LEAVE:
        if data.leave_reason is None:
            raise DomainError(ErrorCode.REQUIRED, "请注明离校原因：死亡、出国（境）或其他 (reason)", "leaveReason")
        values["leave_reason"] = data.leave_reason
    if data.grade is not None and data.kind is not MovementKind.PROMOTE:
        values["grade"] = data.grade
    async with in_transaction():
        movement = await _write(user, student, data.kind, day, evidence, note, status, values, student_changes)
        if receiving is not None and data.kind is MovementKind.TRANSFER_OUT:
            await _arrival_task(movement, student, receiving)
    return movement


def _moved_to(school_id: int, grade: int) -> dict[str, object]:
    """The pupil's place at a new school: no class there yet."""
    return {
        "school_id": school_id,
        "grade": grade,
        "school_class_id": None,
        "class_name": "",
        "head_teacher_id": None,
        "head_teacher_name": "",
    }


async def _write(
    user: User | None,
    student: Student,
    kind: MovementKind,
    day: date,
    evidence: str,
    note: str,
    status: RollStatus,
    values: dict[str, object],
    student_changes: dict[str, object],
) -> RollMovement:
    """The movement and the pupil's status, in the caller's transaction; refused if the pupil changed meanwhile."""
    movement = RollMovement(
        student_id=student.id,
        kind=kind,
        day=day,
        evidence=evidence,
        note=note,
        recorded_by=user,
        recorded_by_name=user.name if user else "系统",
        recorded_at=clock.now(),
        **values,
    )
    new_status = status_after(movement)
    updated = await Student.filter(id=student.id, roll_status=status.value).update(
        roll_status=new_status.value, **student_changes
    )
    if not updated:
        raise DomainError(ErrorCode.STALE_VERSION, "学籍已被他人修改，请刷新后重试 (stale)", "studentId")
    await movement.save()
    return movement


def arrival_key(movement_id: int) -> str:
    return f"transfer-arrival:{movement_id}"


async def _arrival_task(movement: RollMovement, student: Student, receiving: Unit) -> None:
    settings = await roll_settings()
    start = movement.day + timedelta(days=1)
    days = await school_days(receiving.id, start, start + timedelta(days=120))
    due = days.nth(start, settings["transfer_confirm_school_days"]) or start
    sender = await Unit.get(id=student.school_id)
    await create_task(
        title=f"确认转入学生{student.name}（{student.grade}年级，来自{sender.name}）到校",
        description=f"{movement.day} 转出，依据：{movement.evidence}。到校后请确认 (transferArrivalConfirm)。",
        unit=receiving,
        due=due,
        kind=TaskKind.RULE,
        unique_key=arrival_key(movement.id),
        assignee_role=UserRole.SCHOOL_OFFICE,
    )


async def pending_transfer(movement_id: int) -> RollMovement | None:
    return await RollMovement.get_or_none(id=movement_id, kind=MovementKind.TRANSFER_OUT, scope=TransferScope.IN_COUNTY)


def movement_visible(user: User, movement: RollMovement, student: Student) -> bool:
    """The schools on the movement, the office; others see it with the pupil (checked by the caller)."""
    return steers(user) or user.unit_id in (movement.school_id, movement.other_school_id, student.school_id)


async def confirm_arrival(user: User, movement_id: int, day: date | None, evidence: str = "") -> RollMovement:
    """The receiving school confirms the pupil arrived: the pupil is on its roll (转入) and the task is done."""
    movement = await pending_transfer(movement_id)
    if movement is None or not (steers(user) or user.unit_id in (movement.school_id, movement.other_school_id)):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这条转学记录 (transfer not found)", "id")
    assert movement.other_school_id is not None
    if not _may_record(user, movement.other_school_id):
        raise DomainError(
            ErrorCode.FORBIDDEN, "只有接收学校的教务处、分管领导或校长可以确认到校 (the receiving school)", "id"
        )
    if movement.arrival_confirmed_at is not None:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "已确认到校 (already confirmed)", "id")
    student = await Student.get(id=movement.student_id)
    status = RollStatus(student.roll_status)
    if status is not RollStatus.TRANSFERRING or student.school_id != movement.school_id:
        raise _conflict(status, MovementKind.TRANSFER_IN)
    day = day or clock.today()
    if day > clock.today() or day < movement.day:
        raise DomainError(ErrorCode.INVALID, "到校日期应在转出之后、今天之前 (day out of range)", "day")
    proof = optional_text(evidence, "evidence", 2000) or "接收学校确认到校"
    async with in_transaction():
        confirmed = await RollMovement.filter(id=movement.id, arrival_confirmed_at=None).update(
            arrival_confirmed_at=clock.now(), arrival_confirmed_by_id=user.id
        )
        if not confirmed:
            raise DomainError(ErrorCode.STALE_VERSION, "已被他人确认 (confirmed meanwhile)", "id")
        values = {"school_id": movement.other_school_id, "other_school_id": movement.school_id, "grade": student.grade}
        arrival = await _write(
            user,
            student,
            MovementKind.TRANSFER_IN,
            day,
            proof,
            "",
            status,
            values,
            _moved_to(movement.other_school_id, student.grade),
        )
        tasks = await Task.filter(unique_key=arrival_key(movement.id), status__in=list(OPEN_STATUSES))
        await settle_generated(tasks, TaskStatus.DONE, f"{day} 已到校", user)
        if movement.arrival_case_id is not None:
            case = await Case.get(id=movement.arrival_case_id)
            if case.status is CaseStatus.OPEN:
                await close_returned(
                    case, user, day, f"转入{(await Unit.get(id=movement.other_school_id)).name}：{proof}"
                )
    return arrival


class _Raced(Exception):
    """Another worker handled the same movement first: roll back."""


def case_kind_for(grade: int) -> CaseKind:
    """附件1 二: a high-school student is the fourth kind; a pupil of compulsory grades the third."""
    return CaseKind.HIGH_SCHOOL_DROPOUT if grade >= 10 else CaseKind.ABSENT_WITHOUT_REASON


async def transfer_sweep(today: date) -> int:
    """Open the case of every pupil whose in-county transfer is unconfirmed past the deadline; returns how many.

    Idempotent: a movement keeps the case it opened, and a second run finds nothing to do.
    """
    settings = await roll_settings()
    limit = settings["transfer_confirm_school_days"]
    opened = 0
    pending = await RollMovement.filter(
        kind=MovementKind.TRANSFER_OUT,
        scope=TransferScope.IN_COUNTY,
        arrival_confirmed_at=None,
        arrival_case_id=None,
        day__lt=today,
    ).order_by("id")
    for movement in pending:
        assert movement.other_school_id is not None
        start = movement.day + timedelta(days=1)
        days = await school_days(movement.other_school_id, start, today)
        deadline = days.nth(start, limit, horizon_days=max(1, (today - start).days + 1))
        if deadline is None or deadline >= today:
            continue
        student = await Student.get(id=movement.student_id)
        if student.roll_status != RollStatus.TRANSFERRING.value:
            continue
        since = days.nth(deadline + timedelta(days=1), 1, horizon_days=max(1, (today - deadline).days)) or today
        receiver = await Unit.get(id=movement.other_school_id)
        try:
            async with in_transaction():
                case, _ = await open_case_by_rule(
                    student,
                    case_kind_for(student.grade),
                    since,
                    f"{movement.day} 转往{receiver.name}，{limit}个上课日内未确认到校，自动立案",
                )
                updated = await RollMovement.filter(id=movement.id, arrival_case_id=None).update(
                    arrival_case_id=case.id
                )
                if not updated:
                    raise _Raced
        except _Raced:
            continue  # another worker opened it meanwhile
        opened += 1
    if opened:
        log.info("transfer sweep as of %s: %d case(s) opened for unconfirmed transfers", today, opened)
    return opened
