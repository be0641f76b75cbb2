"""Who may see and do what: the role matrix of docs/access.md, in one place.

**One gate.** For every kind of record that reaches a viewer there is ONE function, registered in
`GATES` under its GraphQL type name: "the rows of this model the viewer may see", a Tortoise `Q`.
`node(id:)`, the top-level lists, the lists nested under an object (`Case.tasks`, `Student.cases`,
`Fact.tasks`, `Digest.reminders` ...), the printed forms and whatever exports, subscriptions or
webhooks come later all filter with it; the per-object questions (`sees`, `visible_row`,
`student_visible` ...) are that same filter with `id=pk`. A new type adds one entry:

    @gate("Classroom", Classroom)
    def visible_classrooms(user: User) -> Q: ...

Single objects reached through a visible object (`Case.student`, `Task.case`, `Task.assignee`,
`PersuasionRecord.case`) are visible by construction: each gate below includes the rows its
visible neighbours point at, so what a field returns is what `node(id:)` returns.
`tests/test_visibility_walk.py` checks that over the whole served schema, as every role.

A unit sees a child only while it has a reason (the child is in its school or township, or it
holds a task about the child); a head teacher sees the children of their own classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pypika_tortoise.context import SqlContext
from pypika_tortoise.enums import Dialects
from pypika_tortoise.terms import Criterion, Term
from tortoise.expressions import Q, ResolveContext, Subquery
from tortoise.models import Model
from tortoise.query_utils import QueryModifier

from models.cases import Case, CaseEvent, DropoutReport, PersuasionRecord, ReportRouting
from models.children import Household, Student
from models.citizen_id import mask, mask_address, mask_phone
from models.duties import Duty
from models.facts import Fact, FactKind
from models.imports import ImportRun
from models.live import WebhookDelivery, WebhookEndpoint
from models.office import AccountabilityMeasure, OfficeReport
from models.population import CensusBook, CrossCheckFinding, CrossCheckRun, Resident
from models.registers import GraduateHandover, HandoverLine, RollMovement, SchoolClass
from models.rules import Rule
from models.tasks import Task, TaskCooperator, TaskEvent
from models.units import Person, Unit
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


# ---------------------------------------------------------------------------------------------
# The gate: one filter per type
# ---------------------------------------------------------------------------------------------

Rows = Callable[[User], Q]


@dataclass(frozen=True)
class Gate:
    type_name: str  # the GraphQL type (and global-id prefix)
    model: type[Model]
    rows: Rows


GATES: dict[str, Gate] = {}


def gate(type_name: str, model: type[Model]) -> Callable[[Rows], Rows]:
    """Register `rows` as THE rule for `type_name`; a second registration of a name is a mistake."""

    def register(rows: Rows) -> Rows:
        if type_name in GATES:
            raise RuntimeError(f"{type_name} already has a gate ({GATES[type_name].rows.__qualname__})")
        GATES[type_name] = Gate(type_name, model, rows)
        return rows

    return register


def gate_of(kind: str | type[Model]) -> Gate:
    if isinstance(kind, str):
        return GATES[kind]
    for one in GATES.values():
        if one.model is kind:
            return one
    raise KeyError(f"{kind.__name__} has no gate in tasks/access.py")


def visible(kind: str | type[Model], user: User) -> Q:
    """The rows of this type the viewer may see, as a filter."""
    return gate_of(kind).rows(user)


async def visible_row(kind: str | type[Model], user: User, pk: int) -> Any:
    """The row if it exists and the viewer may see it, else None (the same answer for both)."""
    one = gate_of(kind)
    return await one.model.filter(one.rows(user), id=pk).first()


async def sees(user: User, kind: str | type[Model], pk: int) -> bool:
    one = gate_of(kind)
    return await one.model.filter(one.rows(user), id=pk).exists()


def _ids(model: type[Model], where: Q, column: str = "id") -> Subquery:
    return Subquery(model.filter(where).values(column))


class _AmongCriterion(Criterion):
    def __init__(self, column: Term, ids: Subquery, negated: bool) -> None:
        super().__init__()
        self.column, self.ids, self.negated = column, ids, negated

    def get_sql(self, ctx: SqlContext) -> str:
        column, ids = self.column.get_sql(ctx), self.ids.get_sql(ctx.copy(subquery=True))
        among = f"{column} = ANY(ARRAY{ids})" if ctx.dialect is Dialects.POSTGRESQL else f"{column} IN {ids}"
        return f"NOT {among}" if self.negated else among


class _Among(Q):
    """`column IN (subquery)`, written `column = ANY(ARRAY(subquery))` for PostgreSQL: the subquery (which
    depends on the viewer only) is then run once and its ids are an index condition, which PostgreSQL
    can combine with the other branches of an OR (a bitmap OR). Written as IN, the subquery becomes a
    hashed subplan, tested row by row, and an OR holding one scans the whole table."""

    __slots__ = ("column", "ids")

    def __init__(self, column: str, ids: Subquery) -> None:
        super().__init__()
        self.column, self.ids = column, ids

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Among) and (other.column, other.ids) == (self.column, self.ids)

    __hash__ = None  # type: ignore[assignment]

    def __invert__(self) -> Q:
        flipped = _Among(self.column, self.ids)
        flipped._is_negated = not self._is_negated
        return flipped

    def resolve(self, resolve_context: ResolveContext) -> QueryModifier:
        column = resolve_context.table[self.column]
        return QueryModifier(where_criterion=_AmongCriterion(column, self.ids, self._is_negated))


def _among(column: str, model: type[Model], where: Q, select: str = "id") -> Q:
    """The rows whose `column` is among the `select` values of `model`'s rows matching `where`."""
    return _Among(column, _ids(model, where, select))


