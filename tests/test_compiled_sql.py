"""Reads compiled to one SQL statement (api/compiled/sql_plan.py) answer exactly as Strawberry answers them.

The selections are generated from the schema: every field of a type the compiler maps to a column,
a foreign key, a list or a connection, several levels down, under each root it compiles (`tasks`, `cases`,
`students`, `units`, `duties`, `unit`, `case`, `viewer { taskQueue }`, `node` and `nodes` on each compiled
type). Each is asked as every role, twice: Strawberry answers first, then
the compiled statement must answer, byte for byte the same. On SQLite the compiled path does not
exist: the same documents are answered by plan or by Strawberry, and this file checks that it stays so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import httpx
import orjson
import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, get_named_type, is_leaf_type
from tortoise import connections

from api.compiled.sql_plan import (
    BY_KEY,
    GATED_BY_KEY,
    JSON_ENTRIES,
    LEAVES,
    LINKED,
    LISTS,
    NODES,
    ROW_CONNECTIONS,
    SAME_ROW,
)
from api.ids import global_id
from api.schema import schema
from api.types.nested_lists import NESTED_LISTS
from models.cases import Case, DropoutReport, PersuasionKind, PersuasionRecord, PersuasionResult, ReportRouting
from models.children import Student
from models.duties import Duty
from models.facts import Fact, FactKind
from models.registers import MovementKind, RollMovement, SchoolClass, TransferScope
from models.rules import Rule, RuleKind
from models.tasks import Task, TaskCooperator, TaskEvent
from models.units import Person, Unit
from models.users import User, UserRole
from tests.conftest import BACKEND
from tests.support import sign_in
from tests.test_query_count import busy_county  # noqa: F401 - a fixture
from tests.test_query_plans import county, plans_of, post  # noqa: F401 - a fixture

ROLES = ["office", "education", "school", "school_office", "head_teacher", "township"]
CLASSES_SEEN = {"office": 3, "school": 3, "school_office": 3, "head_teacher": 1}  # of the demo pupil's school
COMPILED = BACKEND == "postgres"


def compiled_fields(type_name: str, depth: int, rows: bool = False, alias: str = "") -> str:
    """Every field of the type the compiler answers: its leaves, and its objects and lists `depth` levels down.
    `rows`: with the connections paged by their resolver's queryset under a row (Unit.tasks, Unit.duties), asked
    under the unit roots (under every unit of a page of tasks they would pass the cost limit). `alias` prefixes the
    type's own keys that clash in fragments on Node (Task.kind and Case.kind, of two types, under one key)."""
    parent = schema._schema.get_type(type_name)
    assert isinstance(parent, GraphQLObjectType)
    parts = ["__typename"]
    for name, field in parent.fields.items():
        inner = get_named_type(field.type)
        key = f"{alias}{name}: {name}" if alias and name in clashing(tuple(NODES)) else name
        if is_leaf_type(inner):
            if name in LEAVES.get(type_name, {}):
                parts.append(key)
        elif depth > 0 and isinstance(inner, GraphQLObjectType):
            followed = any(
                name in table.get(type_name, {})
                for table in (BY_KEY, GATED_BY_KEY, LISTS, LINKED, SAME_ROW, JSON_ENTRIES)
            )
            listed = {**NESTED_LISTS.get(type_name, {}), **(ROW_CONNECTIONS.get(type_name, {}) if rows else {})}
            if name in listed:
                node_type = listed[name][0]
                if node_type in LEAVES:  # a list of PersuasionRecord, Absence ... is answered the present way
                    parts.append(f"{key}(first: 2) {{ {connection(node_type, depth - 1, rows)} }}")
            elif followed or (type_name, name) == ("Case", "followUp"):
                parts.append(f"{key} {{ {compiled_fields(inner.name, depth - 1, rows)} }}")
    return " ".join(parts)


@cache
def clashing(type_names: tuple[str, ...]) -> frozenset[str]:
    """Fields of these types named alike and typed differently."""
    types: dict[str, set[str]] = {}
    for type_name in type_names:
        gql_type = schema._schema.get_type(type_name)
        assert isinstance(gql_type, GraphQLObjectType)
        for name, field in gql_type.fields.items():
            types.setdefault(name, set()).add(str(field.type))
    return frozenset(name for name, kinds in types.items() if len(kinds) > 1)


def connection(node: str, depth: int, rows: bool = False) -> str:
    some = "id" if "id" in LEAVES[node] else next(iter(LEAVES[node]))  # a Member has no id
    return f"""totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor __typename }}
      edges {{ __typename cursor node {{ {compiled_fields(node, depth, rows)} }} }} nodes {{ {some} }} __typename"""


