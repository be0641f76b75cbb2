"""Read queries compiled to one SQL statement whose answer is the response's JSON, built by PostgreSQL.

As PostGraphile does it: the selection becomes nested json_build_object / json_agg subqueries over
the tables, one statement per request, and Python only parses the JSON and sends it. Each root list
starts from the queryset the resolver itself pages (tasks.queue.lists.every_task,
tasks.ladder.case_queries.case_query / student_query, the visibility filters of tasks/access.py),
rendered to SQL (models/json_select.py): the compiled read filters by the same rule and in the same
order, with the same cursors. Leaves are written as the API's Python writes them (global ids, county
time, masked citizen ids).

Compiled: the office's `tasks`, anyone's `cases`, `students`, `units` and `duties` (not an owner unit's:
the resolver looks the unit up first), `viewer { taskQueue }` (a unit's queue,
its page from the queue's own statement, tasks/queue/unit_page.py; not a head teacher's, nor one
filtered beyond statuses) (connections: edges, cursor, node, nodes, pageInfo, totalCount),
`unit(code:)`, `case(id:)`, `node(id:)` and `nodes(ids:)` (NODES: Student, Task, Case, Unit, Fact, Duty,
User, Person, SchoolClass, Rule, RollMovement, PersuasionRecord, DropoutReport, ReportRouting, each through
its gate as api.node_lookup.resolve_node reads it; null for a
malformed id, a type without a node or a row not seen; a type whose fragment is not compiled declines the ids of
that type), and below them Task, Unit, Case, Student, Fact,
FollowUp, User, Duty (its trigger and deadline, DutyParty), CaseEvent, TaskEvent, TaskPart, FieldChange,
Member and Person fields that are columns or follow a foreign key (Task.assigneeUnit, Task.case,
Task.assignee, Task.duty, Task.fact, User.unit, Case.student, Case.school, Case.township, Unit.parent,
Student.school, the events' actor, Member.person and unit, TaskPart.unit), Task.whyMine (the viewer's unit
and whether it sees every unit given as parameters), Task.cooperatingUnits, the lists Case.tasks, Fact.tasks,
Student.cases, Student.facts (with the gate's rule), Duty.owners and cooperators, Task.parts (its cooperator
links, each a TaskPart), TaskEvent.changes (JSON_ENTRIES: the entries of the jsonb column, each value as
str() writes it; a float, a list or an object among them is not written, and the answer holding it is
declined: models.json_select.python_str), the
connections of api/types/nested_lists.py whose node type is compiled, and Unit.tasks and Unit.duties
(ROW_CONNECTIONS: the resolver's own querysets, the unit's columns written into them). The registers' Absence,
PersuasionRecord, DropoutReport, ReportRouting and RollMovement (its schools) too, Rule (Task.rule, Rule.duty; its spec
as stored), SchoolClass (its school and head teacher), Unit.classes and SchoolClass.pupils (ROW_CONNECTIONS, the
querysets of api/types/registers.py), and the objects by a foreign key through their type's gate, null where it hides
them (GATED_BY_KEY: Student.schoolClass, RollMovement.student and arrivalCase). Anything else is
`Unsupported` when the document is compiled, or `Decline` for one request (another viewer's scope, an
argument the resolver would refuse): the request then goes the present way (api.compiled.plan or
Strawberry), which answers the same bytes.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from types import SimpleNamespace
from typing import Any, cast

import orjson
from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationType,
    get_named_type,
    get_operation_ast,
    parse,
    visit,
)
from graphql.execution.values import get_argument_values
from pypika_tortoise.terms import LiteralValue
from strawberry import Schema
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.fields import CharField, DateField, DatetimeField, TextField

from api.compiled.compiler import STRAWBERRY_FIELD, _Planner, _RefuseDirectives
from api.compiled.plan import Unsupported
from api.errors import BadUserInput
from api.ids import BadGlobalId, parse_global_id
from api.types.nested_lists import NESTED_LISTS, NestedList
from config import settings
from models import clock
from models.cases import Case
from models.children import Student
from models.duties import Duty, PartyRole
from models.facts import Fact
from models.json_select import (
    UNWRITTEN,
    Params,
    cursor,
    global_id,
    iso_day,
    iso_moment,
    literal,
    local_day,
    masked_citizen_id,
    masked_student_number,
    python_str,
    rendered,
    row_condition,
)
from models.paging import CursorError, SortKey, after_condition, cursor_values
from models.registers import SchoolClass
from models.tasks import OPEN_STATUSES, Task
from models.units import Unit
from models.users import User, UserRole
from tasks import access

Sql = str


class Decline(Exception):
    """This request is answered the present way (a plan or Strawberry)."""


@dataclass
class Env:
    """One request's compilation: the viewer, the coerced variables, the parameters, fresh aliases."""

    viewer: User
    variables: dict[str, Any]
    p: Params
    now: datetime
    aliases: itertools.count  # type: ignore[type-arg]
    # Conditions the whole answer stands on (a unit named by an argument exists): when one fails, the statement
    # answers DECLINED and the request goes to the resolvers, which say what is wrong.
    guards: list[Sql] = field(default_factory=list)
    # A value the statement may find it cannot write (json_select.UNWRITTEN): an answer holding one is declined.
    may_be_unwritten: bool = False

    def alias(self) -> str:
        return f"a{next(self.aliases)}"


# A compiled field: given the alias of its parent's row, the SQL of its JSON value.
FieldSql = Callable[[str, Env], Sql]


def _text(value: str) -> Sql:
    assert "'" not in value
    return f"'{value}'::text"


def _col(name: str) -> FieldSql:
    return lambda row, env: f'{row}."{name}"'


def _moment(name: str) -> FieldSql:
    return lambda row, env: iso_moment(f'{row}."{name}"')


def _day(name: str) -> FieldSql:
    return lambda row, env: iso_day(f'{row}."{name}"')


def _gid(type_name: str) -> FieldSql:
    return lambda row, env: global_id(type_name, f'{row}."id"')


def _document_url(type_name: str) -> FieldSql:
    """A printed form's URL, as the types write it: /documents/<global id>.docx."""
    gid = _gid(type_name)
    return lambda row, env: f"('/documents/' || {gid(row, env)} || '.docx')"


def _routing_document(row: str) -> Sql:
    """ReportRoutingType.document_url: the report's form for this receiver, its id as urllib.parse.quote writes
    it (of base64's characters, + and = escaped, / kept)."""
    report, receiver = global_id("DropoutReport", f'{row}."report_id"'), global_id("Unit", f'{row}."receiver_id"')
    quoted = f"replace(replace({receiver}, '+', '%2B'), '=', '%3D')"
    return f"('/documents/' || {report} || '.docx?receiver=' || {quoted})"


def _overdue(row: str, env: Env) -> Sql:
    statuses = ", ".join(literal(s) for s in OPEN_STATUSES)
    return f'({row}."status" IN ({statuses}) AND {row}."due_at" < {env.p(env.now)})'


