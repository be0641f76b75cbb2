"""studentReveal: a sensitive field shown whole is a recorded act with a stated purpose."""

from __future__ import annotations

from enum import StrEnum

import strawberry

from api.audit import record
from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.student import GuardianRelationEnum
from models.audit import AuditAction
from models.children import Guardian, Household, Student
from tasks.access import NotYoursToReveal, disclosure, visible_row
from tasks.errors import DomainError, ErrorCode, required_text


class SensitiveField(StrEnum):
    CITIZEN_ID = "CITIZEN_ID"
    HOME_ADDRESS = "HOME_ADDRESS"
    GUARDIAN_PHONES = "GUARDIAN_PHONES"


SensitiveFieldEnum = strawberry.enum(SensitiveField, name="SensitiveField")


@strawberry.input
class StudentRevealInput:
    fields: list[SensitiveFieldEnum]  # type: ignore[valid-type]
    purpose: str = strawberry.field(description="Why you need it whole; kept in the audit trail.")


@strawberry.type
class RevealedGuardian:
    relation: GuardianRelationEnum  # type: ignore[valid-type]
    name: str
    phone: str


@strawberry.type
class StudentRevealPayload:
    citizen_id: str | None
    home_address: str | None
    guardians: list[RevealedGuardian] | None
    user_errors: list[UserError]


@strawberry.type
class RevealMutations:
    @strawberry.mutation(description="Show a student's (id) sensitive fields whole; recorded with your purpose.")
    async def student_reveal(self, info: Info, id: strawberry.ID, input: StudentRevealInput) -> StudentRevealPayload:
        viewer = require_viewer(info)
        try:
            student = await visible_row(Student, viewer, pk_of(id, "Student", "id"))
            if student is None:
                raise DomainError(ErrorCode.NOT_FOUND, "没有找到这名学生 (not found)", "id")
            try:
                shown = await disclosure(viewer, student, revealed=True)  # the same rule as a download's ?purpose=
            except NotYoursToReveal as refused:
                raise DomainError(ErrorCode.FORBIDDEN, "无权查看完整信息 (not yours to reveal)", "id") from refused
            purpose = required_text(input.purpose, "purpose", 300)
            if not input.fields:
                raise DomainError(ErrorCode.REQUIRED, "请选择要查看的字段 (fields)", "fields")
        except DomainError as error:
            return StudentRevealPayload(
                citizen_id=None, home_address=None, guardians=None, user_errors=[user_error(error)]
            )
        wanted = set(input.fields)
        await record(
            info,
            AuditAction.REVEAL,
            "studentReveal",
            str(id),
            detail={"fields": sorted(wanted), "purpose": purpose},
        )
        household = await Household.get(id=student.household_id)
        guardians = None
        if SensitiveField.GUARDIAN_PHONES in wanted:
            rows = await Guardian.filter(household_id=household.id)
            guardians = [
                RevealedGuardian(relation=g.relation, name=g.name, phone=shown.show_phone(g.phone)) for g in rows
            ]
        return StudentRevealPayload(
            citizen_id=shown.show_citizen_id(student.citizen_id) if SensitiveField.CITIZEN_ID in wanted else None,
            home_address=shown.show_address(household.home_address) if SensitiveField.HOME_ADDRESS in wanted else None,
            guardians=guardians,
            user_errors=[],
        )