def _everyone(user: User) -> Q:
    return Q()


for _name, _model in (("Unit", Unit), ("Person", Person), ("Duty", Duty), ("Rule", Rule)):
    gate(_name, _model)(_everyone)  # the organisation, the plan and the policy: everyone signed in


def _tasks_of_unit(unit_id: int) -> Q:
    return Q(assignee_unit_id=unit_id) | _among("id", TaskCooperator, Q(unit_id=unit_id), "task_id")


def head_teacher_tasks(viewer: User) -> Q:
    """Of their school's tasks, a head teacher sees those given to them and those about their own pupils."""
    of_pupils = _among("student_id", Student, Q(head_teacher_id=viewer.id))
    return Q(assignee_id=viewer.id) | _among("case_id", Case, of_pupils) | _among("fact_id", Fact, of_pupils)


@gate("Task", Task)
def visible_tasks(user: User) -> Q:
    """Its owner unit and cooperating units; a head teacher only theirs (above); office and admin all."""
    if steers(user):
        return Q()
    ours = _tasks_of_unit(user.unit_id)
    return ours & head_teacher_tasks(user) if user.role is UserRole.HEAD_TEACHER else ours


def _own_school(user: User, prefix: str = "") -> Q:
    """The viewer's school's children (a head teacher: their own pupils); `prefix` reaches them from a case."""
    mine = Q(**{f"{prefix}school_id": user.unit_id})
    if user.role is UserRole.HEAD_TEACHER:
        mine &= Q(**{f"{prefix}head_teacher_id": user.id})
    return mine


@gate("Case", Case)
def visible_cases(user: User) -> Q:
    """The school's cases (a head teacher: their pupils'), the township's, and those of the viewer's tasks."""
    if steers(user):
        return Q()
    school = Q(school_id=user.unit_id)
    if user.role is UserRole.HEAD_TEACHER:
        school &= _among("student_id", Student, Q(head_teacher_id=user.id))
    of_tasks = _among("id", Task, visible_tasks(user) & Q(case_id__not_isnull=True), "case_id")
    return school | Q(township_id=user.unit_id) | of_tasks


