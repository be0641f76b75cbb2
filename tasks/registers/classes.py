"""Classes (班级) and their head teachers (班主任); placing pupils in a class.

`Student.head_teacher_id` is the head teacher of the pupil's class, written in the same transaction as
the class or the placement changes, so the one visibility rule (tasks/access.py) follows the classes.
"""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models.cases import Case
from models.children import Student
from models.registers import SchoolClass
from models.tasks import OPEN_STATUSES, Task
from models.units import Unit, UnitKind
from models.users import User, UserRole
from tasks.access import sees, steers, student_visible
from tasks.errors import DomainError, ErrorCode, optional_text, required_text

SCHOOL_YEAR = r"^\d{4}-\d{4}$"
CLASS_MANAGERS = {UserRole.SCHOOL_OFFICE, UserRole.PRINCIPAL}


def manages_school(user: User, school_id: int) -> bool:
    """The school's office or principal, or the county office (steering)."""
    return steers(user) or (user.unit_id == school_id and user.role in CLASS_MANAGERS)


async def _school(school_id: int) -> Unit:
    school = await Unit.get_or_none(id=school_id)
    if school is None or school.kind is not UnitKind.SCHOOL:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这所学校 (school not found)", "schoolId")
    return school


async def _head_teacher(school_id: int, user_id: int | None, field: str = "headTeacherId") -> User | None:
    if user_id is None:
        return None
    teacher = await User.get_or_none(id=user_id)
    if (
        teacher is None
        or not teacher.is_active
        or teacher.unit_id != school_id
        or teacher.role is not UserRole.HEAD_TEACHER
    ):
        raise DomainError(
            ErrorCode.NOT_A_HEAD_TEACHER, "此人不是本校的班主任 (not a head teacher of this school)", field
        )
    return teacher


def _forbidden(field: str = "schoolId") -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, "只有本校教务处或校长可以管理班级 (school office or principal)", field)


async def class_for(user: User, class_id: int, field: str = "id") -> SchoolClass:
    school_class = await SchoolClass.get_or_none(id=class_id)
    if school_class is not None and user.role in CLASS_MANAGERS and user.unit_id != school_class.school_id:
        raise DomainError(ErrorCode.WRONG_SCHOOL, "这个班级属于其他学校 (the class is of another school)", field)
    if school_class is None or not await sees(user, SchoolClass, school_class.id):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这个班级 (class not found)", field)
    if not manages_school(user, school_class.school_id):
        raise _forbidden(field)
    return school_class


async def create_class(
    user: User, school_id: int, grade: int, name: str, school_year: str = "", head_teacher_id: int | None = None
) -> SchoolClass:
    school = await _school(school_id)
    if not manages_school(user, school.id):
        raise _forbidden()
    if not 0 <= grade <= 12:
        raise DomainError(ErrorCode.INVALID, "年级应在0到12之间 (grade 0-12)", "grade")
    title = required_text(name, "name", 32)
    year = optional_text(school_year, "schoolYear", 9)
    if year and not (re.match(SCHOOL_YEAR, year) and int(year[5:]) == int(year[:4]) + 1):
        raise DomainError(ErrorCode.INVALID, "学年写作2026-2027 (school year like 2026-2027)", "schoolYear")
    teacher = await _head_teacher(school.id, head_teacher_id)
    try:
        return await SchoolClass.create(school=school, school_year=year, grade=grade, name=title, head_teacher=teacher)
    except IntegrityError as exc:
        raise DomainError(ErrorCode.DUPLICATE, "本校已有同名班级 (the class exists)", "name") from exc


async def _derive_head_teacher(school_class: SchoolClass, teacher: User | None) -> None:
    """The class's pupils get its head teacher (one UPDATE); open head-teacher tasks of their cases follow."""
    await Student.filter(school_class_id=school_class.id).update(
        head_teacher_id=teacher.id if teacher else None, head_teacher_name=teacher.name if teacher else ""
    )
    cases = Subquery(
        Case.filter(student_id__in=Subquery(Student.filter(school_class_id=school_class.id).values("id")))
        .filter(school_id=school_class.school_id)
        .values("id")
    )
    await Task.filter(case_id__in=cases, assignee_role=UserRole.HEAD_TEACHER, status__in=list(OPEN_STATUSES)).update(
        assignee_id=teacher.id if teacher else None
    )


async def set_head_teacher(user: User, class_id: int, head_teacher_id: int | None) -> SchoolClass:
    """Name or change the class's head teacher (None: none for now)."""
    school_class = await class_for(user, class_id)
    teacher = await _head_teacher(school_class.school_id, head_teacher_id)
    async with in_transaction():
        await SchoolClass.filter(id=school_class.id).update(head_teacher_id=teacher.id if teacher else None)
        await _derive_head_teacher(school_class, teacher)
    return await SchoolClass.get(id=school_class.id)


async def place_pupil(user: User, class_id: int, student_id: int) -> Student:
    """Put a pupil of the class's school into the class: grade, class name and head teacher follow."""
    school_class = await class_for(user, class_id, "classId")
    student = await Student.get_or_none(id=student_id)
    if student is None or not await student_visible(user, student):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这名学生 (student not found)", "studentId")
    if student.school_id != school_class.school_id:
        raise DomainError(
            ErrorCode.WRONG_SCHOOL, "这名学生不在该班级所在学校 (the pupil is of another school)", "studentId"
        )
    teacher = await User.get_or_none(id=school_class.head_teacher_id) if school_class.head_teacher_id else None
    async with in_transaction():
        await Student.filter(id=student.id).update(
            school_class_id=school_class.id,
            grade=school_class.grade,
            class_name=school_class.name,
            head_teacher_id=teacher.id if teacher else None,
            head_teacher_name=teacher.name if teacher else "",
        )
        cases = Subquery(Case.filter(student_id=student.id, school_id=school_class.school_id).values("id"))
        await Task.filter(
            case_id__in=cases, assignee_role=UserRole.HEAD_TEACHER, status__in=list(OPEN_STATUSES)
        ).update(assignee_id=teacher.id if teacher else None)
    return await Student.get(id=student.id)


async def class_of_name(school_id: int, grade: int, name: str, school_year: str = "") -> SchoolClass:
    """The class with this name, made if missing (the loader and imports); no head teacher is named here."""
    school_class, _ = await SchoolClass.get_or_create(
        school_id=school_id, school_year=school_year, grade=grade, name=name.strip()
    )
    return school_class


async def link_to_class(student: Student, school_class: SchoolClass) -> None:
    """Link a pupil to a class without a user's check (loader, imports), the head teacher derived."""
    teacher = await User.get_or_none(id=school_class.head_teacher_id) if school_class.head_teacher_id else None
    await Student.filter(id=student.id).update(
        school_class_id=school_class.id,
        head_teacher_id=teacher.id if teacher else student.head_teacher_id,
        head_teacher_name=teacher.name if teacher else student.head_teacher_name,
    )