def test_the_generated_selections_reach_every_compiled_field() -> None:
    """The generator is not vacuous: every mapped field of the schema appears under some root."""
    text = " ".join(compiled_fields(t, 3, rows=t == "Unit") for t in ("Task", "Case", "Student", "Unit"))
    tables = (LEAVES, BY_KEY, GATED_BY_KEY, LISTS, LINKED, SAME_ROW, ROW_CONNECTIONS, JSON_ENTRIES)
    for type_name, fields in [pair for table in tables for pair in table.items()]:
        gql_type = schema._schema.get_type(type_name)
        assert isinstance(gql_type, GraphQLObjectType), type_name
        for name in fields:
            assert name in gql_type.fields, f"{type_name}.{name} is not in the schema"
            assert name in text, f"{type_name}.{name} is never selected"
    for type_name, fields in LISTS.items():
        for name in fields:
            field_type = schema._schema.get_type(type_name).fields[name].type  # type: ignore[union-attr]
            assert isinstance(field_type, GraphQLNonNull) and isinstance(field_type.of_type, GraphQLList)
    for type_name, fields in NESTED_LISTS.items():
        for name, (node_type, _) in fields.items():
            if node_type not in LEAVES:
                continue
            assert name in text, f"{type_name}.{name} is never selected"
            field_type = get_named_type(schema._schema.get_type(type_name).fields[name].type)  # type: ignore[union-attr]
            assert field_type.name == f"{node_type}Connection"
    for type_name, fields in ROW_CONNECTIONS.items():
        for name, (node_type, _) in fields.items():
            field_type = get_named_type(schema._schema.get_type(type_name).fields[name].type)  # type: ignore[union-attr]
            assert field_type.name == f"{node_type}Connection"
    for type_name in NODES:
        assert schema._schema.is_sub_type(schema._schema.get_type("Node"), schema._schema.get_type(type_name))  # type: ignore[arg-type]


