"""Mutations of the school registers: classCreate, classHeadTeacherSet, pupilPlace, rollMovementRecord,
transferArrivalConfirm, handoverPrepare, handoverAcknowledge, handoverRegister, caseLedgerMark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.case import CaseType
from api.types.registers import (
    GraduateHandoverType,
    HandoverLineType,
    LeaveReasonEnum,
    LedgerEntryType,
    LedgerMarkEnum,
    MovementKindEnum,
    RollMovementType,
    SchoolClassType,
    TransferScopeEnum,
    handover_line,
)
from api.types.student import StudentType
from models.cases import Case
from models.users import User
from tasks.errors import DomainError
from tasks.machinery import dispatch
from tasks.registers import classes, handover, ledger, movements

T = TypeVar("T")


@strawberry.type
class SchoolClassPayload:
    school_class: SchoolClassType | None
    user_errors: list[UserError]


@strawberry.type
class ClassCreatePayload(SchoolClassPayload):
    pass


@strawberry.type
class ClassHeadTeacherSetPayload(SchoolClassPayload):
    pass


@strawberry.type
class PupilPlacePayload:
    student: StudentType | None
    user_errors: list[UserError]


@strawberry.type
class RollMovementPayload:
    movement: RollMovementType | None
    user_errors: list[UserError]


@strawberry.type
class RollMovementRecordPayload(RollMovementPayload):
    pass


@strawberry.type
class TransferArrivalConfirmPayload(RollMovementPayload):
    pass


@strawberry.type
class GraduateHandoverPayload:
    handover: GraduateHandoverType | None
    user_errors: list[UserError]


@strawberry.type
class HandoverPreparePayload(GraduateHandoverPayload):
    pass


@strawberry.type
class HandoverAcknowledgePayload(GraduateHandoverPayload):
    pass


@strawberry.type
class HandoverRegisterPayload:
    line: HandoverLineType | None
    user_errors: list[UserError]


@strawberry.type
class CaseLedgerMarkPayload:
    entry: LedgerEntryType | None
    case: CaseType | None
    user_errors: list[UserError]


@strawberry.input
class ClassCreateInput:
    school_id: strawberry.ID
    grade: int
    name: str = strawberry.field(description='As the school writes it: "1班"')
    school_year: str = strawberry.field(default="", description='"2026-2027", or "" if the roll does not say')
    head_teacher_id: strawberry.ID | None = strawberry.field(
        default=None, description="A user of that school with role HEAD_TEACHER"
    )


@strawberry.input
class ClassHeadTeacherSetInput:
    head_teacher_id: strawberry.ID | None = strawberry.field(description="null: no head teacher for now")


@strawberry.input
class PupilPlaceInput:
    student_id: strawberry.ID


@strawberry.input
class RollMovementRecordInput:
    kind: MovementKindEnum  # type: ignore[valid-type]
    evidence: str = strawberry.field(description="What the movement rests on (转学联系函, 休学申请, 死亡证明 ...)")
    day: dt.date | None = strawberry.field(default=None, description="Today if left out")
    scope: TransferScopeEnum | None = strawberry.field(default=None, description="转出: where to")  # type: ignore[valid-type]
    other_school_id: strawberry.ID | None = strawberry.field(
        default=None, description="转出 in the county: the receiving school; 升学: the next school"
    )
    other_place: str = strawberry.field(default="", description="转出 out of the county: the school or place")
    leave_reason: LeaveReasonEnum | None = None  # type: ignore[valid-type]
    expected_return: dt.date | None = strawberry.field(default=None, description="休学: expected return date")
    grade: int | None = strawberry.field(default=None, description="升学: the grade at the next school")
    note: str = ""


@strawberry.input
class TransferArrivalConfirmInput:
    day: dt.date | None = strawberry.field(default=None, description="The day the pupil arrived; today if left out")
    evidence: str = ""


@strawberry.input
class HandoverPrepareInput:
    school_id: strawberry.ID = strawberry.field(description="The primary school")
    school_year: str = strawberry.field(description="The year the graduates start grade 7: 2026-2027")
    term_start: dt.date | None = strawberry.field(
        default=None, description="The middle school's first day of term; from its calendar if left out"
    )


@strawberry.input
class HandoverAcknowledgeInput:
    signed_by_name: str = strawberry.field(description="签字: who signed for the middle school")


@strawberry.input
class HandoverRegisterInput:
    day: dt.date | None = None
    evidence: str = ""


@strawberry.input
class CaseLedgerMarkInput:
    mark: LedgerMarkEnum  # type: ignore[valid-type]
    evidence: str
    day: dt.date | None = None


async def _attempt(info: Info, act: Callable[[User], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    try:
        return await act(require_viewer(info)), []
    except DomainError as error:
        return None, [user_error(error)]


def _or_none(value: Any, wrap: Callable[[Any], T]) -> T | None:
    return wrap(value) if value is not None else None


@strawberry.type
class RegisterMutations:
    @strawberry.mutation(description="A class (班级) of a school, with its head teacher if named.")
    async def class_create(self, info: Info, input: ClassCreateInput) -> ClassCreatePayload:
        row, errors = await _attempt(
            info,
            lambda u: classes.create_class(
                u,
                pk_of(input.school_id, "Unit", "schoolId"),
                input.grade,
                input.name,
                input.school_year,
                pk_of(input.head_teacher_id, "User", "headTeacherId") if input.head_teacher_id else None,
            ),
        )
        return ClassCreatePayload(school_class=_or_none(row, SchoolClassType.from_row), user_errors=errors)

    @strawberry.mutation(description="Name or change the head teacher of class (id); its pupils follow at once.")
    async def class_head_teacher_set(
        self, info: Info, id: strawberry.ID, input: ClassHeadTeacherSetInput
    ) -> ClassHeadTeacherSetPayload:
        row, errors = await _attempt(
            info,
            lambda u: classes.set_head_teacher(
                u,
                pk_of(id, "SchoolClass", "id"),
                pk_of(input.head_teacher_id, "User", "headTeacherId") if input.head_teacher_id else None,
            ),
        )
        return ClassHeadTeacherSetPayload(school_class=_or_none(row, SchoolClassType.from_row), user_errors=errors)

    @strawberry.mutation(description="Place a pupil of the school in class (id): grade, class and head teacher follow.")
    async def pupil_place(self, info: Info, id: strawberry.ID, input: PupilPlaceInput) -> PupilPlacePayload:
        row, errors = await _attempt(
            info,
            lambda u: classes.place_pupil(
                u, pk_of(id, "SchoolClass", "classId"), pk_of(input.student_id, "Student", "studentId")
            ),
        )
        return PupilPlacePayload(student=_or_none(row, StudentType.from_row), user_errors=errors)

    @strawberry.mutation(
        description="学籍异动 of student (id): 转出 转入 休学 复学 升学 毕业 离校; refused (ROLL_CONFLICT) when it "
        "does not fit the pupil's roll status."
    )
    async def roll_movement_record(
        self, info: Info, id: strawberry.ID, input: RollMovementRecordInput
    ) -> RollMovementRecordPayload:
        def act(user: User) -> Awaitable[Any]:
            data = movements.MovementData(
                kind=input.kind,
                day=input.day,
                evidence=input.evidence,
                scope=input.scope,
                other_school_id=pk_of(input.other_school_id, "Unit", "otherSchoolId")
                if input.other_school_id
                else None,
                other_place=input.other_place,
                leave_reason=input.leave_reason,
                expected_return=input.expected_return,
                grade=input.grade,
                note=input.note,
            )
            return movements.record_movement(user, pk_of(id, "Student", "id"), data)

        row, errors = await _attempt(info, act)
        if row is not None:
            await dispatch.nudge()
        return RollMovementRecordPayload(movement=_or_none(row, RollMovementType.from_row), user_errors=errors)

    @strawberry.mutation(
        description="The receiving school confirms that the pupil of transfer (id, a 转出 RollMovement) arrived: "
        "the pupil is on its roll (转入) and its task is done."
    )
    async def transfer_arrival_confirm(
        self, info: Info, id: strawberry.ID, input: TransferArrivalConfirmInput | None = None
    ) -> TransferArrivalConfirmPayload:
        given = input or TransferArrivalConfirmInput()
        row, errors = await _attempt(
            info,
            lambda u: movements.confirm_arrival(u, pk_of(id, "RollMovement", "id"), given.day, given.evidence),
        )
        if row is not None:
            await dispatch.nudge()
        return TransferArrivalConfirmPayload(movement=_or_none(row, RollMovementType.from_row), user_errors=errors)

    @strawberry.mutation(
        description="四(二)5: put a primary school's graduates on the roster to its designated middle school "
        "(again: adds graduates recorded since)."
    )
    async def handover_prepare(self, info: Info, input: HandoverPrepareInput) -> HandoverPreparePayload:
        row, errors = await _attempt(
            info,
            lambda u: handover.prepare_handover(
                u, pk_of(input.school_id, "Unit", "schoolId"), input.school_year, input.term_start
            ),
        )
        return HandoverPreparePayload(handover=_or_none(row, GraduateHandoverType.from_row), user_errors=errors)

    @strawberry.mutation(description="签字交接: the middle school signs for roster (id).")
    async def handover_acknowledge(
        self, info: Info, id: strawberry.ID, input: HandoverAcknowledgeInput
    ) -> HandoverAcknowledgePayload:
        row, errors = await _attempt(
            info,
            lambda u: handover.acknowledge_handover(u, pk_of(id, "GraduateHandover", "id"), input.signed_by_name),
        )
        return HandoverAcknowledgePayload(handover=_or_none(row, GraduateHandoverType.from_row), user_errors=errors)

    @strawberry.mutation(
        description="The graduate of roster line (id) reported at the middle school: 升学 onto its roll, grade 7."
    )
    async def handover_register(
        self, info: Info, id: strawberry.ID, input: HandoverRegisterInput | None = None
    ) -> HandoverRegisterPayload:
        given = input or HandoverRegisterInput()
        row, errors = await _attempt(
            info, lambda u: handover.register_graduate(u, pk_of(id, "HandoverLine", "id"), given.day, given.evidence)
        )
        if row is None:
            return HandoverRegisterPayload(line=None, user_errors=errors)
        await dispatch.nudge()
        return HandoverRegisterPayload(line=await handover_line(row), user_errors=errors)

    @strawberry.mutation(
        description="辍学学生工作台账 (四(二)7): mark case (id) 确认辍学 or 联系不上 with evidence, or later 劝返复学 "
        "(which closes the case)."
    )
    async def case_ledger_mark(
        self, info: Info, id: strawberry.ID, input: CaseLedgerMarkInput
    ) -> CaseLedgerMarkPayload:
        row, errors = await _attempt(
            info, lambda u: ledger.mark_case(u, pk_of(id, "Case", "id"), input.mark, input.day, input.evidence)
        )
        if row is None:
            return CaseLedgerMarkPayload(entry=None, case=None, user_errors=errors)
        await dispatch.nudge()
        case = await Case.get(id=row.case_id)
        return CaseLedgerMarkPayload(
            entry=LedgerEntryType.from_row(row), case=CaseType.from_row(case), user_errors=errors
        )