LEAVES: dict[str, dict[str, FieldSql]] = {
    "Task": {
        "id": _gid("Task"),
        "title": _col("title"),
        "description": _col("description"),
        "kind": _col("kind"),
        "status": _col("status"),
        "dueAt": _moment("due_at"),
        "dueDate": lambda row, env: local_day(f'{row}."due_at"'),
        "overdue": _overdue,
        "outcome": _col("outcome"),
        "version": _col("version"),
        "createdAt": _moment("created_at"),
        "updatedAt": _moment("updated_at"),
        "assigneeRole": _col("assignee_role"),
        "escalationLevel": _col("escalation_level"),
        "outcomeOptions": lambda row, env: f'{row}."outcome_options"::json',
        "whyMine": lambda row, env: _why_mine(row, env),
    },
    "Unit": {
        "id": _gid("Unit"),
        "code": _col("code"),
        "name": _col("name"),
        "kind": _col("kind"),
        "schoolLevel": _col("school_level"),
        "isDemo": _col("is_demo"),
    },
    "Case": {
        "id": _gid("Case"),
        "kind": _col("kind"),
        "status": _col("status"),
        "stage": _col("stage"),
        "absentSince": _day("absent_since"),
        "episode": _col("episode"),
        "escalationLevel": _col("escalation_level"),
        "returnedOn": _day("returned_on"),
        "closeReason": _col("close_reason"),
        "closeEvidence": _col("close_evidence"),
        "openedAt": _moment("opened_at"),
        "closedAt": _moment("closed_at"),
        "version": _col("version"),
    },
    "Student": {
        "id": _gid("Student"),
        "name": _col("name"),
        "gender": _col("gender"),
        "birthDate": _day("birth_date"),
        "studentNumber": lambda row, env: masked_student_number(f'{row}."student_number"', f'{row}."citizen_id"'),
        "grade": _col("grade"),
        "className": _col("class_name"),
        "headTeacherName": _col("head_teacher_name"),
        "isDemo": _col("is_demo"),
        "citizenId": lambda row, env: masked_citizen_id(f'{row}."citizen_id"'),
    },
    "Fact": {
        "id": _gid("Fact"),
        "kind": _col("kind"),
        "status": _col("status"),
        "notedOn": _day("noted_on"),
        "source": _col("source"),
        "reason": _col("reason"),
        "disabilityKind": _col("disability_kind"),
        "graded": _col("graded"),
        "detail": _col("detail"),
        "recordedAt": _moment("recorded_at"),
        "withdrawnAt": _moment("withdrawn_at"),
        "withdrawnReason": _col("withdrawn_reason"),
    },
    "FollowUp": {"name": _col("follow_up_name"), "phone": _col("follow_up_phone")},
    "User": {"id": _gid("User"), "name": _col("name"), "role": _col("role")},
    "Duty": {
        "id": _gid("Duty"),
        "code": _col("code"),
        "clause": _col("clause"),
        "title": _col("title"),
        "text": _col("text"),
    },
    "DutyTrigger": {"kind": _col("trigger_kind"), "text": _col("trigger_text")},  # Duty's own columns
    "DeadlineRule": {
        "rule": _col("deadline_rule"),
        "text": _col("deadline_text"),
        "isDefault": _col("deadline_is_default"),
    },
    "DutyParty": {"role": _col("role"), "unitKind": _col("unit_kind")},
    "Rule": {  # api/types/rule.py; the policy file's spec as stored (jsonb: its keys in jsonb's order either way)
        "id": _gid("Rule"),
        "code": _col("code"),
        "kind": _col("kind"),
        "title": _col("title"),
        "clause": _col("clause"),
        "spec": lambda row, env: f'{row}."spec"::json',
    },
    "CaseEvent": {"at": _moment("at"), "action": _col("action"), "detail": _col("detail")},
    "TaskEvent": {"at": _moment("at"), "action": _col("action"), "comment": _col("comment")},  # changes: JSON_ENTRIES
    "Member": {"role": _col("role")},
    "Person": {"id": _gid("Person"), "name": _col("name"), "title": _col("title"), "isDemo": _col("is_demo")},
    "Absence": {"day": _day("day"), "note": _col("note")},
    "PersuasionRecord": {
        "id": _gid("PersuasionRecord"),
        "kind": _col("kind"),
        "result": _col("result"),
        "heldAt": _moment("held_at"),
        "persuaders": _col("persuaders"),
        "process": _col("process"),
        "familySituation": _col("family_situation"),
        "parentsAttitude": _col("parents_attitude"),
        "studentAttitude": _col("student_attitude"),
        "schoolOpinion": _col("school_opinion"),
        "documentUrl": _document_url("PersuasionRecord"),
    },
    "DropoutReport": {
        "id": _gid("DropoutReport"),
        "absentFrom": _day("absent_from"),
        "absentTo": _day("absent_to"),
        "persuasionCount": _col("persuasion_count"),
        "situation": _col("situation"),
        "contactPerson": _col("contact_person"),
        "contactPhone": _col("contact_phone"),
        "filedAt": _moment("filed_at"),
        "documentUrl": _document_url("DropoutReport"),
    },
    "ReportRouting": {
        "id": _gid("ReportRouting"),
        "sentAt": _moment("sent_at"),
        "senderName": _col("sender_name"),
        "receivedAt": _moment("received_at"),
        "receiverName": _col("receiver_name"),
        "receiverContact": _col("receiver_contact"),
        "result": _col("result"),
        "resultAt": _moment("result_at"),
        "documentUrl": lambda row, env: _routing_document(row),
    },
    "TaskPart": {"doneAt": _moment("part_done_at"), "note": _col("part_note")},  # a task_cooperator row
    "FieldChange": {  # an entry of a JSON object: its key, its value (a [before, after] pair)
        "field": _col("key"),
        "before": lambda row, env: _changed(row, 0, env),
        "after": lambda row, env: _changed(row, 1, env),
    },
    "SchoolClass": {
        "id": _gid("SchoolClass"),
        "schoolYear": _col("school_year"),
        "grade": _col("grade"),
        "name": _col("name"),
    },
    "RollMovement": {
        "id": _gid("RollMovement"),
        "kind": _col("kind"),
        "day": _day("day"),
        "scope": _col("scope"),
        "otherPlace": _col("other_place"),
        "leaveReason": _col("leave_reason"),
        "expectedReturn": _day("expected_return"),
        "grade": _col("grade"),
        "evidence": _col("evidence"),
        "note": _col("note"),
        "recordedByName": _col("recorded_by_name"),
        "recordedAt": _moment("recorded_at"),
        "arrivalConfirmedAt": _moment("arrival_confirmed_at"),
    },
}
TABLES = {
    "Task": "task",
    "Unit": "unit",
    "Case": "dropout_case",
    "Student": "student",
    "Fact": "fact",
    "User": "app_user",
    "Duty": "duty",
    "DutyParty": "duty_party",
    "CaseEvent": "case_event",
    "TaskEvent": "task_event",
    "Member": "membership",
    "Person": "person",
    "Rule": "rule",
    "SchoolClass": "school_class",
    "Absence": "absence",
    "DropoutReport": "dropout_report",
    "ReportRouting": "report_routing",
    "PersuasionRecord": "persuasion_record",
    "RollMovement": "roll_movement",
    "TaskPart": "task_cooperator",
}
# An object by a foreign key of its parent's row: (type, the parent's column).
BY_KEY: dict[str, dict[str, tuple[str, str]]] = {
    "Task": {
        "assigneeUnit": ("Unit", "assignee_unit_id"),
        "case": ("Case", "case_id"),
        "assignee": ("User", "assignee_id"),
        "duty": ("Duty", "duty_id"),
        "fact": ("Fact", "fact_id"),
        "rule": ("Rule", "rule_id"),
    },
    "User": {"unit": ("Unit", "unit_id")},
    "Case": {
        "student": ("Student", "student_id"),
        "school": ("Unit", "school_id"),
        "township": ("Unit", "township_id"),
    },
    "Unit": {"parent": ("Unit", "parent_id")},
    "PersuasionRecord": {"recordedBy": ("User", "recorded_by_id"), "case": ("Case", "case_id")},
    "RollMovement": {"school": ("Unit", "school_id"), "otherSchool": ("Unit", "other_school_id")},
    "DropoutReport": {"filedBy": ("User", "filed_by_id")},
    "ReportRouting": {"receiver": ("Unit", "receiver_id")},
    "Student": {"school": ("Unit", "school_id")},
    "DutyParty": {"unit": ("Unit", "unit_id")},
    "CaseEvent": {"actor": ("User", "actor_id")},
    "TaskEvent": {"actor": ("User", "actor_id")},
    "Member": {"person": ("Person", "person_id"), "unit": ("Unit", "unit_id")},
    "TaskPart": {"unit": ("Unit", "unit_id")},
    "Rule": {"duty": ("Duty", "duty_id")},
    "SchoolClass": {"school": ("Unit", "school_id"), "headTeacher": ("User", "head_teacher_id")},
}
# An object made of its parent's own columns: (the object's type).
SAME_ROW: dict[str, dict[str, str]] = {"Duty": {"trigger": "DutyTrigger", "deadline": "DeadlineRule"}}
# A list under an object, as its resolver orders it: (type, the child's column holding the parent's id, order).
LISTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "Case": {"tasks": ("Task", "case_id", '"due_at", "id"')},
    "Fact": {"tasks": ("Task", "fact_id", '"due_at", "id"')},
    "Student": {"cases": ("Case", "student_id", '"id" DESC'), "facts": ("Fact", "student_id", '"id" DESC')},
    "Duty": {  # the duty_parties loader's order, each role's parties (api/types/duty.py)
        "owners": ("DutyParty", "duty_id", '"position", "id"'),
        "cooperators": ("DutyParty", "duty_id", '"position", "id"'),
    },
    "Task": {"parts": ("TaskPart", "task_id", '"id"')},  # the cooperators loader's order
}