async def compiled_then_compared(
    client: httpx.AsyncClient, query: str, token: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ask twice: Strawberry answers, then the compiled statement (on PostgreSQL), with the same bytes."""
    plans = plans_of(client)
    first = await post(client, query, token, variables)
    assert first.status_code == 200, first.text
    assert "errors" not in first.json(), first.json()["errors"]
    by_sql = plans.answered_by_sql
    second = await post(client, query, token, variables)
    assert plans.answered_by_sql == by_sql + (1 if COMPILED else 0), "the compiled statement did not answer"
    assert second.content == first.content
    return second.json()


@pytest.fixture
async def people(county: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """The busy county's roles, a township, and a sensitive fact about the demo pupil with a task for police."""
    student = await Student.get(citizen_id="652323201503121002")
    fact = await Fact.create(
        student=student,
        household_id=student.household_id,
        kind=FactKind.DISABILITY,
        noted_on=date(2026, 9, 1),
        source="残联",
        reason="视力",
        recorded_at=student.created_at,
    )
    await Fact.create(
        student=student,
        household_id=student.household_id,
        kind=FactKind.MIGRANT,
        noted_on=date(2026, 9, 2),
        source="学校",
        reason="随迁",
        recorded_at=student.created_at,
    )
    police = await sign_in("police")
    rule = await Rule.get(kind=RuleKind.FACT_RULE, code="disability")  # with its duty and steps (Rule.spec)
    await Task.create(
        title="核实残疾等级",
        due_at=student.created_at,
        assignee_unit=await Unit.get(code="police"),
        fact=fact,
        rule=rule,
    )
    # The case's persuasion record and the pupil's roll movements: leaves of every kind (nulls, days, moments).
    case = await Case.filter(student=student).first()
    assert case is not None
    await PersuasionRecord.create(
        case=case,
        kind=PersuasionKind.SCHOOL_HOME_VISIT,
        result=PersuasionResult.PENDING,
        held_at=student.created_at,
        persuaders="班主任、校长",
        process="入户",
        parents_attitude="配合",
        recorded_by=await User.filter(role=UserRole.SCHOOL_OFFICE).first(),
    )
    school_office = await User.filter(role=UserRole.SCHOOL_OFFICE).first()
    report = await DropoutReport.create(
        case=case, absent_from=date(2026, 9, 2), absent_to=date(2026, 9, 8), persuasion_count=2, situation="劝返未果",
        contact_person="校长", contact_phone="13900000000", filed_by=school_office, filed_at=student.created_at,
    )  # fmt: skip
    for code, received in (("education", True), ("dafeng", False)):
        await ReportRouting.create(
            report=report, receiver=await Unit.get(code=code), sent_at=student.created_at, sender_name="学校",
            received_at=student.created_at if received else None, receiver_name="科员" if received else None,
            result="已督办" if received else None, result_at=student.created_at if received else None,
        )  # fmt: skip
    school = await Unit.get(id=student.school_id)
    # The pupil's class (the demo's, kept by the session) led by the county fixture's head teacher, whose user goes
    # after the test, and with it the class's head teacher: the school sees its three demo classes, the head teacher
    # this one, the township and the police (who see the pupil) none.
    teacher = await User.get(role=UserRole.HEAD_TEACHER, unit_id=school.id)
    assert student.school_class_id is not None
    await SchoolClass.filter(id=student.school_class_id).update(head_teacher_id=teacher.id)
    await RollMovement.create(
        student=student, kind=MovementKind.SUSPEND, day=date(2026, 9, 1), school=school,
        expected_return=date(2027, 2, 20), evidence="病休证明", recorded_by_name="教务处",
        recorded_at=student.created_at,
    )  # fmt: skip
    await RollMovement.create(
        student=student, kind=MovementKind.TRANSFER_OUT, day=date(2026, 9, 3), school=school,
        scope=TransferScope.IN_COUNTY, other_school=await Unit.get(code="demo-primary-2"), grade=3, evidence="转学证",
        recorded_at=student.created_at, arrival_confirmed_at=student.created_at, arrival_case=case,
    )  # fmt: skip
    shared = await shared_task()
    return {
        **county,
        "township": await sign_in("dafeng"),
        "police": police,
        "student": global_id("Student", student.id),
        "shared": global_id("Task", shared.id),
    }


# A history line's changes as the resolvers read them: a string, a number, nulls, a moment and booleans.
CHANGES = {
    "status": ["OPEN", "IN_PROGRESS"],
    "escalationLevel": [0, 1],
    "assignee": [None, "派出所民警"],
    "dueAt": ["2026-09-03T09:00:00+08:00", None],
    "urgent": [False, True],
}


async def shared_task() -> Task:
    """The police's task by a rule and a duty, escalated once, shared with the education bureau (its part done)
    and 大丰镇 (not yet), with a history line of every kind of change."""
    task = await Task.create(
        title="核实户籍", due_at=datetime(2026, 9, 1, 1, tzinfo=UTC), assignee_unit=await Unit.get(code="police"),
        rule=await Rule.first(), duty=await Duty.first(), escalation_level=1,
    )  # fmt: skip
    done = datetime(2026, 9, 4, 2, 30, 15, 120000, tzinfo=UTC)
    await TaskCooperator.create(task=task, unit=await Unit.get(code="education"), part_done_at=done, part_note="已比对")
    await TaskCooperator.create(task=task, unit=await Unit.get(code="dafeng"))
    await TaskEvent.create(task=task, at=done, action="ESCALATED", comment="逾期", changes=CHANGES)
    return task


@pytest.fixture
def whole_selections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every compiled field of a case, a student or a unit three levels down is a little over the 3,000 tokens a
    query may hold, and twenty tasks with theirs (a task's rule, its duty, its parts) a little over a cost of 50,000."""
    from config import settings

    monkeypatch.setattr(settings(), "max_query_tokens", 4_000)
    monkeypatch.setattr(settings(), "max_query_cost", 60_000)


@pytest.mark.parametrize("who", ROLES)
async def test_the_office_task_list_and_cases_and_students_as_each_role(
    client, people, who: str, whole_selections
) -> None:
    tasks = f"tasks(first: 20) {{ {connection('Task', 3)} }}"
    cases = f"cases(first: 5) {{ {connection('Case', 3)} }}"
    students = f"students(first: 5) {{ {connection('Student', 2)} }}"
    if who == "office":
        await compiled_then_compared(client, f"{{ {tasks} }}", people[who])
    answers = [await compiled_then_compared(client, q, people[who]) for q in (f"{{ {cases} }}", f"{{ {students} }}")]
    if who == "office":  # the fixture's report, routing, persuasion record, absences and movements are in it
        case = next(
            e["node"] for e in answers[0]["data"]["cases"]["edges"] if e["node"]["reportsConnection"]["totalCount"]
        )
        report = case["reportsConnection"]["edges"][0]["node"]
        assert report["routingConnection"]["totalCount"] == 2 and report["documentUrl"].endswith(".docx")
        assert case["persuasionRecordsConnection"]["totalCount"] == 1 and case["absencesConnection"]["totalCount"] >= 1
        moved = [e["node"]["rollMovementsConnection"]["totalCount"] for e in answers[1]["data"]["students"]["edges"]]
        assert 2 in moved
        ruled = [t["rule"] for t in case["tasks"] if t["rule"]]  # the ladder's steps
        assert ruled and all(rule["kind"] == "LADDER_STEP" and rule["duty"] is None for rule in ruled)


@pytest.mark.parametrize("who", [*ROLES, "police"])
async def test_units_duties_and_one_unit_as_each_role(client, people, who: str, whole_selections) -> None:
    units = f"units(first: 6) {{ {connection('Unit', 2, rows=True)} }}"
    duties = f"duties(first: 4) {{ {connection('Duty', 2)} }}"
    unit = compiled_fields("Unit", 3, rows=True)
    one = f"""{{ education: unit(code: "education") {{ ...U }} school: unit(code: "demo-primary-1") {{ ...U }}
      nowhere: unit(code: "nowhere") {{ id }} long: unit(code: "{"x" * 65}") {{ id }} }}
      fragment U on Unit {{ {unit} }}"""
    for query in (f"{{ {units} }}", f"{{ {duties} }}", one):
        answer = await compiled_then_compared(client, query, people[who])
    # The school's three demo classes for its staff, the head teacher's own (with the demo pupil), none for others.
    classes = answer["data"]["school"]["classes"]
    assert classes["totalCount"] == CLASSES_SEEN.get(who, 0)
    if classes["totalCount"]:
        assert sum(e["node"]["pupils"]["totalCount"] for e in classes["edges"]) >= 1
        assert all(e["node"]["school"]["code"] == "demo-primary-1" for e in classes["edges"])


@pytest.mark.parametrize("who", [*ROLES, "police"])
async def test_a_task_s_rule_as_each_role(client, people, who: str) -> None:
    """Task.rule: the rule that made the task (a fact rule with its duty and steps, a ladder step without a duty),
    seen by whoever sees the task; a task made by hand has none."""
    police = await Task.get(title="核实残疾等级")
    ladder = await Task.filter(rule_id__not_isnull=True, case_id__not_isnull=True).order_by("id").first()
    manual = await Task.filter(rule_id__isnull=True).order_by("id").first()
    assert ladder is not None and manual is not None
    ids = [global_id("Task", t.id) for t in (police, ladder, manual)]
    query = f"""query($ids: [ID!]!) {{ nodes(ids: $ids) {{ id ... on Task {{ title
      rule {{ {compiled_fields("Rule", 1)} }} }} }} }}"""
    nodes = (await compiled_then_compared(client, query, people[who], {"ids": ids}))["data"]["nodes"]
    if who in ("office", "police"):
        rule = nodes[0]["rule"]
        assert (rule["code"], rule["kind"], rule["duty"]["code"]) == ("disability", "FACT_RULE", "disability-grading")
        assert rule["spec"]["steps"][0]["code"] == "grading"
    if who == "office":
        assert nodes[1]["rule"]["kind"] == "LADDER_STEP" and nodes[1]["rule"]["duty"] is None
        assert nodes[2]["rule"] is None


@pytest.mark.parametrize("who", [*ROLES, "police"])
async def test_a_school_s_classes_page_as_each_role(client, people, who: str) -> None:
    """Unit.classes a class at a time in CLASS_ORDER (grade, name, id: a cursor holds the class's name), with each
    class's pupils; the viewer's classes only (tasks.access.visible_classes)."""
    query = """query($after: String) { unit(code: "demo-primary-1") { classes(first: 1, after: $after) { totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id grade name schoolYear
        headTeacher { name } pupils(first: 1) { totalCount pageInfo { hasNextPage endCursor }
          nodes { id name schoolClass { name } } } } } } } }"""
    after, names = None, []
    for _ in range(4):
        page = await compiled_then_compared(client, query, people[who], {"after": after})
        classes = page["data"]["unit"]["classes"]
        names += [(e["node"]["grade"], e["node"]["name"]) for e in classes["edges"]]
        after = classes["pageInfo"]["endCursor"]
        if not classes["pageInfo"]["hasNextPage"]:
            break
    seen = {"head_teacher": [(5, "2班")]}.get(who, [(1, "1班"), (5, "2班"), (6, "1班")])
    assert names == (seen if who in CLASSES_SEEN else [])


@pytest.mark.parametrize("who", [*ROLES, "police"])
async def test_units_and_a_unit_s_tasks_and_duties_page_as_each_role(client, people, who: str) -> None:
    """Unit.tasks is the viewer's view of the unit's tasks (every task for the office, else the viewer's unit's own
    and shared ones): a unit's own list, and another's it cooperates on, page after page in each order."""
    query = """query($units: String, $tasks: String, $duties: String, $police: String, $township: ID!) {
      schools: units(kind: SCHOOL, first: 2, after: $units) { totalCount pageInfo { hasNextPage hasPreviousPage
        endCursor } edges { cursor node { code parent { code } } } }
      villages: units(parentId: $township, first: 3) { totalCount nodes { code kind } }
      education: unit(code: "education") {
        tasks(first: 7, after: $tasks, orderBy: DUE_LATEST) { totalCount
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id dueAt status } } }
        duties(first: 2, after: $duties) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
          nodes { id code owners { role unitKind unit { code } } cooperators { unitKind unit { code } } } } }
      police: unit(code: "police") { tasks(first: 2, after: $police, filter: {status: [OPEN, IN_PROGRESS]}) {
        totalCount pageInfo { hasNextPage endCursor } nodes { id title cooperatingUnits { code } } } }
      dafeng: unit(code: "dafeng") { tasks(first: 5, orderBy: NEWEST) { totalCount nodes { id } } }
      school: unit(code: "demo-primary-1") { tasks(first: 5) { totalCount nodes { id case { id } } }
        duties(first: 3) { totalCount nodes { code } } } }"""
    township = (await post(client, '{ unit(code: "dafeng") { id } }', people["office"])).json()["data"]["unit"]["id"]
    variables: dict[str, Any] = {"units": None, "tasks": None, "duties": None, "police": None, "township": township}
    seen = 0
    for _ in range(3):
        data = (await compiled_then_compared(client, query, people[who], variables))["data"]
        seen += len(data["education"]["tasks"]["edges"]) + len(data["police"]["tasks"]["nodes"])
        variables["units"] = data["schools"]["pageInfo"]["endCursor"]
        variables["tasks"] = data["education"]["tasks"]["pageInfo"]["endCursor"]
        variables["duties"] = data["education"]["duties"]["pageInfo"]["endCursor"]
        variables["police"] = data["police"]["tasks"]["pageInfo"]["endCursor"]
    if who in ("office", "education", "police"):
        assert seen >= 6


async def some_ids(people: dict[str, str]) -> list[str]:
    """Ids of every type node(id:) compiles, some seen by a role and some not, and ids that answer null."""
    education, police, school = [await Unit.get(code=c) for c in ("education", "police", "demo-primary-1")]
    tasks = [
        await Task.filter(assignee_unit=education).order_by("id").first(),
        await Task.filter(assignee_unit=police).order_by("id").first(),
        await Task.filter(case_id__not_isnull=True).order_by("id").first(),
        await Task.filter(fact_id__not_isnull=True).order_by("id").first(),
    ]
    rows: list[tuple[str, Any]] = [("Task", t) for t in tasks]
    rows += [("Case", await Case.first()), ("Unit", education), ("Unit", school), ("Duty", await Duty.first())]
    rows += [("Fact", f) for f in await Fact.all().order_by("id")]
    rows += [("User", await User.filter(unit=school).first()), ("User", await User.filter(unit=police).first())]
    rows += [("Person", await Person.first()), ("Rule", await Rule.first())]
    classes = await SchoolClass.all().order_by("id").limit(2)
    assert len(classes) == 2
    rows += [("SchoolClass", c) for c in classes]
    rows += [("RollMovement", m) for m in await RollMovement.all().order_by("id")]
    rows += [("PersuasionRecord", await PersuasionRecord.first()), ("DropoutReport", await DropoutReport.first())]
    rows += [("ReportRouting", r) for r in await ReportRouting.all().order_by("id")]
    found = [global_id(type_name, row.id) for type_name, row in rows if row is not None]
    assert len(found) == len(rows)
    unknown = [global_id("Nothing", 1), global_id("Task", 2**31 - 1), "bm90IGFuIGlk", global_id("Task", 0)]
    return [*found, people["student"], found[0], *unknown]


@pytest.mark.parametrize("who", [*ROLES, "police"])
async def test_node_nodes_and_case_of_each_compiled_type_as_each_role(client, people, who: str) -> None:
    """node(id:) and nodes(ids:) read each type through its gate: null where the row is not the viewer's to see,
    and for malformed ids, types without nodes and rows that do not exist; nodes keeps the order asked."""
    ids = await some_ids(people)
    case = await Case.first()
    assert case is not None
    types = [t for t in NODES if t != "Case"]
    for start in range(0, len(types), 4):  # every fragment at once passes the 30 aliases a query may hold
        chunk = ["Case", *types[start : start + 4]]
        fragments = " ".join(f"fragment On{t} on {t} {{ {compiled_fields(t, 1, alias=t)} }}" for t in chunk)
        spread = "__typename " + " ".join(f"...On{t}" for t in chunk)
        query = f"""query($ids: [ID!]!, $id: ID!, $case: ID!) {{
          nodes(ids: $ids) {{ {spread} }} node(id: $id) {{ {spread} }} case(id: $case) {{ ...OnCase }}
          notACase: case(id: $id) {{ id }} none: nodes(ids: []) {{ id }} }} {fragments}"""
        for one in (ids[0], ids[3], ids[-2]):  # a task, a task about a fact, a malformed id
            variables = {"ids": ids, "id": one, "case": global_id("Case", case.id)}
            data = (await compiled_then_compared(client, query, people[who], variables))["data"]
            assert len(data["nodes"]) == len(ids) and data["nodes"][-4:] == [None] * 4
            assert data["node"] == data["nodes"][ids.index(one)]
        if who == "office":
            assert all(data["nodes"][: len(ids) - 4]) and data["case"] is not None
            assert data["nodes"][len(ids) - 5] == data["nodes"][0]


@pytest.mark.parametrize("who", ROLES)
async def test_the_queue_as_each_role(client, people, who: str) -> None:
    """Compiled for everyone but a head teacher (their queue is narrowed to their pupils: answered by plan)."""
    query = f"""query($after: String) {{ viewer {{ __typename taskQueue(first: 4, after: $after) {{
      {connection("Task", 3)} }} }} }}"""
    after = None
    for _ in range(2):
        if who == "head_teacher":
            plans = plans_of(client)
            first = await post(client, query, people[who], {"after": after})
            by_sql = plans.answered_by_sql
            second = await post(client, query, people[who], {"after": after})
            assert plans.answered_by_sql == by_sql and second.content == first.content
            data = second.json()
        else:
            data = await compiled_then_compared(client, query, people[who], {"after": after})
        after = data["data"]["viewer"]["taskQueue"]["pageInfo"]["endCursor"]
    filtered = "{ viewer { taskQueue(first: 5, filter: {status: [DONE, OPEN]}, orderBy: NEWEST) { nodes { id } } } }"
    if who != "head_teacher":
        await compiled_then_compared(client, filtered, people[who])


@pytest.mark.parametrize("who", [*ROLES, "police"])
async def test_a_student_with_facts_cases_and_tasks_as_each_role(client, people, who: str, whole_selections) -> None:
    student = compiled_fields("Student", 3)
    query = f"""query($id: ID!) {{ node(id: $id) {{ id __typename ... on Student {{ {student} }} }} }}"""
    data = (await compiled_then_compared(client, query, people[who], {"id": people["student"]}))["data"]
    if who in ("office", "school", "police"):
        assert data["node"] is not None
    pupil = data["node"]
    if pupil is None:
        return
    # The class only for the school's staff (the head teacher's own), through its gate; the arrival case for those
    # who see the case; the movement's pupil is the pupil seen.
    seen_class = pupil["schoolClass"]
    assert (seen_class is not None) is (who in CLASSES_SEEN)
    if seen_class is not None:
        assert seen_class["name"] == "2班" and seen_class["headTeacher"]["name"] == "【演示】班主任1"
    movements = [e["node"] for e in pupil["rollMovementsConnection"]["edges"]]
    assert [m["student"]["id"] for m in movements] == [people["student"]] * 2
    arrival = [m["arrivalCase"] for m in movements if m["kind"] == "TRANSFER_OUT"]
    assert len(arrival) == 1 and (arrival[0] is not None) is (who != "police")
    rules = [t["rule"] for f in pupil["facts"] for t in f["tasks"] if t["rule"]]  # the police's task: a fact rule
    if who in ("office", "police"):
        assert rules[0]["code"] == "disability" and rules[0]["spec"]["steps"][0]["code"] == "grading"


@pytest.mark.parametrize("who", [*ROLES, "police"])
async def test_the_lists_under_a_student_page_as_each_role(client, people, who: str) -> None:
    """The connections under an object, page after page: the compiled statement pages them as the resolvers do."""
    query = """query($id: ID!, $cases: String, $facts: String, $tasks: String) { node(id: $id) { ... on Student {
      casesConnection(first: 1, after: $cases) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { id tasksConnection(first: 2, after: $tasks) { totalCount
          pageInfo { hasNextPage endCursor } nodes { id dueAt } } } } }
      factsConnection(first: 1, after: $facts) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        nodes { id kind tasksConnection(first: 1) { totalCount nodes { id } } } } } } }"""
    variables: dict[str, Any] = {"id": people["student"], "cases": None, "facts": None, "tasks": None}
    seen = 0
    for _ in range(3):
        student = (await compiled_then_compared(client, query, people[who], variables))["data"]["node"]
        if student is None:
            break
        cases, facts = student["casesConnection"], student["factsConnection"]
        seen += len(cases["edges"]) + facts["totalCount"]
        variables["cases"] = cases["pageInfo"]["endCursor"]
        variables["facts"] = facts["pageInfo"]["endCursor"]
        if cases["edges"]:
            variables["tasks"] = cases["edges"][0]["node"]["tasksConnection"]["pageInfo"]["endCursor"]
    if who in ("office", "school"):
        assert seen > 2


async def test_pages_filters_orders_and_aliases_of_the_office_list(client, people) -> None:
    query = """query($after: String, $status: [TaskStatus!]) {
      open: tasks(first: 7, after: $after, filter: {status: $status}, orderBy: DUE_LATEST) {
        edges { cursor node { id dueAt title: title t2: title assigneeUnit { name } } }
        pageInfo { endCursor hasNextPage hasPreviousPage }
      }
      newest: tasks(first: 3, orderBy: NEWEST) { nodes { id ...F } }
    }
    fragment F on Task { status case { student { name } } }"""
    office = people["office"]
    after = None
    for _ in range(3):
        page = (await compiled_then_compared(client, query, office, {"after": after, "status": ["OPEN"]}))["data"]
        after = page["open"]["pageInfo"]["endCursor"]
        assert page["open"]["pageInfo"]["hasPreviousPage"] is (_ > 0)


async def test_a_shared_task_s_parts_history_and_why_it_is_mine(client, people) -> None:
    """Task.parts, TaskEvent.changes and Task.whyMine compile: the answers hold the fixture's parts and changes,
    and whyMine tells the owner unit's viewer, a cooperating unit's and the office apart."""
    query = f"""query($id: ID!) {{ node(id: $id) {{ ... on Task {{ {compiled_fields("Task", 2)} }} }} }}"""
    why = {}
    for who in ("police", "education", "office"):
        task = (await compiled_then_compared(client, query, people[who], {"id": people["shared"]}))["data"]["node"]
        why[who] = task["whyMine"]
        parts = [(p["unit"]["code"], p["doneAt"], p["note"]) for p in task["parts"]]
        assert parts == [("education", "2026-09-04T10:30:15.120000+08:00", "已比对"), ("dafeng", None, None)]
        (line,) = [e["node"] for e in task["historyConnection"]["edges"]]
        assert {c["field"]: [c["before"], c["after"]] for c in line["changes"]} == {
            "status": ["OPEN", "IN_PROGRESS"], "escalationLevel": ["0", "1"], "assignee": [None, "派出所民警"],
            "dueAt": ["2026-09-03T09:00:00+08:00", None], "urgent": ["False", "True"],
        }  # fmt: skip
        if COMPILED:  # jsonb keeps an object's keys shortest first, and the resolvers read them in that order
            assert [c["field"] for c in line["changes"]] == ["dueAt", "status", "urgent", "assignee", "escalationLevel"]
    rule, duty = await Rule.first(), await Duty.first()
    assert rule is not None and duty is not None
    source = f"规则 {rule.code}（{rule.clause} {rule.title}）；职责 {duty.clause} {duty.title}；已逾期升级（第1级）"
    assert why == {
        "police": f"本单位承办：{source}",
        "education": f"本单位协办：{source}",
        "office": f"领导小组办公室督办：{source}",
    }


@pytest.mark.parametrize(
    "changes",
    [
        '{"ratio": [0.5, 1.5]}',
        '{"count": [18446744073709551616, 0]}',
        '{"units": [["education"], null]}',
        '{"x": [{}, 1]}',
    ],
)
async def test_a_change_sql_cannot_write_as_python_does_is_answered_the_present_way(client, people, changes) -> None:
    """str() of a float (repr's shortest digits; orjson reads an integer past 64 bits as one), of a list or of a
    dict: the statement does not write it, it declines, and the resolvers answer."""
    query = """query($id: ID!) { node(id: $id) { ... on Task { whyMine
      historyConnection(first: 5) { nodes { action changes { field before after } } } } } }"""
    variables = {"id": people["shared"]}
    await compiled_then_compared(client, query, people["office"], variables)
    task = await Task.get(title="核实户籍")
    line = await TaskEvent.create(task=task, at=datetime.now(UTC), action="X")
    # Written as text: orjson, Tortoise's encoder, writes no integer past 64 bits.
    await connections.get("default").execute_script(f"UPDATE task_event SET changes = '{changes}' WHERE id = {line.id}")
    await answered_the_present_way(client, query, people["office"], variables)


async def test_a_school_s_newest_cases_with_their_tasks(client, people) -> None:
    school = (await post(client, '{ unit(code: "demo-primary-1") { id } }', people["office"])).json()
    query = """query($school: ID!) { cases(first: 20, filter: {schoolId: $school}) { nodes {
      id status openedAt student { name citizenId }
      tasks { id title status dueAt overdue assigneeUnit { name } } } } }"""
    for who in ("office", "school_office", "township", "head_teacher"):
        data = await compiled_then_compared(client, query, people[who], {"school": school["data"]["unit"]["id"]})
        if who != "township":
            assert data["data"]["cases"]["nodes"][0]["tasks"]


async def test_what_is_not_compiled_goes_the_present_way(client, people) -> None:
    plans = plans_of(client)
    office = people["office"]
    for query in (
        "{ tasks(first: 3) { nodes { id history { action } } } }",  # Task.history is not compiled
        "{ cases(first: 3) { nodes { id absenceDays } } }",  # computed from the school calendar in Python
        "{ viewer { user { name } taskQueue(first: 3) { nodes { id } } } }",  # Viewer.user is not compiled
        "query($on: Boolean!) { tasks(first: 3) { nodes { id title @include(if: $on) } } }",  # directives
    ):
        variables = {"on": False} if "$on" in query else None
        first = await post(client, query, office, variables)
        by_sql = plans.answered_by_sql
        second = await post(client, query, office, variables)
        assert plans.answered_by_sql == by_sql
        assert second.content == first.content
    # A liaison's `tasks` is their unit's own and shared lists: declined for the request, answered by plan.
    liaison = people["education"]
    query = "{ tasks(first: 3) { nodes { id title } } }"
    first = await post(client, query, liaison)
    answered, by_sql = plans.answered, plans.answered_by_sql
    second = await post(client, query, liaison)
    assert (plans.answered, plans.answered_by_sql) == (answered + 1, by_sql)
    assert second.content == first.content


async def answered_the_present_way(
    client: httpx.AsyncClient, query: str, token: str, variables: dict[str, Any] | None = None
) -> None:
    plans = plans_of(client)
    first = await post(client, query, token, variables)
    assert "errors" not in first.json(), first.json()["errors"]
    by_sql = plans.answered_by_sql
    second = await post(client, query, token, variables)
    assert plans.answered_by_sql == by_sql, "declined by the compiled statement"
    assert second.content == first.content


async def test_a_node_of_a_type_not_compiled_is_declined_for_that_id(client, people) -> None:
    """A node type whose fragment is not compiled (Task.history) or that has no compiled node (ImportRun) declines
    the request asking for it; the same document still compiles for the other types' ids."""
    office = people["office"]
    task = await Task.first()
    assert task is not None
    query = """query($id: ID!) { node(id: $id) { id ... on Task { title history { action } } ... on Student { name }
      ... on ImportRun { fileName } } }"""
    await compiled_then_compared(client, query, office, {"id": people["student"]})
    for other in (global_id("Task", task.id), global_id("ImportRun", 1)):
        await answered_the_present_way(client, query, office, {"id": other})
    await compiled_then_compared(client, query, office, {"id": global_id("Nothing", 1)})  # null, as resolve_node
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Unit { code } } }"
    await compiled_then_compared(client, nodes, office, {"ids": [people["student"]]})
    await answered_the_present_way(client, nodes, office, {"ids": [people["student"], global_id("ImportRun", 1)]})


