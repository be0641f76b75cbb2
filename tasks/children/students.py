"""Recording a student with household and guardians; every field checked before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tortoise.transactions import in_transaction

from models import clock
from models.children import Gender, Guardian, GuardianRelation, Household, Student
from models.citizen_id import CitizenIdError, birth_date_of, normalise
from models.units import Unit, UnitKind
from models.users import User, UserRole
from tasks.errors import DomainError, ErrorCode, optional_text, required_text

PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
STUDENT_NUMBER = re.compile(r"^[A-Za-z0-9]{6,32}$")


@dataclass(frozen=True)
class GuardianData:
    name: str
    phone: str = ""
    occupation: str = ""


@dataclass(frozen=True)
class StudentData:
    name: str
    gender: Gender
    birth_date: date
    citizen_id: str
    school_id: int
    grade: int
    township_id: int
    class_name: str = ""
    student_number: str | None = None
    head_teacher_name: str = ""
    head_teacher_id: int | None = None
    village_id: int | None = None
    registration_place: str = ""
    home_address: str = ""
    family_situation: str = ""
    father: GuardianData | None = None
    mother: GuardianData | None = None
    is_demo: bool = False
    other_guardian: GuardianData | None = None  # 监护人 who is neither father nor mother (imports)


def _invalid(field_name: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> DomainError:
    return DomainError(code, message, field_name)


async def _unit_of_kind(unit_id: int | None, kind: UnitKind, field_name: str, label: str) -> Unit:
    unit = await Unit.get_or_none(id=unit_id) if unit_id is not None else None
    if unit is None or unit.kind is not kind:
        raise _invalid(field_name, f"没有找到这所{label} (unknown {label})", ErrorCode.NOT_FOUND)
    return unit


def _check_guardian(guardian: GuardianData | None, field_name: str) -> None:
    if guardian is None:
        return
    required_text(guardian.name, f"{field_name}.name", 100)
    optional_text(guardian.occupation, f"{field_name}.occupation", 100)
    if guardian.phone and not PHONE.match(guardian.phone):
        raise _invalid(f"{field_name}.phone", "电话号码格式不正确 (phone: digits, + - ( ) and spaces)")


def check_student(data: StudentData) -> tuple[str, str]:
    """Every field of a student that needs no database, as studentCreate and the roll import check it.

    Returns (name, citizen ID) in canonical form; raises DomainError naming the field.
    """
    name = required_text(data.name, "name", 100)
    try:
        citizen_id = normalise(data.citizen_id)
    except CitizenIdError as exc:
        raise _invalid("citizenId", str(exc)) from exc
    if birth_date_of(citizen_id) != data.birth_date:
        raise _invalid("birthDate", "出生日期与身份证号不一致 (birth date differs from the one in the citizen ID)")
    if data.birth_date > clock.today() or data.birth_date.year < 1990:
        raise _invalid("birthDate", "出生日期不可能 (impossible birth date)")
    if not 0 <= data.grade <= 12:
        raise _invalid("grade", "年级应在0（未入学）到12之间 (grade 0-12)")
    if data.student_number is not None and not STUDENT_NUMBER.match(data.student_number):
        raise _invalid("studentNumber", "全国学籍号应为6-32位字母或数字 (student number)")
    for text, field_name, longest in [
        (data.class_name, "className", 32),
        (data.head_teacher_name, "headTeacherName", 100),
        (data.registration_place, "registrationPlace", 200),
        (data.home_address, "homeAddress", 300),
        (data.family_situation, "familySituation", 2000),
    ]:
        optional_text(text, field_name, longest)
    _check_guardian(data.father, "father")
    _check_guardian(data.mother, "mother")
    _check_guardian(data.other_guardian, "guardian")
    return name, citizen_id


async def create_student(data: StudentData) -> Student:
    name, citizen_id = check_student(data)
    school = await _unit_of_kind(data.school_id, UnitKind.SCHOOL, "schoolId", "学校")
    if data.head_teacher_id is not None:
        teacher = await User.get_or_none(id=data.head_teacher_id)
        if teacher is None:
            raise _invalid("headTeacherId", "没有这位用户 (no such user)", ErrorCode.NOT_FOUND)
        if teacher.role is not UserRole.HEAD_TEACHER or teacher.unit_id != school.id or not teacher.is_active:
            raise _invalid(
                "headTeacherId", f"此人不是{school.name}的班主任 (not a head teacher of this school)",
                ErrorCode.NOT_A_HEAD_TEACHER,
            )  # fmt: skip
    township = await _unit_of_kind(data.township_id, UnitKind.TOWNSHIP, "townshipId", "乡镇")
    village = None
    if data.village_id is not None:
        village = await _unit_of_kind(data.village_id, UnitKind.VILLAGE, "villageId", "村（社区）")
        if village.parent_id != township.id:
            raise _invalid("villageId", f"{village.name}不属于{township.name} (village not in that township)")
    if await Student.exists(citizen_id=citizen_id):
        raise _invalid("citizenId", "该身份证号的学生已登记 (already recorded)", ErrorCode.DUPLICATE)
    if data.student_number and await Student.exists(student_number=data.student_number):
        raise _invalid("studentNumber", "该学籍号已登记 (already recorded)", ErrorCode.DUPLICATE)

    async with in_transaction():
        return await write_new_student(data, name, citizen_id, township.name)


async def write_new_student(data: StudentData, name: str, citizen_id: str, township_name: str) -> Student:
    """The household, its guardians and the student, for checked data; inside the caller's transaction."""
    household = await Household.create(
        township_id=data.township_id,
        village_id=data.village_id,
        registration_place=data.registration_place.strip() or township_name,
        home_address=data.home_address.strip(),
        family_situation=data.family_situation.strip(),
    )
    for relation, guardian in (
        (GuardianRelation.FATHER, data.father),
        (GuardianRelation.MOTHER, data.mother),
        (GuardianRelation.OTHER, data.other_guardian),
    ):
        if guardian is not None:
            await Guardian.create(
                household=household,
                relation=relation,
                name=guardian.name.strip(),
                phone=guardian.phone.strip(),
                occupation=guardian.occupation.strip(),
            )
    return await Student.create(
        name=name,
        gender=data.gender,
        birth_date=data.birth_date,
        citizen_id=citizen_id,
        student_number=data.student_number,
        school_id=data.school_id,
        grade=data.grade,
        class_name=data.class_name.strip(),
        head_teacher_id=data.head_teacher_id,
        head_teacher_name=data.head_teacher_name.strip(),
        household=household,
        is_demo=data.is_demo,
    )