def _gated(model: Any) -> Callable[[str, str, Env], Sql | None]:
    """A list under an object shows the rows its resolver shows: those of the one gate (tasks/access.py)."""

    def condition(child: str, parent: str, env: Env) -> Sql | None:
        rows = access.visible(model, env.viewer)
        if access.steers(env.viewer) or not rows:  # every row (Q(): no filter)
            return None
        seen = rendered(model.filter(rows).values("id"), env.p)
        # On the child row itself where the gate reads only the child's table: no second lookup of each row.
        return row_condition(seen, model._meta.db_table) or f'{child}."id" IN ({seen})'

    return condition


# A list of units through a link table, in the links' order (Task.cooperatingUnits: the cooperators loader, by id).
LINKED: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "Task": {"cooperatingUnits": ("Unit", "task_cooperator", "task_id", "unit_id")},
}

LIST_FILTERS: dict[tuple[str, str], Callable[[str, str, Env], Sql | None]] = {
    ("Case", "tasks"): _gated(Task),
    ("Fact", "tasks"): _gated(Task),
    ("Student", "cases"): _gated(Case),
    ("Student", "facts"): _gated(Fact),
    ("Duty", "owners"): lambda child, parent, env: f'{child}."role" = {literal(PartyRole.OWNER)}',
    ("Duty", "cooperators"): lambda child, parent, env: f'{child}."role" = {literal(PartyRole.COOPERATOR)}',
}
# A list of the entries of a JSON object column, in the order Python's dict of it has them: (type, the column).
# The column is jsonb: its entries are stored, written out and read back (orjson) in one order, jsonb_each's.
JSON_ENTRIES: dict[str, dict[str, tuple[str, str]]] = {"TaskEvent": {"changes": ("FieldChange", "changes")}}


def _changed(entry: str, side: int, env: Env) -> Sql:
    """TaskEventType.from_row: _text(pair[side]) of an entry's value (a pair of a list: else not written)."""
    env.may_be_unwritten = True
    return python_str(f'{entry}."value" -> {side}')


def _json_entries(shape: Shape, column: str) -> FieldSql:
    """Each entry of an object column as `shape` (its key and value as the columns "key" and "value"), in order;
    a column holding no object is not written (the resolver's .items() fails on it)."""

    def entries(row: str, env: Env) -> Sql:
        env.may_be_unwritten = True
        entry = env.alias()
        listed = (
            f"(SELECT coalesce(json_agg({shape.json(entry, env)} ORDER BY {entry}.\"n\"), '[]'::json)"
            f' FROM jsonb_each({row}."{column}") WITH ORDINALITY AS {entry}("key", "value", "n"))'
        )
        return f"CASE WHEN jsonb_typeof({row}.\"{column}\") = 'object' THEN {listed} ELSE '{UNWRITTEN}'::json END"

    return entries


def _why_mine(row: str, env: Env) -> Sql:
    """TaskType.why_mine: the viewer's part in the task (its unit owns it, cooperates, or the office steers it),
    then the rule, the duty and the escalation that put it there, each one there is, joined by '；'."""
    viewer = env.viewer
    unit, steers = env.p(viewer.unit_id), env.p(viewer.sees_every_unit)
    link, rule, duty = env.alias(), env.alias(), env.alias()
    part = (
        f"CASE WHEN {row}.\"assignee_unit_id\" = {unit} THEN '本单位承办'"
        f' WHEN EXISTS (SELECT 1 FROM "task_cooperator" {link} WHERE {link}."task_id" = {row}."id"'
        f" AND {link}.\"unit_id\" = {unit}) THEN '本单位协办' WHEN {steers} THEN '领导小组办公室督办' ELSE '可见' END"
    )
    by_rule = (
        f"(SELECT '规则 ' || {rule}.\"code\" || '（' || {rule}.\"clause\" || ' ' || {rule}.\"title\" || '）'"
        f' FROM "rule" {rule} WHERE {rule}."id" = {row}."rule_id")'
    )
    by_duty = (
        f"(SELECT '职责 ' || {duty}.\"clause\" || ' ' || {duty}.\"title\""
        f' FROM "duty" {duty} WHERE {duty}."id" = {row}."duty_id")'
    )
    level = f'{row}."escalation_level"'
    escalated = f"CASE WHEN {level} <> 0 THEN '已逾期升级（第' || {level} || '级）' END"
    source = f"concat_ws('；', {by_rule}, {by_duty}, {escalated})"  # none of the three is ever ''
    return f"({part} || coalesce('：' || nullif({source}, ''), ''))"


# An object by a foreign key of its parent's row, through a gate: null where the viewer may not see it, as the
# resolvers answer (loaders.visible(viewer, SchoolClass), _student_if_visible, _case_if_visible: each the type's
# one gate): (type, the parent's column, the gate's condition on the object's row).
GATED_BY_KEY: dict[str, dict[str, tuple[str, str, Callable[[str, str, Env], Sql | None]]]] = {
    "Student": {"schoolClass": ("SchoolClass", "school_class_id", _gated(SchoolClass))},
    "RollMovement": {
        "student": ("Student", "student_id", _gated(Student)),
        "arrivalCase": ("Case", "arrival_case_id", _gated(Case)),
    },
}


MAX_KEYS = 50  # json_build_object takes at most 100 arguments (PostgreSQL's FUNC_MAX_ARGS)


class Shape:
    """An object's selection: each response key with its compiled value."""

    def __init__(self, type_name: str, fields: list[tuple[str, FieldSql]]) -> None:
        if len(fields) > MAX_KEYS:
            raise Unsupported(f"{type_name}: more than {MAX_KEYS} keys in one object")
        self.type_name = type_name
        self.fields = fields

    def json(self, row: str, env: Env) -> Sql:
        parts = ", ".join(f"{_text(key)}, {value(row, env)}" for key, value in self.fields)
        return f"json_build_object({parts})"