async def test_the_register_of_an_owner_unit_and_an_unknown_one(client, people) -> None:
    """duties(ownerUnitId:) compiles (its own duties and those of its kind); an unknown unit is the resolver's
    error, byte for byte: the statement declines it (a guard) and the resolvers answer."""
    office = people["office"]
    duties = "query($owner: ID) { duties(ownerUnitId: $owner, first: 3) { totalCount nodes { code } } }"
    await compiled_then_compared(client, duties, office, {"owner": None})
    for code in ("education", "demo-primary-1"):
        owned = await compiled_then_compared(
            client, duties, office, {"owner": global_id("Unit", (await Unit.get(code=code)).id)}
        )
        assert owned["data"]["duties"]["totalCount"] > 0, code
    plans = plans_of(client)
    by_sql = plans.answered_by_sql
    unknown = [await post(client, duties, office, {"owner": global_id("Unit", 987654)}) for _ in range(2)]
    assert unknown[0].json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert unknown[1].content == unknown[0].content
    assert plans.answered_by_sql == by_sql


async def test_a_bad_cursor_gets_strawberry_s_error(client, people) -> None:
    query = "query($after: String) { tasks(first: 3, after: $after) { nodes { id } } }"
    await compiled_then_compared(client, query, people["office"], {"after": None})
    plans = plans_of(client)
    by_sql = plans.answered_by_sql
    answer = (await post(client, query, people["office"], {"after": "bm90IGEgY3Vyc29y"})).json()
    assert plans.answered_by_sql == by_sql
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_kept_statement_follows_the_clock(client, people, monkeypatch) -> None:
    """The statement of a request is kept per viewer and variables; "now" stays a parameter of it."""
    from config import settings
    from models import clock

    query = "{ tasks(first: 50, filter: {overdue: false}) { totalCount nodes { id overdue dueAt } } }"
    office = people["office"]
    before = await compiled_then_compared(client, query, office)  # made and kept at AS_OF
    answers = {}
    for compiled in (True, False):
        monkeypatch.setattr(settings(), "compiled_sql", compiled)
        with clock.as_of(clock.parse_moment("2026-12-10")):  # months later: open tasks due meanwhile are overdue
            response = await client.post(
                "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {office}"}
            )
        answers[compiled] = response.content
    assert answers[True] == answers[False]
    assert orjson.loads(answers[True])["data"]["tasks"]["totalCount"] < before["data"]["tasks"]["totalCount"]