@gate("Student", Student)
def visible_students(user: User) -> Q:
    """Own school (head teacher: own pupils), registered in the viewer's township or village, or the
    child of a case or of a fact the viewer sees through a task."""
    if steers(user):
        return Q()
    unit = user.unit_id
    households = _among("household_id", Household, Q(township_id=unit) | Q(village_id=unit))
    of_cases = _among("id", Case, visible_cases(user), "student_id")
    task_facts = _among("id", Task, visible_tasks(user) & Q(fact_id__not_isnull=True), "fact_id")
    of_facts = _among("id", Fact, task_facts, "student_id")
    return _own_school(user) | households | of_cases | of_facts


@gate("Fact", Fact)
def visible_facts(user: User) -> Q:
    """Facts of a visible child; the sensitive kinds only for the child's school and units holding a task
    the fact created."""
    if steers(user):
        return Q()
    children = _among("student_id", Student, visible_students(user))
    own_pupils = _among("student_id", Student, _own_school(user))
    of_tasks = _among("id", Task, visible_tasks(user) & Q(fact_id__not_isnull=True), "fact_id")
    plain = children & ~Q(kind__in=[k.value for k in SENSITIVE_FACTS])
    return plain | own_pupils | of_tasks


@gate("PersuasionRecord", PersuasionRecord)
def visible_persuasion_records(user: User) -> Q:
    return Q() if steers(user) else _among("case_id", Case, visible_cases(user))


@gate("DropoutReport", DropoutReport)
def visible_reports(user: User) -> Q:
    return Q() if steers(user) else _among("case_id", Case, visible_cases(user))


@gate("ReportRouting", ReportRouting)
def visible_routings(user: User) -> Q:
    return Q() if steers(user) else _among("report_id", DropoutReport, visible_reports(user))


@gate("User", User)
def visible_users(user: User) -> Q:
    """People of the viewer's unit, and whoever is named on something the viewer sees: a task's assignee,
    who acted in a task's history or a case's timeline, who recorded a persuasion or filed a report."""
    if steers(user):
        return Q()
    tasks = _among("task_id", Task, visible_tasks(user))
    cases = _among("case_id", Case, visible_cases(user))
    named = (
        _among("id", Task, visible_tasks(user) & Q(assignee_id__not_isnull=True), "assignee_id")
        | _among("id", TaskEvent, tasks & Q(actor_id__not_isnull=True), "actor_id")
        | _among("id", CaseEvent, cases & Q(actor_id__not_isnull=True), "actor_id")
        | _among("id", PersuasionRecord, cases & Q(recorded_by_id__not_isnull=True), "recorded_by_id")
        | _among("id", DropoutReport, cases & Q(filed_by_id__not_isnull=True), "filed_by_id")
    )
    return Q(unit_id=user.unit_id) | named


@gate("SchoolClass", SchoolClass)
def visible_classes(user: User) -> Q:
    """A school's staff see its classes; a head teacher only their own."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:
        return Q(school_id=user.unit_id, head_teacher_id=user.id)
    return Q(school_id=user.unit_id)


@gate("RollMovement", RollMovement)
def visible_movements(user: User) -> Q:
    """The schools on the movement and the pupil's school; anyone else who sees the pupil."""
    if steers(user):
        return Q()
    unit = user.unit_id
    pupils_here = _among("student_id", Student, Q(school_id=unit))
    seen = _among("student_id", Student, visible_students(user))
    return Q(school_id=unit) | Q(other_school_id=unit) | pupils_here | seen