@dataclass(frozen=True)
class Head:
    """A list's page: its rows (from the resolver's own queryset or statement), and the size of the whole list."""

    table: str
    # A SELECT of the page's rows, every column of the table (more may come along), in any order: one more than
    # the page, to tell of a next page. Whole rows, not ids to look up again: a second index descent per row cost
    # about a tenth of a page's statement.
    rows: Callable[[Params], Sql]
    count: Callable[[Params], Sql]  # a scalar expression: how many rows the whole list holds
    keys: tuple[SortKey, ...]
    size: int
    after: bool


def _counted(*queries: Any) -> Callable[[Params], Sql]:
    return lambda p: " + ".join(f"(SELECT count(*) FROM ({rendered(q.values('id'), p)}) w)" for q in queries)


Root = Callable[[dict[str, Any], Env], Head]


def _past(query: Any, model: type, keys: tuple[SortKey, ...], after: str | None) -> Any:
    """The rows of `query` after the cursor (all of them without one)."""
    if not after:
        return query
    try:
        return query.filter(after_condition(keys, cursor_values(model, keys, after)))
    except CursorError as exc:
        raise Decline(str(exc)) from exc


def _head_of(query: Any, keys: tuple[SortKey, ...], size: int) -> Any:
    """The first `size + 1` rows of `query` in the list's order (one more tells of a next page)."""
    return query.order_by(*[f"-{k.field}" if k.descending else k.field for k in keys]).limit(size + 1)


def _page(query: Any, model: type, keys: tuple[SortKey, ...], size: int, after: str | None) -> Head:
    head = _head_of(_past(query, model, keys, after), keys, size)
    return Head(model._meta.db_table, lambda p: rendered(head, p), _counted(query), keys, size, bool(after))


def _size(first: int | None) -> int:
    from api.types.connection import page_size

    try:
        return page_size(first)
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc


def _tasks(args: dict[str, Any], env: Env) -> Head:
    from api.types.task import criteria_of
    from tasks.queue.lists import SORT_KEYS, TaskOrder, every_task

    if not env.viewer.sees_every_unit:
        raise Decline("tasks: a unit's own and shared lists")  # the queue page's statement answers them
    size = _size(args.get("first"))
    try:
        criteria = criteria_of(args.get("filter"))
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc
    keys = SORT_KEYS[TaskOrder(args.get("order_by"))]
    return _page(every_task(criteria), Task, keys, size, args.get("after"))


def _queue(args: dict[str, Any], env: Env) -> Head:
    """Viewer.taskQueue as tasks.queue.lists.task_page answers it: the queue page's own statement gives the ids."""
    from api.types.task import criteria_of
    from tasks.queue.lists import SORT_KEYS, TaskCriteria, TaskOrder, queue_criteria, unit_task_queries
    from tasks.queue.unit_page import QueueQuery

    viewer = env.viewer
    size = _size(args.get("first"))
    try:
        criteria = queue_criteria(criteria_of(args.get("filter")))
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc
    if criteria != TaskCriteria(statuses=criteria.statuses) or viewer.role is UserRole.HEAD_TEACHER:
        raise Decline("a queue filtered beyond statuses, or a head teacher's")
    keys = SORT_KEYS[TaskOrder(args.get("order_by"))]
    after = args.get("after")
    try:
        values = cursor_values(Task, keys, after) if after else None
    except CursorError as exc:
        raise Decline(str(exc)) from exc
    page = QueueQuery(viewer.unit_id, criteria.statuses, keys, values, size + 1)
    return Head(
        "task",
        lambda p: page.page("postgres", p, whole_rows=True),
        _counted(*unit_task_queries(viewer, criteria)),
        keys,
        size,
        bool(after),
    )


def _cases(args: dict[str, Any], env: Env) -> Head:
    from api.queries import case_criteria
    from tasks.ladder.case_queries import NEWEST_FIRST, case_query

    size = _size(args.get("first"))
    try:
        criteria = case_criteria(args.get("filter"))
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc
    return _page(case_query(env.viewer, criteria), Case, NEWEST_FIRST, size, args.get("after"))


def _students(args: dict[str, Any], env: Env) -> Head:
    from api.queries import _pk
    from tasks.ladder.case_queries import BY_ID, student_query

    size = _size(args.get("first"))
    given = args.get("filter")
    try:
        school = _pk(given.school_id, "Unit", "filter.schoolId") if given and given.school_id else None
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc
    name = given.name if given else None
    return _page(student_query(env.viewer, school, name), Student, BY_ID, size, args.get("after"))


ROOT_LISTS: dict[str, tuple[str, Root]] = {
    "tasks": ("Task", _tasks),
    "cases": ("Case", _cases),
    "students": ("Student", _students),
}
# node(id:) for these types: the row if the viewer may see it (the same filter as the type's list).
NODES: dict[str, Callable[[User, int], Any]] = {
    "Student": lambda viewer, pk: Student.filter(access.visible_students(viewer), id=pk).values("id"),
}


def _gate_row(type_name: str) -> Callable[[User, int], Any]:
    """api.node_lookup.resolve_node's row: the type's gate (Loaders.visible) with id=pk."""

    def row(viewer: User, pk: int) -> Any:
        gate = access.gate_of(type_name)
        return gate.model.filter(gate.rows(viewer), id=pk).values("id")

    return row


# Every type whose fields are compiled and that node(id:) answers, read through its gate.
GATED_NODES = ("Task", "Case", "Unit", "Fact", "Duty", "User", "Person", "SchoolClass", "Rule", "RollMovement",
               "PersuasionRecord", "DropoutReport", "ReportRouting")  # fmt: skip
NODES.update({name: _gate_row(name) for name in GATED_NODES})


def _merged(queries: Sequence[Any], model: Any, keys: tuple[SortKey, ...], size: int, after: str | None) -> Head:
    """models.paging.keyset_page over disjoint querysets: each one's head, merged in the list's order."""
    if len(queries) == 1:
        return _page(queries[0], model, keys, size, after)
    firsts = [_head_of(_past(q, model, keys, after), keys, size) for q in queries]
    merged = ", ".join(f'u."{k.field}"{" DESC" if k.descending else ""}' for k in keys)

    def rows(p: Params) -> Sql:
        union = " UNION ALL ".join(f"({rendered(q, p)})" for q in firsts)
        return f"SELECT u.* FROM ({union}) AS u ORDER BY {merged} LIMIT {size + 1}"

    return Head(model._meta.db_table, rows, _counted(*queries), keys, size, bool(after))


def _units(args: dict[str, Any], env: Env) -> Head:
    from api.queries import UNIT_ORDER, unit_query

    size = _size(args.get("first"))
    try:
        query = unit_query(args.get("kind"), args.get("parent_id"))
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc
    return _page(query, Unit, UNIT_ORDER, size, args.get("after"))


def _duties(args: dict[str, Any], env: Env) -> Head:
    from api.queries import _pk
    from tasks.duties.register import DUTY_ORDER, duties_of

    size = _size(args.get("first"))
    if args.get("owner_unit_id") is None:
        return _page(duties_of(None), Duty, DUTY_ORDER, size, args.get("after"))
    try:
        pk = _pk(args["owner_unit_id"], "Unit", "ownerUnitId")
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc
    unit = env.p(pk)
    env.guards.append(f'EXISTS (SELECT 1 FROM "unit" WHERE "id" = {unit})')  # else the resolver's error
    # The unit's id, a parameter, goes in after the queryset is rendered (rendered() renumbers what it finds).
    mark = "__owner_unit__"
    owner = SimpleNamespace(
        id=LiteralValue(mark), kind=LiteralValue(f'(SELECT "kind" FROM "unit" WHERE "id" = {mark})')
    )
    head = _page(duties_of(cast(Unit, owner)), Duty, DUTY_ORDER, size, args.get("after"))
    return replace(
        head, rows=lambda p: head.rows(p).replace(mark, unit), count=lambda p: head.count(p).replace(mark, unit)
    )


