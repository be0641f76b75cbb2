"""Classes and head teachers, the school roll's movements, the graduate handover and the dropout ledger."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from tortoise.queryset import QuerySet

from api.context import Info, require_viewer
from api.ids import global_id
from api.types.connection import Connection, page_size, paged
from api.types.nested_lists import HANDOVER_LINES, LEDGER_ENTRIES, nested_page, nested_page_of, replaced_by
from api.types.node import Node
from api.types.student import GenderEnum
from api.types.unit import UnitType
from api.types.user import UserType
from models import clock
from models.cases import Case
from models.children import Student
from models.paging import SortKey, keyset_page
from models.registers import (
    GraduateHandover,
    HandoverLine,
    LeaveReason,
    LedgerEntry,
    LedgerMark,
    MovementKind,
    RollMovement,
    RollStatus,
    SchoolClass,
    TransferScope,
)
from models.users import User
from tasks.access import MASKED, case_visible, student_visible, visible, visible_classes, visible_students
from tasks.registers.handover import responsible_school_id

if TYPE_CHECKING:
    from api.types.case import CaseType
    from api.types.student import StudentType

RollStatusEnum = strawberry.enum(
    RollStatus, name="RollStatus", description="A pupil's place on the roll (学籍) on a day."
)
MovementKindEnum = strawberry.enum(
    MovementKind, name="MovementKind", description="学籍异动: 转出 转入 休学 复学 升学 毕业 离校"
)
TransferScopeEnum = strawberry.enum(TransferScope, name="TransferScope")
LeaveReasonEnum = strawberry.enum(LeaveReason, name="LeaveReason", description="死亡, 出国（境）, other")
LedgerMarkEnum = strawberry.enum(LedgerMark, name="LedgerMark", description="确认辍学, 联系不上, 劝返复学")
PUPIL_ORDER = (SortKey("id"),)
CLASS_ORDER = (SortKey("grade"), SortKey("name"), SortKey("id"))


async def _student_if_visible(info: Info, student_id: int) -> StudentType | None:
    from api.types.student import StudentType

    row = await info.context.loaders.student.load(student_id)
    return StudentType.from_row(row) if row and await student_visible(require_viewer(info), row) else None


async def _case_if_visible(info: Info, case_id: int | None) -> CaseType | None:
    from api.types.case import CaseType

    if case_id is None:
        return None
    row = await info.context.loaders.case.load(case_id)
    return CaseType.from_row(row) if row and await case_visible(require_viewer(info), row) else None


async def _user(info: Info, user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return UserType.from_row(row) if row else None


@strawberry.type(name="SchoolClass", description="一个班级: a class of a school, its head teacher (班主任) and pupils.")
class SchoolClassType(Node):
    school_year: str = strawberry.field(description='"2026-2027", or "" when the roll does not say')
    grade: int
    name: str
    _row: strawberry.Private[SchoolClass]

    @classmethod
    def from_row(cls, row: SchoolClass) -> SchoolClassType:
        return cls(
            id=global_id("SchoolClass", row.id), school_year=row.school_year, grade=row.grade, name=row.name, _row=row
        )

    @strawberry.field
    async def school(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.school_id))

    @strawberry.field(description="The class's head teacher (a user of the school with role HEAD_TEACHER), if named.")
    async def head_teacher(self, info: Info) -> UserType | None:
        return await _user(info, self._row.head_teacher_id)

    @strawberry.field(description="The class's pupils that the viewer may see.")
    async def pupils(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[StudentType, strawberry.lazy("api.types.student")]]:
        from api.types.student import StudentType

        size = page_size(first)
        query = pupil_query(require_viewer(info), self._row.id)
        return await paged(lambda: keyset_page([query], PUPIL_ORDER, size, after), StudentType.from_row)


def pupil_query(viewer: User, class_id: Any) -> QuerySet[Student]:
    """SchoolClass.pupils: the class's pupils the viewer may see (the compiled read renders the same queryset)."""
    return Student.filter(visible_students(viewer), school_class_id=class_id)


def class_query(viewer: User, school_id: Any) -> QuerySet[SchoolClass]:
    """Unit.classes: the school's classes the viewer may see (the compiled read renders the same queryset)."""
    return SchoolClass.filter(visible_classes(viewer), school_id=school_id)


async def classes_of(viewer: User, school_id: int, first: int | None, after: str | None) -> Connection[SchoolClassType]:
    size = page_size(first)
    query = class_query(viewer, school_id)
    return await paged(lambda: keyset_page([query], CLASS_ORDER, size, after), SchoolClassType.from_row)