@gate("GraduateHandover", GraduateHandover)
def visible_handovers(user: User) -> Q:
    """The sending primary school and the receiving middle school (not their head teachers)."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:
        return Q(id=0)  # none: ids start at 1
    return Q(primary_school_id=user.unit_id) | Q(middle_school_id=user.unit_id)


@gate("HandoverLine", HandoverLine)
def visible_handover_lines(user: User) -> Q:
    return Q() if steers(user) else _among("handover_id", GraduateHandover, visible_handovers(user))


# ---------------------------------------------------------------------------------------------
# Per-object questions: the same filters, one row at a time
# ---------------------------------------------------------------------------------------------


async def student_visible(user: User, student: Student) -> bool:
    return await sees(user, Student, student.id)


async def case_visible(user: User, case: Case) -> bool:
    return await sees(user, Case, case.id)


async def fact_visible(user: User, fact: Fact, student: Student | None = None) -> bool:
    return await sees(user, Fact, fact.id)


async def task_visible(user: User, task: Task) -> bool:
    return await sees(user, Task, task.id)


# The facts the disabled persons' federation (county_units.disabled_federation) owns and may record about any
# child of the county, seen or not (四(一)4: it grades disabled children); it then sees the child by its tasks.
FEDERATION_FACTS = {FactKind.DISABILITY, FactKind.DISABLED_PARENT}


async def may_record_fact(user: User, kind: FactKind, student: Student) -> bool:
    if await student_visible(user, student):
        return True
    if kind not in FEDERATION_FACTS:
        return False
    from models.rules import PolicySetting

    roles = await PolicySetting.get_or_none(key="county_units")
    code = (roles.value if roles else {}).get("disabled_federation") or "disabled-federation"
    return await Unit.exists(id=user.unit_id, code=code)


# ---------------------------------------------------------------------------------------------
# Acts: what a viewer may do to a child they see, and which fields they see whole
# ---------------------------------------------------------------------------------------------


def _school_staff(user: User, student: Student) -> bool:
    """Of the student's school; a head teacher only for the children of their own classes."""
    if user.unit_id != student.school_id:
        return False
    return user.role is not UserRole.HEAD_TEACHER or student.head_teacher_id == user.id


async def _registered_with(user: User, student: Student) -> bool:
    household = await Household.get(id=student.household_id)
    return user.unit_id in (household.township_id, household.village_id)


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


# ---------------------------------------------------------------------------------------------
# Sensitive fields: whole or masked, decided here for the API and the printed forms alike
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disclosure:
    """Which of a child's sensitive fields a viewer sees whole. The citizen ID (and a 全国学籍号 that
    carries it) is whole only when revealed with a purpose; phones and the home address are whole for
    those who visit the family (Act.SEE_CONTACTS) or when revealed."""

    citizen_id: bool
    contacts: bool

    def show_citizen_id(self, value: str) -> str:
        return value if self.citizen_id else mask(value)

    def show_student_number(self, value: str | None, citizen_id: str) -> str | None:
        """A national student number is often G + the citizen ID: then it is masked like the ID."""
        if value is None or self.citizen_id or not citizen_id or citizen_id not in value:
            return value
        return value.replace(citizen_id, mask(citizen_id))

    def show_phone(self, value: str) -> str:
        return value if self.contacts else mask_phone(value)

    def show_address(self, value: str) -> str:
        return value if self.contacts else mask_address(value)


MASKED = Disclosure(citizen_id=False, contacts=False)  # for lists and exports that show no contacts at all


class NotYoursToReveal(Exception):
    pass


async def disclosure(user: User, student: Student, *, revealed: bool = False) -> Disclosure:
    """`revealed`: the viewer asks for every field whole, with a purpose that the caller records
    (`studentReveal`, a download with `?purpose=`); allowed to those who may Act.REVEAL."""
    if revealed:
        if not await may(user, Act.REVEAL, student):
            raise NotYoursToReveal(f"user {user.id} may not reveal student {student.id}")
        return Disclosure(citizen_id=True, contacts=True)
    return Disclosure(citizen_id=False, contacts=await may(user, Act.SEE_CONTACTS, student))


# Imports: the units that own the data load it (四(一)4, 四(二)4, the national roll).
POLICE_UNITS = {"police"}
EDUCATION_UNITS = {"education", "education-section"}


