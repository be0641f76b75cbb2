"""The student roll extract (学籍, from the national student registry): pupils upserted by citizen ID.

Each row is checked with the cell checks and then with the same checks studentCreate uses
(tasks/children/students.py); a new pupil is written by the same function, with household and guardian.
A pupil already recorded is updated field by field from what the file gives (an empty cell changes
nothing), and the values it had are kept as an ImportChange.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.children import Guardian, GuardianRelation, Household, Student
from models.imports import ImportChange
from models.registers import SchoolClass
from tasks.children.students import GuardianData, StudentData, check_student, write_new_student
from tasks.errors import DomainError
from tasks.registers.classes import class_of_name, link_to_class
from tasks.registers.imports import checks
from tasks.registers.imports.base import Conflict, Outcome, RowChecker, RunContext, Values
from tasks.registers.imports.checks import RowCode
from tasks.registers.imports.run import wall_now

# studentCreate's field names → the import's
DOMAIN_FIELDS = {
    "name": "name",
    "citizenId": "citizen_id",
    "birthDate": "birth_date",
    "grade": "grade",
    "studentNumber": "student_number",
    "className": "class_name",
    "headTeacherName": "head_teacher",
    "registrationPlace": "registration_address",
    "homeAddress": "home_address",
}
RELATIONS = {"父亲": GuardianRelation.FATHER, "父": GuardianRelation.FATHER, "母亲": GuardianRelation.MOTHER,
             "母": GuardianRelation.MOTHER}  # fmt: skip
PUPIL_TEXTS = (
    ("class_name", 32),
    ("student_number", 32),
    ("registration_address", 200),
    ("home_address", 300),
    ("head_teacher", 100),
    ("guardian", 100),
    ("guardian_relation", 20),
)
OTHER_SCHOOL = "该学生在另一所学校的学籍上：转学请登记学籍异动 (a pupil of another school: record a transfer)"


@dataclass
class PupilRecord:
    line: int
    citizen_id: str
    data: StudentData
    given: frozenset[str]  # fields with a value in this row
    township_name: str
    guardian_relation: GuardianRelation | None


class RollImporter:
    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.numbers: dict[str, int] = {}  # 全国学籍号 → first line, for duplicates within the file
        self.classes: dict[tuple[int, int, str], SchoolClass] = {}

    async def school_class(self, data: StudentData, create: bool) -> SchoolClass | None:
        """The pupil's class by school, grade and name (made when missing, unless only counting)."""
        if not data.class_name.strip():
            return None
        key = (data.school_id, data.grade, data.class_name.strip())
        found = self.classes.get(key)
        if found is None:
            found = await SchoolClass.get_or_none(school_id=key[0], school_year="", grade=key[1], name=key[2])
            if found is None and create:
                found = await class_of_name(*key)
            if found is not None:
                self.classes[key] = found
        return found

    def parse(self, line: int, value: Values) -> tuple[PupilRecord | None, Sequence[Conflict]]:
        check = RowChecker(line)
        directory = self.context.directory
        name = check(checks.required, value("name"), "name", 100)
        citizen_id = check(checks.citizen_id, value("citizen_id"))
        born = gender = None
        if citizen_id:
            born = check(checks.birth_date, value("birth_date"), citizen_id, self.context.today)
            gender = check(checks.gender, value("gender"), citizen_id)
        school = check(directory.school, value("school"))
        grade = check(checks.grade, value("grade"))
        place = check(directory.place, value("township"), value("village"))
        texts: dict[str, Any] = check.texts(value, PUPIL_TEXTS)
        phone = check(checks.phone, value("phone")) or ""
        if school is not None and self.context.school_scope not in (None, school.id):
            message = "只能导入本校学生 (only your own school's pupils)"
            check.conflicts.append(Conflict(line, "school", checks.shown(value("school")), RowCode.NOT_YOURS, message))
        if check.conflicts:
            return None, check.conflicts
        township, village = place  # type: ignore[misc]
        relation = RELATIONS.get(texts["guardian_relation"]) if texts["guardian_relation"] else None
        guardian = GuardianData(name=texts["guardian"], phone=phone) if texts["guardian"] else None
        data = StudentData(
            name=name,  # type: ignore[arg-type]
            gender=gender,  # type: ignore[arg-type]
            birth_date=born,  # type: ignore[arg-type]
            citizen_id=citizen_id,  # type: ignore[arg-type]
            school_id=school.id,  # type: ignore[union-attr]
            grade=grade,  # type: ignore[arg-type]
            township_id=township.id,
            village_id=village.id if village else None,
            class_name=texts["class_name"],
            student_number=texts["student_number"] or None,
            head_teacher_name=texts["head_teacher"],
            registration_place=texts["registration_address"],
            home_address=texts["home_address"],
            father=guardian if relation is GuardianRelation.FATHER else None,
            mother=guardian if relation is GuardianRelation.MOTHER else None,
            other_guardian=guardian if relation is None else None,
        )
        try:
            check_student(data)
        except DomainError as error:
            field_name = DOMAIN_FIELDS.get(error.field or "", "guardian")
            return None, [Conflict(line, field_name, checks.shown(value(field_name)), RowCode.INVALID, error.message)]
        number = data.student_number
        if number:
            first = self.numbers.setdefault(number, line)
            if first != line:
                message = f"与第{first}行全国学籍号重复 (duplicate of line {first})"
                return None, [Conflict(line, "student_number", number, RowCode.DUPLICATE_IN_FILE, message)]
        given = frozenset([*(f for f, v in texts.items() if v), *(["village"] if village else [])])
        return PupilRecord(line, data.citizen_id, data, given, township.name, relation), []

    async def apply(self, records: Sequence[object], *, write: bool) -> Outcome:
        pupils: list[PupilRecord] = list(records)  # type: ignore[arg-type]
        outcome = Outcome()
        stored = {s.citizen_id: s for s in await Student.filter(citizen_id__in=[p.citizen_id for p in pupils])}
        households = {h.id: h for h in await Household.filter(id__in=[s.household_id for s in stored.values()])}
        guardians: dict[tuple[int, GuardianRelation], Guardian] = {}
        for g in await Guardian.filter(household_id__in=list(households)).order_by("id"):
            guardians.setdefault((g.household_id, g.relation), g)
        numbers = [p.data.student_number for p in pupils if p.data.student_number]
        owners = dict(await Student.filter(student_number__in=numbers).values_list("student_number", "citizen_id"))
        for pupil in pupils:
            data = pupil.data
            owner = owners.get(data.student_number) if data.student_number else None
            if owner is not None and owner != pupil.citizen_id:
                message = "该全国学籍号已属于另一名学生 (student number belongs to another pupil)"
                outcome.conflicts.append(
                    Conflict(pupil.line, "student_number", data.student_number or "", RowCode.DUPLICATE, message)
                )
                outcome.rejected += 1
                continue
            student = stored.get(pupil.citizen_id)
            if student is None:
                outcome.imported += 1
                if write:
                    created = await write_new_student(data, data.name.strip(), pupil.citizen_id, pupil.township_name)
                    placed = await self.school_class(data, create=True)
                    if placed is not None:
                        await link_to_class(created, placed)
                continue
            scope = self.context.school_scope
            if scope is not None and student.school_id != scope:
                outcome.conflicts.append(Conflict(pupil.line, "school", "", RowCode.NOT_YOURS, OTHER_SCHOOL))
                outcome.rejected += 1
                continue
            household = households[student.household_id]
            changes = _changes(pupil, student, household, guardians)
            placed = await self.school_class(data, create=write)
            if data.class_name.strip() and (placed is None or placed.id != student.school_class_id):
                changes["school_class_id"] = [student.school_class_id, placed.id if placed else None]
            if not changes:
                outcome.unchanged += 1
                continue
            outcome.updated += 1
            if write:
                await _update(self.context.run.id, pupil, student, household, guardians, changes)
                if placed is not None and "school_class_id" in changes:
                    await link_to_class(student, placed)
        return outcome


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else getattr(value, "value", value)


