"""Students, households and guardians. Sensitive fields are masked for units that do not need them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.context import Info, require_viewer
from api.ids import global_id
from api.types.connection import Connection
from api.types.nested_lists import (
    HOUSEHOLD_GUARDIANS,
    STUDENT_CASES,
    STUDENT_FACTS,
    STUDENT_MOVEMENTS,
    nested_page,
    replaced_by,
)
from api.types.node import Node
from api.types.unit import UnitType
from models.cases import Case
from models.children import Gender, Guardian, GuardianRelation, Household, Student
from models.facts import Fact
from tasks.access import MASKED, Disclosure, disclosure

if TYPE_CHECKING:
    from api.types.case import CaseType
    from api.types.fact import FactType
    from api.types.registers import RollMovementType, RollStatusEnum, SchoolClassType

GenderEnum = strawberry.enum(Gender, name="Gender")
GuardianRelationEnum = strawberry.enum(GuardianRelation, name="GuardianRelation")


@strawberry.type(name="Guardian")
class GuardianType:
    relation: GuardianRelationEnum  # type: ignore[valid-type]
    name: str
    phone: str
    occupation: str


@strawberry.type(name="Household", description="一户: household registration and where the family lives.")
class HouseholdType:
    registration_place: str = strawberry.field(description="户籍地")
    home_address: str = strawberry.field(
        description="Whole for the child's school and township of registration; masked for others (studentReveal)."
    )
    family_situation: str
    _row: strawberry.Private[Household]
    _shown: strawberry.Private[Disclosure]

    @strawberry.field(description="Township of household registration.")
    async def township(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.township_id))

    @strawberry.field
    async def village(self, info: Info) -> UnitType | None:
        if self._row.village_id is None:
            return None
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.village_id))

    def _guardian(self, row: Guardian) -> GuardianType:
        return GuardianType(
            relation=row.relation, name=row.name, phone=self._shown.show_phone(row.phone), occupation=row.occupation
        )

    @strawberry.field(
        description="The child's guardians, in the order they were recorded.",
        deprecation_reason=replaced_by("guardiansConnection"),
    )
    async def guardians(self, info: Info) -> list[GuardianType]:
        return [self._guardian(g) for g in await info.context.loaders.guardians.load(self._row.id)]

    @strawberry.field(description="The child's guardians, in the order they were recorded.")
    async def guardians_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[GuardianType]:
        return await nested_page(HOUSEHOLD_GUARDIANS, require_viewer(info), self._row.id, first, after, self._guardian)


@strawberry.type(name="Student", description="A child of the programme: a minor; handle with care.")
class StudentType(Node):
    name: str
    gender: GenderEnum  # type: ignore[valid-type]
    birth_date: dt.date
    student_number: str | None = strawberry.field(
        description="全国学籍号; when it carries the citizen ID (G + 身份证号), masked like citizenId."
    )
    grade: int = strawberry.field(description="1-9 compulsory, 10-12 high school, 0 not yet in grade 1")
    class_name: str
    head_teacher_name: str
    is_demo: bool
    _row: strawberry.Private[Student]

    @classmethod
    def from_row(cls, row: Student) -> StudentType:
        return cls(
            id=global_id("Student", row.id),
            name=row.name,
            gender=row.gender,
            birth_date=row.birth_date,
            student_number=MASKED.show_student_number(row.student_number, row.citizen_id),
            grade=row.grade,
            class_name=row.class_name,
            head_teacher_name=row.head_teacher_name,
            is_demo=row.is_demo,
            _row=row,
        )

    @strawberry.field(
        description="身份证号, always masked (652323********1234); studentReveal shows it, on the record."
    )
    def citizen_id(self) -> str:
        return MASKED.show_citizen_id(self._row.citizen_id)

    @strawberry.field
    async def school(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.school_id))

    @strawberry.field
    async def household(self, info: Info) -> HouseholdType:
        row = await info.context.loaders.household.load(self._row.household_id)
        shown = await disclosure(require_viewer(info), self._row)  # the same rule as the printed forms
        return HouseholdType(
            registration_place=row.registration_place,
            home_address=shown.show_address(row.home_address),
            family_situation=row.family_situation,
            _row=row,
            _shown=shown,
        )

    @strawberry.field(
        description="Facts recorded about this student (special groups, events), newest first.",
        deprecation_reason=replaced_by("factsConnection"),
    )
    async def facts(self, info: Info) -> list[Annotated[FactType, strawberry.lazy("api.types.fact")]]:
        from api.types.fact import FactType

        rows = await info.context.loaders.visible_under(require_viewer(info), Fact, "student_id").load(self._row.id)
        return [FactType.from_row(f) for f in sorted(rows, key=lambda f: -f.id)]

    @strawberry.field(description="Facts recorded about this student (special groups, events), newest first.")
    async def facts_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[FactType, strawberry.lazy("api.types.fact")]]:
        from api.types.fact import FactType

        return await nested_page(STUDENT_FACTS, require_viewer(info), self._row.id, first, after, FactType.from_row)

    @strawberry.field(
        description="Every case of this student, newest first.", deprecation_reason=replaced_by("casesConnection")
    )
    async def cases(self, info: Info) -> list[Annotated[CaseType, strawberry.lazy("api.types.case")]]:
        from api.types.case import CaseType

        rows = await info.context.loaders.visible_under(require_viewer(info), Case, "student_id").load(self._row.id)
        return [CaseType.from_row(c) for c in sorted(rows, key=lambda c: -c.id)]

    @strawberry.field(description="Every case of this student, newest first.")
    async def cases_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[CaseType, strawberry.lazy("api.types.case")]]:
        from api.types.case import CaseType

        return await nested_page(STUDENT_CASES, require_viewer(info), self._row.id, first, after, CaseType.from_row)

    @strawberry.field(description="The pupil's class (班级), if placed in one.")
    async def school_class(
        self, info: Info
    ) -> Annotated[SchoolClassType, strawberry.lazy("api.types.registers")] | None:
        from api.types.registers import SchoolClassType
        from models.registers import SchoolClass

        if self._row.school_class_id is None:
            return None
        row = await info.context.loaders.visible(require_viewer(info), SchoolClass).load(self._row.school_class_id)
        return SchoolClassType.from_row(row) if row else None  # a class is its school's: others see no class

    @strawberry.field(
        description="The pupil's place on the roll (学籍) on a day (today if left out), from the movements."
    )
    async def roll_status(
        self, info: Info, on: dt.date | None = None
    ) -> Annotated[RollStatusEnum, strawberry.lazy("api.types.registers")]:  # type: ignore[valid-type]
        from models import clock
        from tasks.registers.movements import roll_status_on

        return await roll_status_on(self._row.id, on or clock.today())

    @strawberry.field(
        description="学籍异动: the pupil's roll movements, oldest first.",
        deprecation_reason=replaced_by("rollMovementsConnection"),
    )
    async def roll_movements(
        self, info: Info
    ) -> list[Annotated[RollMovementType, strawberry.lazy("api.types.registers")]]:
        from api.types.registers import RollMovementType
        from models.registers import RollMovement

        loader = info.context.loaders.visible_under(require_viewer(info), RollMovement, "student_id", ("day", "id"))
        return [RollMovementType.from_row(r) for r in await loader.load(self._row.id)]

    @strawberry.field(description="学籍异动: the pupil's roll movements the viewer may see, oldest day first.")
    async def roll_movements_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[RollMovementType, strawberry.lazy("api.types.registers")]]:
        from api.types.registers import RollMovementType

        viewer = require_viewer(info)
        return await nested_page(STUDENT_MOVEMENTS, viewer, self._row.id, first, after, RollMovementType.from_row)