async def test_a_presumed_viewer_is_checked_in_the_statement(client, people, monkeypatch) -> None:
    """After its first answer a token's user is presumed and checked inside the compiled statement (one round
    trip): a revoked token, a deactivated user or one moved to another unit is never answered as before."""
    from config import settings
    from models.accounts import authenticate, deactivate_user, revoke_token
    from models.users import User

    query = "{ cases(first: 20) { totalCount nodes { id } } }"
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    before = await compiled_then_compared(client, query, school)
    plans = plans_of(client)
    by_sql = plans.answered_by_sql
    assert (await post(client, query, school)).content == (await post(client, query, school)).content
    assert plans.answered_by_sql == by_sql + (2 if COMPILED else 0)

    user = await authenticate(school)
    assert user is not None
    await User.filter(id=user.id).update(unit_id=(await Unit.get(code="police")).id)  # moved: sees no case
    moved = (await post(client, query, school)).json()
    monkeypatch.setattr(settings(), "query_plans", False)
    assert moved == (await post(client, query, school)).json() != before  # Strawberry's answer, the new scope
    monkeypatch.setattr(settings(), "query_plans", True)

    await revoke_token(school)
    revoked = (await post(client, query, school)).json()
    assert revoked["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" and not revoked.get("data")

    other = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    await compiled_then_compared(client, query, other)
    found = await authenticate(other)
    assert found is not None
    await deactivate_user(found.id)
    gone = (await post(client, query, other)).json()
    assert gone["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" and not gone.get("data")