def _changes(
    pupil: PupilRecord, student: Student, household: Household, guardians: dict[tuple[int, GuardianRelation], Guardian]
) -> dict[str, list[object]]:
    data, given = pupil.data, pupil.given
    wanted: dict[str, tuple[object, object]] = {
        "name": (student.name, data.name.strip()),
        "gender": (student.gender, data.gender),
        "school_id": (student.school_id, data.school_id),
        "grade": (student.grade, data.grade),
        "household.township_id": (household.township_id, data.township_id),
    }
    optional = {
        "student_number": ("student_number", student.student_number, data.student_number),
        "class_name": ("class_name", student.class_name, data.class_name),
        "head_teacher": ("head_teacher_name", student.head_teacher_name, data.head_teacher_name),
        "registration_address": ("household.registration_place", household.registration_place, data.registration_place),
        "home_address": ("household.home_address", household.home_address, data.home_address),
        "village": ("household.village_id", household.village_id, data.village_id),
    }
    for field_name, (key, before, after) in optional.items():
        if field_name in given:
            wanted[key] = (before, after)
    guardian = data.father or data.mother or data.other_guardian
    if guardian is not None:
        relation = pupil.guardian_relation or GuardianRelation.OTHER
        stored = guardians.get((household.id, relation))
        wanted[f"guardian.{relation.value}.name"] = (stored.name if stored else None, guardian.name)
        if guardian.phone:
            wanted[f"guardian.{relation.value}.phone"] = (stored.phone if stored else None, guardian.phone)
    return {k: [_plain(b), _plain(a)] for k, (b, a) in wanted.items() if b != a}


async def _update(
    run_id: int,
    pupil: PupilRecord,
    student: Student,
    household: Household,
    guardians: dict[tuple[int, GuardianRelation], Guardian],
    changes: dict[str, list[object]],
) -> None:
    data = pupil.data
    student_fields = {k: getattr(data, k) for k in changes if "." not in k and k != "school_class_id"}
    if "name" in student_fields:
        student_fields["name"] = data.name.strip()
    if student_fields:
        await Student.filter(id=student.id).update(**student_fields)
    household_fields = {
        k.removeprefix("household."): getattr(data, k.removeprefix("household."))
        for k in changes
        if k.startswith("household.")
    }
    if household_fields:
        await Household.filter(id=household.id).update(**household_fields)
    guardian = data.father or data.mother or data.other_guardian
    if guardian is not None and any(k.startswith("guardian.") for k in changes):
        relation = pupil.guardian_relation or GuardianRelation.OTHER
        stored = guardians.get((household.id, relation))
        if stored is None:
            await Guardian.create(
                household_id=household.id, relation=relation, name=guardian.name, phone=guardian.phone
            )
        else:
            values = {"name": guardian.name, **({"phone": guardian.phone} if guardian.phone else {})}
            await Guardian.filter(id=stored.id).update(**values)
    await ImportChange.create(
        run_id=run_id, line=pupil.line, subject="student", subject_id=student.id, changes=changes, at=wall_now()
    )