@strawberry.type(name="RollMovement", description="学籍异动: one dated change of a pupil's roll, with its evidence.")
class RollMovementType(Node):
    kind: MovementKindEnum  # type: ignore[valid-type]
    day: dt.date
    scope: TransferScopeEnum | None  # type: ignore[valid-type]
    other_place: str = strawberry.field(description="A school or place outside the county (转出 to, 转入 from)")
    leave_reason: LeaveReasonEnum | None  # type: ignore[valid-type]
    expected_return: dt.date | None = strawberry.field(description="休学: the expected return date")
    grade: int | None
    evidence: str
    note: str
    recorded_by_name: str
    recorded_at: dt.datetime
    arrival_confirmed_at: dt.datetime | None = strawberry.field(
        description="转出 in the county: when the receiving school confirmed the arrival"
    )
    _row: strawberry.Private[RollMovement]

    @classmethod
    def from_row(cls, row: RollMovement) -> RollMovementType:
        return cls(
            id=global_id("RollMovement", row.id),
            kind=row.kind,
            day=row.day,
            scope=row.scope,
            other_place=row.other_place,
            leave_reason=row.leave_reason,
            expected_return=row.expected_return,
            grade=row.grade,
            evidence=row.evidence,
            note=row.note,
            recorded_by_name=row.recorded_by_name,
            recorded_at=clock.local(row.recorded_at),
            arrival_confirmed_at=clock.local(row.arrival_confirmed_at) if row.arrival_confirmed_at else None,
            _row=row,
        )

    @strawberry.field(
        description="The school whose roll it is on: the sender of a 转出, the receiver of a 转入 or 升学."
    )
    async def school(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.school_id))

    @strawberry.field(
        description="The other school of the county: the receiver of a 转出, the sender of a 转入 or 升学."
    )
    async def other_school(self, info: Info) -> UnitType | None:
        if self._row.other_school_id is None:
            return None
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.other_school_id))

    @strawberry.field(description="The pupil, if the viewer may see them.")
    async def student(self, info: Info) -> Annotated[StudentType, strawberry.lazy("api.types.student")] | None:
        return await _student_if_visible(info, self._row.student_id)

    @strawberry.field(description="The case opened because the arrival was not confirmed in time, if any.")
    async def arrival_case(self, info: Info) -> Annotated[CaseType, strawberry.lazy("api.types.case")] | None:
        return await _case_if_visible(info, self._row.arrival_case_id)


@strawberry.type(name="HandoverLine", description="A graduate on the handover roster (四(二)5).")
class HandoverLineType(Node):
    name: str
    gender: GenderEnum  # type: ignore[valid-type]
    birth_date: dt.date
    student_number: str | None = strawberry.field(description="全国学籍号")
    registered_on: dt.date | None = strawberry.field(description="The day the middle school registered the graduate")
    _row: strawberry.Private[HandoverLine]

    @classmethod
    def from_rows(cls, row: HandoverLine, student: Student) -> HandoverLineType:
        return cls(
            id=global_id("HandoverLine", row.id),
            name=student.name,
            gender=student.gender,
            birth_date=student.birth_date,
            student_number=MASKED.show_student_number(student.student_number, student.citizen_id),
            registered_on=row.registered_on,
            _row=row,
        )

    @strawberry.field(
        description="The pupil, if the viewer may see them (the roster shows name and number to both schools)."
    )
    async def student(self, info: Info) -> Annotated[StudentType, strawberry.lazy("api.types.student")] | None:
        return await _student_if_visible(info, self._row.student_id)

    @strawberry.field(description="The GRADE7_NOT_REPORTED case opened for this graduate, if any.")
    async def case(self, info: Info) -> Annotated[CaseType, strawberry.lazy("api.types.case")] | None:
        return await _case_if_visible(info, self._row.case_id)


async def handover_line(row: HandoverLine) -> HandoverLineType:
    return HandoverLineType.from_rows(row, await Student.get(id=row.student_id))