ROOT_LISTS.update({"units": ("Unit", _units), "duties": ("Duty", _duties)})


def _column(row: str, name: str) -> Any:
    """The parent row's column where the resolver passes the parent's value (a pypika term, written as it is):
    the resolver's own queryset, rendered, then follows the row."""
    return LiteralValue(f'{row}."{name}"')


def _columns(row: str, **names: str) -> Any:
    """An object of the parent row's columns, for a resolver's function that reads them off the parent."""
    return SimpleNamespace(**{key: _column(row, column) for key, column in names.items()})


def _unit_tasks(args: dict[str, Any], row: str, env: Env) -> Head:
    """Unit.tasks as api.types.unit answers it: task_connection with the unit as the owner (every task for the
    office, else the viewer's unit's own and shared ones)."""
    from api.types.task import criteria_of
    from tasks.queue.lists import SORT_KEYS, TaskOrder, every_task, unit_task_queries

    try:
        criteria = replace(criteria_of(args.get("filter")), assignee_unit_id=_column(row, "id"))
    except BadUserInput as exc:
        raise Decline(str(exc)) from exc
    size = _size(args.get("first"))
    keys = SORT_KEYS[TaskOrder(args.get("order_by"))]
    viewer = env.viewer
    queries = [every_task(criteria)] if viewer.sees_every_unit else unit_task_queries(viewer, criteria)
    return _merged(queries, Task, keys, size, args.get("after"))


def _unit_duties(args: dict[str, Any], row: str, env: Env) -> Head:
    """Unit.duties: tasks.duties.register.duties_of the unit (by its id, or as every unit of its kind)."""
    from tasks.duties.register import DUTY_ORDER, duties_of

    size = _size(args.get("first"))
    owner = cast(Unit, _columns(row, id="id", kind="kind"))
    return _page(duties_of(owner), Duty, DUTY_ORDER, size, args.get("after"))


def _unit_classes(args: dict[str, Any], row: str, env: Env) -> Head:
    """Unit.classes: api.types.registers.class_query of the unit's id (the viewer's classes of it)."""
    from api.types.registers import CLASS_ORDER, class_query

    size = _size(args.get("first"))
    return _page(class_query(env.viewer, _column(row, "id")), SchoolClass, CLASS_ORDER, size, args.get("after"))


def _class_pupils(args: dict[str, Any], row: str, env: Env) -> Head:
    """SchoolClass.pupils: api.types.registers.pupil_query of the class's id (the pupils the viewer sees)."""
    from api.types.registers import PUPIL_ORDER, pupil_query

    size = _size(args.get("first"))
    return _page(pupil_query(env.viewer, _column(row, "id")), Student, PUPIL_ORDER, size, args.get("after"))


RowHead = Callable[[dict[str, Any], str, Env], Head]
# A connection under an object paged by the resolver's own queryset, the parent's columns in it: (node type, head).
ROW_CONNECTIONS: dict[str, dict[str, tuple[str, RowHead]]] = {
    "Unit": {
        "tasks": ("Task", _unit_tasks),
        "duties": ("Duty", _unit_duties),
        "classes": ("SchoolClass", _unit_classes),
    },
    "SchoolClass": {"pupils": ("Student", _class_pupils)},
}


def _unit(args: dict[str, Any], env: Env) -> Any:
    from api.queries import unit_by_code

    query = unit_by_code(args["code"])
    return None if query is None else query.values("id")


def _case(args: dict[str, Any], env: Env) -> Any:
    try:
        _, pk = parse_global_id(args["id"], "Case")
    except BadGlobalId:
        return None  # Query.case: what resolve_node answers (null), or null for a node of another type
    return NODES["Case"](env.viewer, pk)


# A root object: (its type, the ids of its row as a queryset, or None for null).
ROOT_OBJECTS: dict[str, tuple[str, Callable[[dict[str, Any], Env], Any]]] = {
    "unit": ("Unit", _unit),
    "case": ("Case", _case),
}


DECLINED = '"declined"'  # the statement's answer when a guard (Env.guards) fails


@cache
def _models_by_table() -> dict[str, Any]:
    models = [
        Task,
        Case,
        Unit,
        Duty,
        Fact,
        Student,
        SchoolClass,
        *(listed.model for by in NESTED_LISTS.values() for _, listed in by.values()),
    ]
    return {model._meta.db_table: model for model in models}


def _key_kind(table: str, name: str) -> str | None:
    """How a cursor writes a sort key's value (models.paging._encode_value): a moment, a date, or as it is."""
    field = _models_by_table()[table]._meta.fields_map[name]
    if isinstance(field, DatetimeField):
        return "moment"
    if isinstance(field, CharField | TextField):
        return "text"
    return "date" if isinstance(field, DateField) else None


class SqlPlan:
    """A compiled query operation: its root fields, each a function of the request giving SQL.

    The SQL of a request depends on the viewer and the variables, and on the moment only through its
    first parameter ($1, "now": querysets that compare with clock.now() are built at that one moment),
    so it is made once per viewer and variables and kept (at most STATEMENTS_KEPT).
    """

    STATEMENTS_KEPT = 512

    def __init__(self, roots: list[tuple[str, Callable[[Env], Sql]]]) -> None:
        self.roots = roots
        self.kept: dict[tuple[Any, ...], tuple[Sql, list[Any]] | str] = {}  # a str: why the request is declined

    def sql(self, viewer: User, variables: Any) -> tuple[Sql, list[Any]]:
        now = clock.now()
        given = getattr(variables, "coerced", variables) or {}  # graphql-core's VariableValues, or a dict
        key = (viewer.id, viewer.role, viewer.unit_id, repr(sorted(given.items())))
        kept = self.kept.get(key)
        if isinstance(kept, str):
            raise Decline(kept)
        if kept is not None:
            sql, values = kept
            return sql, [now, *values[1:]]
        env = Env(viewer, variables or {}, Params(), now, itertools.count())
        env.p(now)
        assert env.p.values == [now]  # $1
        try:
            with clock.as_of(now):
                parts = ", ".join(f"{_text(key)}, {root(env)}" for key, root in self.roots)
        except Decline as reason:
            self.keep(key, str(reason))
            raise
        answer = f"json_build_object({parts})::text"
        if env.may_be_unwritten:
            answer = (
                f"(SELECT CASE WHEN strpos(w.\"a\", '{UNWRITTEN}') > 0 THEN '{DECLINED}' ELSE w.\"a\" END"
                f' FROM (SELECT {answer} AS "a") AS w)'
            )
        if env.guards:
            answer = f"CASE WHEN {' AND '.join(env.guards)} THEN {answer} ELSE '{DECLINED}' END"
        made = f"SELECT {answer} FROM (SELECT $1::timestamptz AS now) AS now", env.p.values
        if any(_same_moment(v, now) for v in made[1][1:]):
            return made  # "now" under another guise (a converted copy): made afresh each time, never kept
        self.keep(key, made)
        return made

    def keep(self, key: tuple[Any, ...], made: tuple[Sql, list[Any]] | str) -> None:
        if len(self.kept) >= self.STATEMENTS_KEPT:
            del self.kept[next(iter(self.kept))]
        self.kept[key] = made

    async def run(self, viewer: User, variables: Any, token_hash: str | None = None) -> dict[str, Any] | None:
        """The answer's data. With `token_hash` (a viewer presumed, not asked of the database), the statement
        answers only while that token is live and its user active and unchanged (the same test as
        models.accounts.authenticate, in the same round trip); else None."""
        sql, values = self.sql(viewer, variables)
        if token_hash is not None:
            sql, values = _vouched(sql, values, token_hash, viewer)
        answer = await fetch_one_value(Task._meta.db, sql, values)
        if answer == DECLINED:
            raise Decline("a condition of the answer does not hold (the resolvers say what)")
        return None if answer is None else orjson.loads(answer)


