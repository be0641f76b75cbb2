"""Who may see and do what: the role matrix of docs/access.md, in one place.

A unit sees a child only while it has a reason (the child is in its school or township, or it
holds a task about the child); a head teacher sees the children of their own classes.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise.expressions import Q, Subquery

from models.cases import Case
from models.children import Household, Student
from models.facts import Fact, FactKind
from models.tasks import Task, TaskCooperator
from models.users import User, UserRole


class Act(StrEnum):
    CREATE_STUDENT = "CREATE_STUDENT"
    RECORD_ABSENCE = "RECORD_ABSENCE"  # and the return (销号)
    MANAGE_CASE = "MANAGE_CASE"  # open, close, reopen, file the report, name the follow-up person
    PERSUADE = "PERSUADE"  # add a persuasion record
    REVEAL = "REVEAL"  # show a sensitive field whole, with a purpose
    SEE_CONTACTS = "SEE_CONTACTS"  # phones and home address whole


SCHOOL_MANAGERS = {UserRole.SCHOOL_OFFICE, UserRole.SCHOOL_LEADER, UserRole.PRINCIPAL}
STEERING = {UserRole.OFFICE, UserRole.ADMIN}
SENSITIVE_FACTS = {
    FactKind.DISABILITY,
    FactKind.FAMILY_IN_DIFFICULTY,
    FactKind.PRISONER_PARENT,
    FactKind.DISABLED_PARENT,
    FactKind.ORPHAN,
}


def steers(user: User) -> bool:
    return user.role in STEERING


def _school_staff(user: User, student: Student) -> bool:
    """Of the student's school; a head teacher only for the children of their own classes."""
    if user.unit_id != student.school_id:
        return False
    return user.role is not UserRole.HEAD_TEACHER or student.head_teacher_id == user.id


async def _registered_with(user: User, student: Student) -> bool:
    household = await Household.get(id=student.household_id)
    return user.unit_id in (household.township_id, household.village_id)


def _tasks_of_unit(unit_id: int) -> Q:
    shared = Subquery(TaskCooperator.filter(unit_id=unit_id).values("task_id"))
    return Q(assignee_unit_id=unit_id) | Q(id__in=shared)


async def holds_task_about(user: User, student: Student) -> bool:
    about = Q(case__student_id=student.id) | Q(fact__student_id=student.id)
    return await Task.filter(about, _tasks_of_unit(user.unit_id)).exists()


async def student_visible(user: User, student: Student) -> bool:
    if steers(user) or _school_staff(user, student):
        return True
    if user.unit_id == student.school_id:  # a head teacher of another class
        return False
    return await _registered_with(user, student) or await holds_task_about(user, student)


def may_create_student(user: User, school_id: int) -> bool:
    return steers(user) or (user.unit_id == school_id and user.role in {UserRole.SCHOOL_OFFICE, UserRole.PRINCIPAL})


async def may(user: User, act: Act, student: Student) -> bool:
    if act is Act.SEE_CONTACTS:  # those who visit the family; the office too must reveal, on the record
        return _school_staff(user, student) or await _registered_with(user, student)
    if steers(user):
        return True
    if act is Act.CREATE_STUDENT:
        return may_create_student(user, student.school_id)
    if act is Act.MANAGE_CASE:
        return user.unit_id == student.school_id and user.role in SCHOOL_MANAGERS
    if act is Act.RECORD_ABSENCE:
        return _school_staff(user, student) and user.role in {*SCHOOL_MANAGERS, UserRole.HEAD_TEACHER}
    if act in (Act.PERSUADE, Act.REVEAL):
        return _school_staff(user, student) or await _registered_with(user, student)
    return False


async def fact_visible(user: User, fact: Fact, student: Student) -> bool:
    """Disability, poverty, a parent in prison ...: only for those who work on them."""
    if fact.kind not in SENSITIVE_FACTS or steers(user) or _school_staff(user, student):
        return True
    return await Task.filter(_tasks_of_unit(user.unit_id), fact_id=fact.id).exists()


async def case_visible(user: User, case: Case) -> bool:
    if steers(user):
        return True
    student = await Student.get(id=case.student_id)
    if user.unit_id == case.school_id:
        return _school_staff(user, student)
    if user.unit_id == case.township_id:
        return True
    return await Task.filter(_tasks_of_unit(user.unit_id), case_id=case.id).exists()


def visible_students(user: User) -> Q:
    """The same rule as student_visible, as a filter for lists."""
    if steers(user):
        return Q()
    unit = user.unit_id
    own_school = Q(school_id=unit, head_teacher_id=user.id) if user.role is UserRole.HEAD_TEACHER else Q(school_id=unit)
    households = Subquery(Household.filter(Q(township_id=unit) | Q(village_id=unit)).values("id"))
    tasks = Task.filter(_tasks_of_unit(unit))
    via_cases = Subquery(
        Case.filter(id__in=Subquery(tasks.filter(case_id__not_isnull=True).values("case_id"))).values("student_id")
    )
    via_facts = Subquery(
        Fact.filter(id__in=Subquery(tasks.filter(fact_id__not_isnull=True).values("fact_id"))).values("student_id")
    )
    elsewhere = Q(household_id__in=households) | Q(id__in=via_cases) | Q(id__in=via_facts)
    return own_school | (~Q(school_id=unit) & elsewhere)


def visible_cases(user: User) -> Q:
    if steers(user):
        return Q()
    unit = user.unit_id
    with_tasks = Subquery(Task.filter(_tasks_of_unit(unit), case_id__not_isnull=True).values("case_id"))
    if user.role is UserRole.HEAD_TEACHER:
        own = Q(school_id=unit, student__head_teacher_id=user.id)
    else:
        own = Q(school_id=unit)
    return own | Q(township_id=unit) | (~Q(school_id=unit) & Q(id__in=with_tasks))


# -- The registers (population register, household book, cross-check findings) ----------------------
# Kept as one block so it moves whole into a registry of filters per type.


def visible_census_books(user: User) -> Q:
    """学户册: the school that made it, the village (community) and the township it covers; all for the office."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:  # a head teacher sees the children of their classes, not the census
        return Q(id__in=[])
    unit = user.unit_id
    return Q(school_id=unit) | Q(village_group__village_id=unit) | Q(village_group__village__parent_id=unit)


def visible_findings(user: User) -> Q:
    """Cross-check findings: the township and school they are about, the unit asked to act; all for the office."""
    if steers(user):
        return Q()
    unit = user.unit_id
    if user.role is UserRole.HEAD_TEACHER:
        return Q(school_id=unit, student__head_teacher_id=user.id)
    return Q(township_id=unit) | Q(school_id=unit) | Q(unit_id=unit)


def visible_residents(user: User) -> Q:
    """The population register: the township and village (community) of registration; all for the office."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:
        return Q(id__in=[])
    return Q(township_id=user.unit_id) | Q(village_id=user.unit_id)