@strawberry.type(
    name="GraduateHandover",
    description="四(二)5: a primary school's graduates on a roster to its designated middle school.",
)
class GraduateHandoverType(Node):
    school_year: str
    term_start: dt.date = strawberry.field(description="The middle school's first day of term")
    acknowledged_at: dt.datetime | None = strawberry.field(description="签字交接: when the middle school signed")
    signed_by_name: str
    _row: strawberry.Private[GraduateHandover]

    @classmethod
    def from_row(cls, row: GraduateHandover) -> GraduateHandoverType:
        return cls(
            id=global_id("GraduateHandover", row.id),
            school_year=row.school_year,
            term_start=row.term_start,
            acknowledged_at=clock.local(row.acknowledged_at) if row.acknowledged_at else None,
            signed_by_name=row.signed_by_name,
            _row=row,
        )

    @strawberry.field
    async def primary_school(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.primary_school_id))

    @strawberry.field
    async def middle_school(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.middle_school_id))

    @strawberry.field(
        description="Who answers for a graduate not yet reported on that day (today if left out): the primary "
        "school in the first week of term, the middle school after it."
    )
    async def responsible_school(self, info: Info, on: dt.date | None = None) -> UnitType:
        unit_id = await responsible_school_id(self._row, on or clock.today())
        return UnitType.from_row(await info.context.loaders.unit.load(unit_id))

    @strawberry.field(description="The graduates on the roster.", deprecation_reason=replaced_by("linesConnection"))
    async def lines(self, info: Info) -> list[HandoverLineType]:
        rows = await HandoverLine.filter(
            visible(HandoverLine, require_viewer(info)), handover_id=self._row.id
        ).order_by("id")
        return await _lines_of(rows)

    @strawberry.field(description="The graduates on the roster, in the roster's order.")
    async def lines_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[HandoverLineType]:
        return await nested_page_of(HANDOVER_LINES, require_viewer(info), self._row.id, first, after, _lines_of)


async def _lines_of(rows: list[HandoverLine]) -> list[HandoverLineType]:
    students = {s.id: s for s in await Student.filter(id__in=[r.student_id for r in rows])}
    return [HandoverLineType.from_rows(r, students[r.student_id]) for r in rows]


@strawberry.type(name="LedgerEntry", description="A line of the dropout ledger on a case (四(二)7).")
class LedgerEntryType:
    mark: LedgerMarkEnum  # type: ignore[valid-type]
    day: dt.date
    evidence: str
    recorded_by_name: str
    recorded_at: dt.datetime

    @classmethod
    def from_row(cls, row: LedgerEntry) -> LedgerEntryType:
        return cls(
            mark=row.mark,
            day=row.day,
            evidence=row.evidence,
            recorded_by_name=row.recorded_by_name,
            recorded_at=clock.local(row.recorded_at),
        )


@strawberry.type(name="DropoutLedgerLine", description="辍学学生工作台账: a case and its ledger marks.")
class DropoutLedgerLineType:
    _row: strawberry.Private[Case]

    @strawberry.field
    async def case(self, info: Info) -> Annotated[CaseType, strawberry.lazy("api.types.case")]:
        from api.types.case import CaseType

        return CaseType.from_row(self._row)

    @strawberry.field(
        description="The ledger's lines on this case, oldest first.",
        deprecation_reason=replaced_by("entriesConnection"),
    )
    async def entries(self) -> list[LedgerEntryType]:
        return [LedgerEntryType.from_row(e) for e in await LedgerEntry.filter(case_id=self._row.id).order_by("id")]

    @strawberry.field(description="The ledger's lines on this case, oldest first.")
    async def entries_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[LedgerEntryType]:
        viewer = require_viewer(info)
        return await nested_page(LEDGER_ENTRIES, viewer, self._row.id, first, after, LedgerEntryType.from_row)

    @strawberry.field(description="The latest mark: where the case stands in the ledger.")
    async def current_mark(self) -> LedgerMarkEnum:  # type: ignore[valid-type]
        entry = await LedgerEntry.filter(case_id=self._row.id).order_by("-id").first()
        assert entry is not None
        return entry.mark


@strawberry.type
class RegisterQueries:
    @strawberry.field(
        description="辍学学生工作台账 (四(二)7) of a school or township: its cases marked 确认辍学, 联系不上 or "
        "劝返复学 that the viewer may see, oldest first. As a spreadsheet: GET /exports/ledger.xlsx?unit=<id>."
    )
    async def dropout_ledger(
        self, info: Info, unit_id: strawberry.ID, first: int | None = None, after: str | None = None
    ) -> Connection[DropoutLedgerLineType]:
        from api.errors import BadUserInput
        from api.ids import BadGlobalId, parse_global_id
        from tasks.errors import DomainError
        from tasks.registers.ledger import ledger_page, ledger_unit

        viewer = require_viewer(info)
        size = page_size(first)
        try:
            unit = await ledger_unit(viewer, parse_global_id(unit_id, "Unit")[1])
        except (BadGlobalId, DomainError) as exc:
            raise BadUserInput(f"unitId: {exc}") from exc
        return await paged(lambda: ledger_page(viewer, unit, size, after), lambda c: DropoutLedgerLineType(_row=c))