async def fetch_one_value(db: Any, sql: Sql, values: list[Any]) -> Any:
    """The statement's one value, from a connection of the pool: Tortoise's execute_query costs about 70 µs of
    CPU more a call (its connection wrapper, its exception translation), a tenth of a small read's. Logged as
    Tortoise logs a statement (tests count statements by that log). In a transaction, on its connection."""
    pool = getattr(db, "_pool", None)
    if type(db) is not AsyncpgDBClient or pool is None:
        _, rows = await db.execute_query(sql, values)
        return rows[0][0]
    if db.log.isEnabledFor(logging.DEBUG):
        db.log.debug("%s: %s", sql, values)
    return await pool.fetchval(sql, *values)


def _vouched(sql: Sql, values: list[Any], token_hash: str, viewer: User) -> tuple[Sql, list[Any]]:
    n = len(values)
    live = (
        f'SELECT 1 FROM "token" t JOIN "app_user" u ON u."id" = t."user_id" WHERE t."token_hash" = ${n + 1}'
        f' AND t."revoked_at" IS NULL AND t."expires_at" > $1 AND u."is_active" AND u."id" = ${n + 2}'
        f' AND u."role" = ${n + 3} AND u."unit_id" IS NOT DISTINCT FROM ${n + 4}'
    )
    role = viewer.role.value if isinstance(viewer.role, UserRole) else str(viewer.role)
    return f"SELECT CASE WHEN EXISTS ({live}) THEN ({sql}) END", [*values, token_hash, viewer.id, role, viewer.unit_id]


def _same_moment(value: Any, now: datetime) -> bool:
    if not isinstance(value, datetime):
        return False
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware == now


def compile_sql(schema: Schema, query: str, operation_name: str | None) -> SqlPlan:
    document = parse(query, no_location=True)
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise Unsupported("not a single query operation")
    visit(document, _RefuseDirectives())  # @skip, @include: the present path
    if Task._meta.db.capabilities.dialect != "postgres":
        raise Unsupported("compiled SQL reads are PostgreSQL's")
    return _SqlCompiler(schema, document).operation(operation)