def may_import(user: User, kind: str, unit_code: str, unit_is_school: bool) -> bool:
    """The police its extract; schools (their managers) their census sheets and their own pupils;
    the education bureau, its section and the office the roll; administrators anything."""
    if user.role is UserRole.ADMIN:
        return True
    if kind == "POPULATION":
        return unit_code in POLICE_UNITS
    school_manager = unit_is_school and user.role in SCHOOL_MANAGERS
    if kind == "ROLL":
        return school_manager or unit_code in EDUCATION_UNITS or user.role is UserRole.OFFICE
    if kind == "CENSUS":
        return school_manager
    return False


def import_scope(kind: object, unit: object | None, user: User | None) -> int | None:
    """A school loading its own roll writes only its own pupils: the school's id; None for the county's units."""
    from models.units import UnitKind

    if unit is not None and getattr(unit, "kind", None) is UnitKind.SCHOOL and str(kind) == "ROLL":
        return int(unit.id)  # type: ignore[attr-defined]
    return None


@gate("ImportRun", ImportRun)
def visible_import_runs(user: User) -> Q:
    """Imports: the office and administrators see all; others those of their unit (not head teachers) and
    their own."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:
        return Q(uploaded_by_id=user.id)
    return Q(unit_id=user.unit_id) | Q(uploaded_by_id=user.id)


@gate("WebhookEndpoint", WebhookEndpoint)
def visible_webhook_endpoints(user: User) -> Q:
    """Webhook endpoints and their deliveries: administrators only (a secret's owner is the county)."""
    return Q() if user.role is UserRole.ADMIN else Q(id__isnull=True)


@gate("WebhookDelivery", WebhookDelivery)
def visible_webhook_deliveries(user: User) -> Q:
    return Q() if user.role is UserRole.ADMIN else Q(id__isnull=True)


def figure_units(user: User) -> frozenset[int] | None:
    """Whose rows of the office's figures a viewer sees: every unit's (None) for the office, else its own
    unit's; a head teacher none (their unit's figures would count tasks they may not open)."""
    if steers(user):
        return None
    if user.role is UserRole.HEAD_TEACHER:
        return frozenset()
    return frozenset({user.unit_id})


# -- The registers (population register, household book, cross-check findings) ----------------------
# Kept as one block so it moves whole into a registry of filters per type.


@gate("HouseholdBook", CensusBook)
def visible_census_books(user: User) -> Q:
    """学户册: the school that made it, the village (community) and the township it covers; all for the office."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:  # a head teacher sees the children of their classes, not the census
        return Q(id__isnull=True)
    unit = user.unit_id
    return Q(school_id=unit) | Q(village_group__village_id=unit) | Q(village_group__village__parent_id=unit)


@gate("CrossCheckFinding", CrossCheckFinding)
def visible_findings(user: User) -> Q:
    """Cross-check findings: the township and school they are about, the unit asked to act; all for the office."""
    if steers(user):
        return Q()
    unit = user.unit_id
    if user.role is UserRole.HEAD_TEACHER:
        return Q(school_id=unit, student__head_teacher_id=user.id)
    return Q(township_id=unit) | Q(school_id=unit) | Q(unit_id=unit)


@gate("CrossCheckRun", CrossCheckRun)
def visible_crosscheck_runs(user: User) -> Q:
    """A run's counts are the county's: everyone signed in (its findings have their own gate)."""
    return Q()


@gate("AccountabilityMeasure", AccountabilityMeasure)
def visible_measures(user: User) -> Q:
    """约谈, 通报, 限期整改: the office sees all; a unit those recorded against it."""
    return Q() if steers(user) else Q(unit_id=user.unit_id)


@gate("OfficeReport", OfficeReport)
def visible_office_reports(user: User) -> Q:
    """The office sees every report; a unit those it files, and a township its own evaluation."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:
        return Q(id__isnull=True)
    return Q(unit_id=user.unit_id) | Q(subject_id=user.unit_id)


@gate("Resident", Resident)
def visible_residents(user: User) -> Q:
    """The population register: the township and village (community) of registration; all for the office."""
    if steers(user):
        return Q()
    if user.role is UserRole.HEAD_TEACHER:
        return Q(id__isnull=True)
    return Q(township_id=user.unit_id) | Q(village_id=user.unit_id)
