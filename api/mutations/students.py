"""studentCreate."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.student import GenderEnum, StudentType
from tasks.access import may_create_student
from tasks.children.students import GuardianData, StudentData, create_student
from tasks.errors import DomainError, ErrorCode


@strawberry.input
class GuardianInput:
    name: str
    phone: str = ""
    occupation: str = ""


@strawberry.input
class StudentCreateInput:
    name: str
    gender: GenderEnum  # type: ignore[valid-type]
    birth_date: dt.date
    citizen_id: str = strawberry.field(description="18 characters; the last is the GB 11643 check digit.")
    school_id: strawberry.ID
    grade: int
    township_id: strawberry.ID = strawberry.field(description="Township of household registration (户籍地).")
    class_name: str = ""
    student_number: str | None = None
    head_teacher_name: str = ""
    head_teacher_id: strawberry.ID | None = None
    village_id: strawberry.ID | None = None
    registration_place: str = ""
    home_address: str = ""
    family_situation: str = ""
    father: GuardianInput | None = None
    mother: GuardianInput | None = None


@strawberry.type
class StudentCreatePayload:
    student: StudentType | None
    user_errors: list[UserError]


def _guardian(value: GuardianInput | None) -> GuardianData | None:
    return GuardianData(value.name, value.phone, value.occupation) if value else None


@strawberry.type
class StudentMutations:
    @strawberry.mutation(description="Record a student with household and guardians; every field is checked first.")
    async def student_create(self, info: Info, input: StudentCreateInput) -> StudentCreatePayload:
        viewer = require_viewer(info)
        try:
            school_id = pk_of(input.school_id, "Unit", "schoolId")
            if not may_create_student(viewer, school_id):
                raise DomainError(
                    ErrorCode.FORBIDDEN,
                    "只有本校教务处或校长可以登记学生 (your school's office or principal)",
                    "schoolId",
                )
            student = await create_student(
                StudentData(
                    name=input.name,
                    gender=input.gender,
                    birth_date=input.birth_date,
                    citizen_id=input.citizen_id,
                    school_id=school_id,
                    grade=input.grade,
                    township_id=pk_of(input.township_id, "Unit", "townshipId"),
                    class_name=input.class_name,
                    student_number=input.student_number,
                    head_teacher_name=input.head_teacher_name,
                    head_teacher_id=pk_of(input.head_teacher_id, "User", "headTeacherId")
                    if input.head_teacher_id
                    else None,
                    village_id=pk_of(input.village_id, "Unit", "villageId") if input.village_id else None,
                    registration_place=input.registration_place,
                    home_address=input.home_address,
                    family_situation=input.family_situation,
                    father=_guardian(input.father),
                    mother=_guardian(input.mother),
                )
            )
        except DomainError as error:
            return StudentCreatePayload(student=None, user_errors=[user_error(error)])
        return StudentCreatePayload(student=StudentType.from_row(student), user_errors=[])