class _SqlCompiler(_Planner):
    def operation(self, operation: Any) -> SqlPlan:
        root = self.schema._schema.query_type
        assert root is not None
        roots = []
        for key, nodes in self.collect(root, [operation.selection_set]).items():
            name = nodes[0].name.value
            if name == "__typename":
                roots.append((key, lambda env: _text("Query")))
            elif name in ROOT_LISTS:
                roots.append((key, self.root_list(root.fields[name], nodes, *ROOT_LISTS[name])))
            elif name == "node":
                roots.append((key, self.node(root.fields[name], nodes)))
            elif name == "nodes":
                roots.append((key, self.nodes(root.fields[name], nodes)))
            elif name in ROOT_OBJECTS:
                roots.append((key, self.root_object(root.fields[name], nodes, *ROOT_OBJECTS[name])))
            elif name == "viewer":
                roots.append((key, self.viewer(root.fields[name], nodes)))
            else:
                raise Unsupported(f"Query.{name}")
        return SqlPlan(roots)

    def arguments(self, field: GraphQLField, node: FieldNode) -> Callable[[Env], dict[str, Any]]:
        definition = field.extensions.get(STRAWBERRY_FIELD)
        if not isinstance(definition, StrawberryField):
            raise Unsupported("not a Strawberry field")
        config, scalars = self.schema.config, self.schema.schema_converter.scalar_registry

        def given(env: Env) -> dict[str, Any]:
            values = get_argument_values(field, node, env.variables)
            return convert_arguments(values, definition.arguments, scalar_registry=scalars, config=config)

        return given

    def shape(self, parent: GraphQLObjectType, nodes: list[FieldNode]) -> Shape:
        selections = [n.selection_set for n in nodes if n.selection_set is not None]
        fields: list[tuple[str, FieldSql]] = []
        for key, children in self.collect(parent, selections).items():
            fields.append((key, self.field(parent, children)))
        return Shape(parent.name, fields)

    def field(self, parent: GraphQLObjectType, nodes: list[FieldNode]) -> FieldSql:
        name, type_name = nodes[0].name.value, parent.name
        if name == "__typename":
            return lambda row, env: _text(type_name)
        if name in NESTED_LISTS.get(type_name, {}):
            node_type, listed = NESTED_LISTS[type_name][name]
            if node_type not in LEAVES:
                raise Unsupported(f"{type_name}.{name}: {node_type} is not compiled")
            return self.nested_connection(parent.fields[name], nodes, node_type, listed)
        if name in ROW_CONNECTIONS.get(type_name, {}):
            return self.row_connection(parent.fields[name], nodes, *ROW_CONNECTIONS[type_name][name])
        if nodes[0].arguments:
            raise Unsupported(f"{type_name}.{name} with arguments")
        leaf = LEAVES.get(type_name, {}).get(name)
        if leaf is not None:
            return leaf
        field = parent.fields.get(name)
        if field is None:
            raise Unsupported(f"{type_name}.{name}")
        target = get_named_type(field.type)
        if not isinstance(target, GraphQLObjectType):
            raise Unsupported(f"{type_name}.{name}")
        if type_name == "Case" and name == "followUp":
            follow_up = self.shape(target, nodes)
            return lambda row, env: (
                f"CASE WHEN coalesce({row}.\"follow_up_name\", '') <> '' THEN {follow_up.json(row, env)} END"
            )
        if name in SAME_ROW.get(type_name, {}):
            return self.shape(target, nodes).json
        if name in BY_KEY.get(type_name, {}):
            return self.by_key(target, nodes, *BY_KEY[type_name][name])
        if name in GATED_BY_KEY.get(type_name, {}):
            return self.by_key(target, nodes, *GATED_BY_KEY[type_name][name])
        if name in LINKED.get(type_name, {}):
            target_name, links, parent_column, child_column = LINKED[type_name][name]
            shape, table = self.shape(target, nodes), TABLES[target_name]

            def linked(row: str, env: Env) -> Sql:
                link, alias = env.alias(), env.alias()
                return (
                    f"(SELECT coalesce(json_agg({shape.json(alias, env)} ORDER BY {link}.\"id\"), '[]'::json)"
                    f' FROM "{links}" {link} JOIN "{table}" {alias} ON {alias}."id" = {link}."{child_column}"'
                    f' WHERE {link}."{parent_column}" = {row}."id")'
                )

            return linked
        if name in JSON_ENTRIES.get(type_name, {}):
            target_name, column = JSON_ENTRIES[type_name][name]
            return _json_entries(self.shape(target, nodes), column)
        if name in LISTS.get(type_name, {}):
            if not isinstance(field.type, GraphQLNonNull) or not isinstance(field.type.of_type, GraphQLList):
                raise Unsupported(f"{type_name}.{name} is not a list")
            target_name, column, order = LISTS[type_name][name]
            shape, table = self.shape(target, nodes), TABLES[target_name]
            narrow = LIST_FILTERS.get((type_name, name))

            def listed(row: str, env: Env) -> Sql:
                alias = env.alias()
                where = _and(f'{alias}."{column}" = {row}."id"', narrow(alias, row, env) if narrow else None)
                ordered = ", ".join(f"{alias}.{part.strip()}" for part in order.split(","))
                return (
                    f"(SELECT coalesce(json_agg({shape.json(alias, env)} ORDER BY {ordered}), '[]'::json)"
                    f' FROM "{table}" {alias} WHERE {where})'
                )

            return listed
        raise Unsupported(f"{type_name}.{name}")

    def by_key(
        self,
        target: GraphQLObjectType,
        nodes: list[FieldNode],
        target_name: str,
        column: str,
        gate: Callable[[str, str, Env], Sql | None] | None = None,
    ) -> FieldSql:
        """BY_KEY, GATED_BY_KEY: the row the parent's key names (if the gate lets the viewer see it); else null."""
        shape, table = self.shape(target, nodes), TABLES[target_name]

        def by_key(row: str, env: Env) -> Sql:
            alias = env.alias()
            where = _and(f'{alias}."id" = {row}."{column}"', gate(alias, row, env) if gate else None)
            return f'(SELECT {shape.json(alias, env)} FROM "{table}" {alias} WHERE {where})'

        return by_key

    def root_list(
        self, field: GraphQLField, nodes: list[FieldNode], node_type: str, head_of: Root
    ) -> Callable[[Env], Sql]:
        if len(nodes) > 1:
            raise Unsupported("a root list asked twice under one key")
        arguments = self.arguments(field, nodes[0])
        body = self.connection(field, nodes, node_type)
        return lambda env: body(head_of(arguments(env), env), env)

    def connection(self, field: GraphQLField, nodes: list[FieldNode], node_type: str) -> Callable[[Head, Env], Sql]:
        """A connection's JSON from its page (a Head): the page's rows numbered in a CTE, then the parts asked."""
        connection = get_named_type(field.type)
        assert isinstance(connection, GraphQLObjectType)
        parts: list[tuple[str, Callable[[str, Head, Env], Sql]]] = []
        selections = [n.selection_set for n in nodes if n.selection_set is not None]
        node_gql = self.schema._schema.get_type(node_type)
        assert isinstance(node_gql, GraphQLObjectType)
        for key, children in self.collect(connection, selections).items():
            parts.append((key, self.connection_part(connection, node_gql, children)))

        def body(head: Head, env: Env) -> Sql:
            page = env.alias()
            ordered = ", ".join(f't."{k.field}"{" DESC" if k.descending else ""}' for k in head.keys)
            rows = f'(SELECT t.*, row_number() OVER (ORDER BY {ordered}) AS "_n" FROM ({head.rows(env.p)}) t)'
            body = ", ".join(f"{_text(key)}, {part(page, head, env)}" for key, part in parts)
            # Read once (the nodes or the edges alone), the page is folded into its one reader: materializing
            # its rows (t.*) cost about a tenth of a page's statement.
            materialized = " MATERIALIZED" if body.count(f"FROM {page} ") > 1 else ""
            return f"(WITH {page} AS{materialized} {rows} SELECT json_build_object({body}))"

        return body

    def nested_connection(
        self, field: GraphQLField, nodes: list[FieldNode], node_type: str, listed: NestedList
    ) -> FieldSql:
        """A connection under an object (Case.tasksConnection ...): its page by the parent's id, through the gate,
        as api.types.nested_lists.nested_page pages it."""
        if len(nodes) > 1:
            raise Unsupported("a nested connection asked twice under one key")
        if len({k.descending for k in listed.keys}) != 1:
            raise Unsupported("a nested list ordered in two directions")
        arguments = self.arguments(field, nodes[0])
        body = self.connection(field, nodes, node_type)
        model, table = listed.model, listed.model._meta.db_table
        descending = listed.keys[0].descending

        def nested(row: str, env: Env) -> Sql:
            given = arguments(env)
            size, after = _size(given.get("first")), given.get("after")
            try:
                values = cursor_values(model, listed.keys, after) if after else None
            except CursorError as exc:
                raise Decline(str(exc)) from exc

            def where(alias: str, p: Params) -> Sql:
                condition = f'{alias}."{listed.parent}" = {row}."id"'
                gated = _gated(model)(alias, row, env) if listed.gated else None
                if gated:
                    condition += f" AND {gated}"
                return condition

            def rows(p: Params) -> Sql:
                x = env.alias()
                condition = where(x, p)
                if values is not None:
                    columns = ", ".join(f'{x}."{k.field}"' for k in listed.keys)
                    given_values = ", ".join(p(v) for v in values)
                    condition += f" AND ({columns}) {'<' if descending else '>'} ({given_values})"
                order = ", ".join(f'{x}."{k.field}"{" DESC" if descending else ""}' for k in listed.keys)
                return f'SELECT {x}.* FROM "{table}" {x} WHERE {condition} ORDER BY {order} LIMIT {size + 1}'

            def count(p: Params) -> Sql:
                x = env.alias()
                return f'SELECT count(*) FROM "{table}" {x} WHERE {where(x, p)}'

            return body(Head(table, rows, count, listed.keys, size, bool(after)), env)

        return nested

    def connection_part(
        self, connection: GraphQLObjectType, node_type: GraphQLObjectType, nodes: list[FieldNode]
    ) -> Callable[[str, Head, Env], Sql]:
        name = nodes[0].name.value
        if name == "__typename":
            return lambda page, head, env: _text(connection.name)
        if name == "totalCount":
            return lambda page, head, env: f"({head.count(env.p)})"
        if name == "nodes":
            shape = self.shape(node_type, nodes)
            return lambda page, head, env: self.rows(page, head, env, shape.json)
        if name == "edges":
            edge_type = get_named_type(connection.fields["edges"].type)
            assert isinstance(edge_type, GraphQLObjectType)
            edge_fields: list[tuple[str, Callable[[str, Head, Env], Sql]]] = []
            selections = [n.selection_set for n in nodes if n.selection_set is not None]
            for key, children in self.collect(edge_type, selections).items():
                child = children[0].name.value
                if child == "__typename":
                    edge_fields.append((key, lambda row, head, env: _text(edge_type.name)))
                elif child == "cursor":
                    edge_fields.append((key, lambda row, head, env: self.cursor(row, head)))
                elif child == "node":
                    shape = self.shape(node_type, children)
                    edge_fields.append((key, lambda row, head, env, shape=shape: shape.json(row, env)))
                else:
                    raise Unsupported(f"{edge_type.name}.{child}")

            def edge(row: str, head: Head, env: Env) -> Sql:
                return (
                    "json_build_object(" + ", ".join(f"{_text(k)}, {f(row, head, env)}" for k, f in edge_fields) + ")"
                )

            return lambda page, head, env: self.rows(page, head, env, lambda row, env: edge(row, head, env))
        if name == "pageInfo":
            info_type = get_named_type(connection.fields["pageInfo"].type)
            assert isinstance(info_type, GraphQLObjectType)
            selections = [n.selection_set for n in nodes if n.selection_set is not None]
            wanted = [(key, children[0].name.value) for key, children in self.collect(info_type, selections).items()]

            def info(page: str, head: Head, env: Env) -> Sql:
                size = head.size
                values = {
                    "__typename": _text(info_type.name),
                    "hasNextPage": f"((SELECT count(*) FROM {page}) > {size})",
                    "hasPreviousPage": "true" if head.after else "false",
                    "startCursor": f'(SELECT {self.cursor("x", head)} FROM {page} x WHERE x."_n" = 1)',
                    "endCursor": (
                        f'(SELECT {self.cursor("x", head)} FROM {page} x WHERE x."_n" <= {size}'
                        ' ORDER BY x."_n" DESC LIMIT 1)'
                    ),
                }
                return "json_build_object(" + ", ".join(f"{_text(k)}, {values[n]}" for k, n in wanted) + ")"

            return info
        raise Unsupported(f"{connection.name}.{name}")

    @staticmethod
    def cursor(row: str, head: Head) -> Sql:
        return cursor([(f'{row}."{k.field}"', _key_kind(head.table, k.field)) for k in head.keys])

    @staticmethod
    def rows(page: str, head: Head, env: Env, item: Callable[[str, Env], Sql]) -> Sql:
        row = env.alias()
        return (
            f"(SELECT coalesce(json_agg({item(row, env)} ORDER BY {row}.\"_n\"), '[]'::json)"
            f' FROM {page} {row} WHERE {row}."_n" <= {head.size})'
        )

    def viewer(self, field: GraphQLField, nodes: list[FieldNode]) -> Callable[[Env], Sql]:
        """`viewer { taskQueue }`: the only part of Viewer compiled."""
        viewer_type = get_named_type(field.type)
        assert isinstance(viewer_type, GraphQLObjectType)
        selections = [n.selection_set for n in nodes if n.selection_set is not None]
        parts: list[tuple[str, Callable[[Env], Sql]]] = []
        for key, children in self.collect(viewer_type, selections).items():
            name = children[0].name.value
            if name == "__typename":
                parts.append((key, lambda env: _text(viewer_type.name)))
            elif name == "taskQueue":
                parts.append((key, self.root_list(viewer_type.fields[name], children, "Task", _queue)))
            else:
                raise Unsupported(f"Viewer.{name}")
        return lambda env: "json_build_object(" + ", ".join(f"{_text(k)}, {f(env)}" for k, f in parts) + ")"

    def node(self, field: GraphQLField, nodes: list[FieldNode]) -> Callable[[Env], Sql]:
        arguments = self.arguments(field, nodes[0])
        shapes = self.node_shapes(nodes)
        return lambda env: _node_of(shapes, arguments(env)["id"], env)

    def nodes(self, field: GraphQLField, nodes: list[FieldNode]) -> Callable[[Env], Sql]:
        """`nodes(ids:)`: node(id:) for each id, in the order asked (api.queries.Query.nodes). The ids are two array
        parameters (type, pk), and each type asked is read once for all its ids (its gate computed once), so the
        statement depends on the types asked, not on the ids."""
        arguments = self.arguments(field, nodes[0])
        shapes = self.node_shapes(nodes)

        def root(env: Env) -> Sql:
            ids = arguments(env)["ids"]
            if len(ids) > settings().max_page_size:
                raise Decline("nodes: more ids than the resolver takes")
            if not ids:
                return "'[]'::json"
            asked = [_node_id(one) for one in ids]
            types = [one[0] if one else None for one in asked]
            given = env.alias()
            joins, found = [], []
            for type_name in dict.fromkeys(t for t in types if t is not None):
                shape = _node_shape(shapes, type_name)
                row, alias = env.alias(), env.alias()
                seen = rendered(NODES[type_name](env.viewer, _column(given, "pk")), env.p)
                joins.append(
                    f'LEFT JOIN LATERAL (SELECT {shape.json(alias, env)} AS "x" FROM "{TABLES[type_name]}" {alias}'
                    f' WHERE {given}."t" = {_text(type_name)} AND {alias}."id" IN ({seen})) {row} ON true'
                )
                found.append(f'{row}."x"')
            pks = [one[1] if one else None for one in asked]
            node = f"coalesce({', '.join(found)})" if found else "NULL::json"
            return (
                f'(SELECT json_agg({node} ORDER BY {given}."n") FROM unnest((SELECT {env.p(types)}::text[]),'
                f' (SELECT {env.p(pks)}::bigint[])) WITH ORDINALITY AS {given}("t", "pk", "n") {" ".join(joins)})'
            )

        return root

    def node_shapes(self, nodes: list[FieldNode]) -> dict[str, Shape | Unsupported]:
        """Each node type's shape of the selection; a type whose fragment is not compiled declines its ids only."""
        shapes: dict[str, Shape | Unsupported] = {}
        for type_name in NODES:
            gql_type = self.schema._schema.get_type(type_name)
            assert isinstance(gql_type, GraphQLObjectType)
            try:
                shapes[type_name] = self.shape(gql_type, nodes)
            except Unsupported as reason:
                shapes[type_name] = reason
        if not any(isinstance(shape, Shape) for shape in shapes.values()):
            raise Unsupported(f"node: {next(iter(shapes.values()))}")
        return shapes

    def root_object(
        self, field: GraphQLField, nodes: list[FieldNode], type_name: str, row_of: Callable[[dict[str, Any], Env], Any]
    ) -> Callable[[Env], Sql]:
        """`unit(code:)`, `case(id:)`: the row of the resolver's own queryset, or null."""
        arguments = self.arguments(field, nodes[0])
        gql_type = self.schema._schema.get_type(type_name)
        assert isinstance(gql_type, GraphQLObjectType)
        shape = self.shape(gql_type, nodes)

        def root(env: Env) -> Sql:
            ids = row_of(arguments(env), env)
            return "NULL::json" if ids is None else _one(shape, TABLES[type_name], rendered(ids, env.p), env)

        return root

    def row_connection(self, field: GraphQLField, nodes: list[FieldNode], node_type: str, head_of: RowHead) -> FieldSql:
        """A connection under an object paged by the resolver's own queryset (Unit.tasks, Unit.duties)."""
        if len(nodes) > 1:
            raise Unsupported("a connection asked twice under one key")
        arguments = self.arguments(field, nodes[0])
        body = self.connection(field, nodes, node_type)
        return lambda row, env: body(head_of(arguments(env), row, env), env)


def _and(condition: Sql, extra: Sql | None) -> Sql:
    """`condition`, narrowed by `extra` where there is one (a list's filter, an object's gate)."""
    return f"{condition} AND {extra}" if extra else condition


def _one(shape: Shape, table: str, ids: Sql, env: Env) -> Sql:
    alias = env.alias()
    return f'(SELECT {shape.json(alias, env)} FROM "{table}" {alias} WHERE {alias}."id" IN ({ids}))'


def _node_id(given: str) -> tuple[str, int] | None:
    """As api.node_lookup.resolve_node: a type and pk to look up, or None (null) for a malformed id or a type
    without a node."""
    from api.node_lookup import NODE_TYPES

    try:
        type_name, pk = parse_global_id(given)
    except BadGlobalId:
        return None
    return (type_name, pk) if type_name in NODE_TYPES and type_name in access.GATES else None


def _node_shape(shapes: dict[str, Shape | Unsupported], type_name: str) -> Shape:
    shape = shapes.get(type_name)
    if not isinstance(shape, Shape):
        raise Decline(f"node of type {type_name}{f': {shape}' if shape else ''}")
    return shape


def _node_of(shapes: dict[str, Shape | Unsupported], given: str, env: Env) -> Sql:
    """node(id:): the row if the viewer sees it, else null."""
    asked = _node_id(given)
    if asked is None:
        return "NULL::json"
    type_name, pk = asked
    shape = _node_shape(shapes, type_name)
    return _one(shape, TABLES[type_name], rendered(NODES[type_name](env.viewer, pk), env.p), env)
