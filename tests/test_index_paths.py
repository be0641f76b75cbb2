"""Every list the schema offers has an index path: no sequential scan of a large table (issue 13).

Each role asks every connection and nested list of the schema; the SQL statements those answers
cost are captured as they are sent. Then, on one connection and inside a transaction that is
rolled back, the tables are filled to a realistic size (200,000 tasks, 100,000 students and
households, 4,000 classes (twenty a school), 20,000 cases and facts, 40,000 cooperator links, 200,000 absences,
100,000 roll movements and roster lines, 2,000 rosters, 200,000 guardians, 10,000 ledger lines, a census of 500
books, 50,000 pages and 100,000 lines, with 220 more schools and townships), analysed, and each captured statement is
explained with its own parameters: a Seq Scan of any of those tables fails the test. The test also shows it can
fail: without the index on task.case_id, a case's tasks scan the task table.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from api.ids import global_id
from models import clock
from models.cases import Absence, Case, CaseEvent, CaseKind
from models.children import Gender, Guardian, GuardianRelation, Student
from models.facts import Fact, FactKind
from models.population import CensusBook, CensusLine, CensusPage, VillageGroup
from models.registers import (
    GraduateHandover,
    HandoverLine,
    LedgerEntry,
    LedgerMark,
    MovementKind,
    RollMovement,
    TransferScope,
)
from models.rules import Digest
from models.tasks import Task, TaskCooperator, TaskKind
from models.units import Unit
from models.users import UserRole
from tests.support import gql, sign_in, sign_in_head_teacher

pytestmark = pytest.mark.postgres_only

LARGE = {
    "task",
    "dropout_case",
    "student",
    "household",
    "fact",
    "task_cooperator",
    "absence",
    "roll_movement",
    "graduate_handover",
    "handover_line",
    "guardian",
    "ledger_entry",
    "census_page",
    "census_line",
}
# Not large: 4,000 classes (twenty a school, their pupils by student_class_idx). A school's classes are found by the
# class's unique key (school first); the page of them is then read back by id, which PostgreSQL does by scanning
# the few thousand rows when that costs less than twenty lookups.

TASK_FIELDS = """
  id title status dueAt overdue
  assigneeUnit { name children { code } }
  assignee { name }
  cooperatingUnits { code }
  duty { clause }
  history { action }
  fact { kind tasks { id } }
  case { id student { name } }
"""

CASE_FIELDS = f"""
  id status absenceDays
  student {{ name household {{ homeAddress guardians {{ name }} township {{ name }} }} facts {{ id tasks {{ id }} }}
            cases {{ id }} }}
  school {{ name }} township {{ name }}
  absences {{ day }} timeline {{ action }} persuasionRecords {{ id }} reports {{ id routing {{ receiverName }} }}
  tasks {{ {TASK_FIELDS} }}
"""

QUERIES = {
    "tasks": f"query {{ tasks(first: 50) {{ pageInfo {{ endCursor }} nodes {{ {TASK_FIELDS} }} }} }}",
    "open tasks": "query { tasks(first: 50, filter: {status: [OPEN, IN_PROGRESS]}) { nodes { " + TASK_FIELDS + " } } }",
    "newest tasks": "query { tasks(first: 50, orderBy: NEWEST) { nodes { id } } }",
    "latest tasks": "query { tasks(first: 50, orderBy: DUE_LATEST) { nodes { id } } }",
    "overdue tasks": "query { tasks(first: 50, filter: {overdue: true}) { nodes { id } } }",
    "escalated tasks": "query { tasks(first: 50, filter: {escalated: true}) { nodes { id } } }",
    "queue": f"query {{ viewer {{ taskQueue(first: 50) {{ nodes {{ {TASK_FIELDS} }} }} }} }}",
    "cases": f"query {{ cases(first: 20) {{ nodes {{ {CASE_FIELDS} }} }} }}",
    "open cases": "query { cases(first: 20, filter: {status: OPEN}) { nodes { id } } }",
    "students": "query { students(first: 20) { nodes { id name citizenId school { name } cases { id } } } }",
    "units": "query { units(first: 20) { nodes { code children { code } members { role } } } }",
    "duties": "query { duties(first: 20) { nodes { id } } }",
    # Answered by one compiled statement (api/compiled/sql_plan.py) the second time they are asked.
    "compiled open tasks": "query { tasks(first: 50, filter: {status: [OPEN, IN_PROGRESS]}) { edges { cursor node {"
    " id title dueAt assigneeUnit { name } cooperatingUnits { name }"
    " case { id student { name school { name } } } } } } }",
    "compiled queue": "query { viewer { taskQueue(first: 50) { nodes { id case { student { name } } } } } }",
    # The connections under an object (api/types/nested_lists.py), by the resolvers and then compiled.
    "nested connections": "query { tasks(first: 20) { nodes { id"
    " historyConnection(first: 5) { totalCount nodes { action } }"
    " case { tasksConnection(first: 5) { totalCount pageInfo { endCursor } nodes { id } }"
    " timelineConnection(first: 5) { totalCount nodes { action } }"
    " persuasionRecordsConnection(first: 5) { totalCount nodes { id } }"
    " reportsConnection(first: 5) { totalCount nodes { id routingConnection(first: 5) { totalCount nodes { id } } } }"
    " student { casesConnection(first: 5) { totalCount nodes { id } } factsConnection(first: 5) { totalCount"
    " nodes { id tasksConnection(first: 5) { totalCount nodes { id } } } } } }"
    " assigneeUnit { childrenConnection(first: 5) { totalCount nodes { code } }"
    " membersConnection(first: 5) { totalCount nodes { role } } } } } }",
    "compiled nested connections": "query { cases(first: 20) { nodes { id tasksConnection(first: 5) { totalCount"
    " pageInfo { hasNextPage endCursor } edges { cursor node { id assigneeUnit { childrenConnection(first: 3) {"
    " totalCount nodes { code } } } } } }"
    " student { casesConnection(first: 5) { totalCount nodes { id } } factsConnection(first: 5) { totalCount"
    " nodes { id tasksConnection(first: 5) { totalCount nodes { id } } } } } } } }",
    "compiled units": "query { units(first: 20) { totalCount nodes { code parent { code }"
    " tasks(first: 5) { totalCount pageInfo { endCursor } nodes { id dueAt } }"
    " duties(first: 5) { totalCount nodes { id owners { unit { code } } } } } } }",
    "compiled unit": 'query { unit(code: "education") { code'
    " tasks(first: 20, filter: {status: [OPEN, IN_PROGRESS]}, orderBy: DUE_LATEST) { totalCount"
    " pageInfo { endCursor } nodes { id historyConnection(first: 5) { totalCount nodes { action actor { name } } }"
    " case { timelineConnection(first: 5) { totalCount nodes { action actor { name } } } } } }"
    " membersConnection(first: 5) { nodes { role person { name membershipsConnection(first: 3) { totalCount"
    ' nodes { role unit { code } } } } } } } police: unit(code: "police") { tasks(first: 20, orderBy: NEWEST) {'
    " totalCount nodes { id } } } }",
    "compiled duties": "query { duties(first: 20) { totalCount nodes { id trigger { kind } deadline { rule isDefault }"
    " owners { unitKind unit { code } } cooperators { unitKind } } } }",
    # A school's classes and their pupils, a pupil's class and movements' objects through their gates, a task's rule.
    "compiled classes": 'query { unit(code: "demo-primary-1") { classes(first: 20) { totalCount pageInfo { endCursor }'
    " nodes { id name headTeacher { name } school { code } pupils(first: 5) { totalCount pageInfo { endCursor }"
    " nodes { id schoolClass { name } } } } } } }",
    "compiled registers": "query { cases(first: 20) { nodes { id tasks { id rule { code duty { code } } }"
    " student { schoolClass { name } rollMovementsConnection(first: 5) { totalCount"
    " nodes { id student { id } arrivalCase { id } } } } } } }",
    "nested connections by day": "query { cases(first: 20) { nodes { id"
    " absencesConnection(first: 5) { totalCount pageInfo { endCursor } nodes { day } }"
    " student { rollMovementsConnection(first: 5) { totalCount nodes { id day } } } } } }",
    "nested register connections": 'query { primary: unit(code: "demo-primary-1") {'
    " handoversConnection(first: 5) { totalCount nodes { id linesConnection(first: 5) { totalCount nodes { id } } } }"
    " incomingTransfersConnection(first: 5) { totalCount nodes { id day } }"
    " membersConnection(first: 5) { nodes { person {"
    " membershipsConnection(first: 5) { totalCount nodes { role } } } } }"
    ' } middle: unit(code: "demo-middle-1") { handoversConnection(first: 5) { totalCount nodes { id } } } }',
    "nested household connections": "query { cases(first: 20) { nodes { id student { household {"
    " guardiansConnection(first: 5) { totalCount pageInfo { endCursor } nodes { name } } } } } }"
    " householdBooks(first: 5) { nodes { id pages(first: 5) { nodes { householdNumber"
    " linesConnection(first: 5) { totalCount pageInfo { endCursor } nodes { name } } } } } } }",
}


class Captured(logging.Handler):
    """Each statement Tortoise sends, with its parameters."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, str, list[Any]]] = []
        self.asking = ""

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2 and isinstance(record.args[0], str):
            query, values = record.args
            self.statements.append((self.asking, query, list(values or [])))


@contextmanager
def captured() -> Iterator[Captured]:
    logger = logging.getLogger("tortoise.db_client")
    handler = Captured()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


async def small_county() -> dict[str, int]:
    """A case with its tasks, a fact with its task, a shared task: so that every nested list is read."""
    school = await Unit.get(code="demo-primary-1")
    township = await Unit.get(code="dafeng")
    education = await Unit.get(code="education")
    student = await Student.get(citizen_id="652323201503121002")
    now = clock.now()
    case = await Case.create(
        student=student,
        kind=CaseKind.ABSENT_WITHOUT_REASON,
        school=school,
        township=township,
        absent_since=clock.today(),
        opened_at=now,
    )
    await CaseEvent.create(case=case, at=now, action="OPENED")
    fact = await Fact.create(
        student=student,
        household_id=student.household_id,
        kind=FactKind.DISABILITY,
        noted_on=clock.today(),
        source="test",
        reason="test",
        recorded_at=now,
    )
    for i in range(3):
        task = await Task.create(
            title=f"任务{i}",
            kind=TaskKind.CASE_STEP,
            due_at=now + timedelta(days=i),
            assignee_unit=school if i else township,
            case=case,
        )
        await TaskCooperator.create(task=task, unit=education)
    await Task.create(title="事实任务", kind=TaskKind.RULE, due_at=now, assignee_unit=education, fact=fact)
    await Absence.create(student=student, case=case, day=clock.today(), recorded_at=now)
    await RollMovement.create(
        student=student, kind=MovementKind.TRANSFER_OUT, day=clock.today(), school=school,
        scope=TransferScope.IN_COUNTY, other_school=school, evidence="", recorded_at=now,
    )  # fmt: skip
    middle = await Unit.get(code="demo-middle-1")
    roster = await GraduateHandover.create(
        primary_school=school, middle_school=middle, school_year="2030-2031", term_start=clock.today(), created_at=now
    )
    await HandoverLine.create(handover=roster, student=student)
    await Guardian.create(household_id=student.household_id, relation=GuardianRelation.MOTHER, name="母亲", phone="1")
    await LedgerEntry.create(
        case=case, mark=LedgerMark.UNREACHABLE, day=clock.today(), evidence="电话", recorded_at=now
    )
    tasks = await Task.filter(case=case).values_list("id", flat=True)
    await Digest.create(unit=school, day=clock.today(), reminders=sorted(tasks), escalations=sorted(tasks)[:1])
    group = await VillageGroup.create(village=await Unit.get(code="demo-dafeng-v1"), name="一组", school=school)
    book = await CensusBook.create(year=2030, village_group=group, school=school)
    page = await CensusPage.create(book=book, household_number="0001", head_name="户主")
    await CensusLine.create(
        page=page, book=book, citizen_id=student.citizen_id, name=student.name, gender=Gender.FEMALE,
        birth_date=student.birth_date,
    )  # fmt: skip
    return {
        "school": school.id,
        "township": township.id,
        "student": student.id,
        "task": task.id,
        "case": case.id,
        "fact": fact.id,
    }


SEED = [
    """INSERT INTO unit (id, code, name, kind, is_demo, position)
       SELECT 1000000 + i, 'idx-' || i, '单位' || i, CASE WHEN i <= 20 THEN 'TOWNSHIP' ELSE 'SCHOOL' END, true, i
       FROM generate_series(1, 220) i""",
    """INSERT INTO household (id, registration_place, home_address, family_situation, head_name, created_at,
                              township_id)
       SELECT 1000000 + i, '', '', '', '', now(), 1000001 + i % 20 FROM generate_series(1, 100000) i""",
    """INSERT INTO school_class (id, school_id, school_year, grade, name, created_at)
       SELECT 1000000 + i, 1000021 + i % 200, '2026-2027', 1 + i / 200 % 9, (1 + i / 200) || '班', now()
       FROM generate_series(0, 3999) i""",
    """INSERT INTO student (id, name, gender, birth_date, citizen_id, grade, class_name, head_teacher_name,
                            is_demo, roll_status, created_at, household_id, school_id, school_class_id)
       SELECT 1000000 + i, '学生' || i, 'FEMALE', date '2015-01-01', 'X' || lpad(i::text, 17, '0'), 3, '', '',
              true, 'ENROLLED', now(), 1000000 + i, 1000021 + i % 200, 1000000 + i % 200 + 200 * (i / 200 % 20)
       FROM generate_series(1, 100000) i""",
    """INSERT INTO dropout_case (id, kind, status, stage, episode, absent_since, escalation_level, opened_at,
                                 version, school_id, student_id, township_id)
       SELECT 1000000 + i, 'ABSENT_WITHOUT_REASON', CASE WHEN i % 10 = 0 THEN 'OPEN' ELSE 'CLOSED' END,
              'OPENED', 1, date '2026-09-01', 0, now(), 1, 1000021 + (i * 5) % 200, 1000000 + i * 5,
              1000001 + (i * 5) % 20
       FROM generate_series(1, 20000) i""",
    """INSERT INTO fact (id, kind, status, noted_on, source, reason, detail, recorded_at, household_id, student_id)
       SELECT 1000000 + i, 'DISABILITY', 'ACTIVE', date '2026-09-01', '', '', '', now(), 1000000 + i * 5,
              1000000 + i * 5
       FROM generate_series(1, 20000) i""",
    """INSERT INTO task (id, title, description, kind, status, due_at, version, created_at, updated_at,
                         assignee_unit_id, escalation_level, case_id, fact_id)
       SELECT 1000000 + i, '任务' || i, '', 'MANUAL',
              (ARRAY['OPEN', 'IN_PROGRESS', 'DONE', 'DONE', 'DONE', 'CANCELLED'])[1 + i % 6],
              now() + (i % 120 - 30) * interval '1 day', 1, now(), now(), 1000001 + i % 220, i % 50 / 49,
              CASE WHEN i % 4 = 0 THEN 1000001 + (i / 4) % 20000 END,
              CASE WHEN i % 4 = 1 THEN 1000001 + (i / 4) % 20000 END
       FROM generate_series(1, 200000) i""",
    """INSERT INTO task_cooperator (id, task_id, unit_id)
       SELECT 1000000 + i, 1000000 + i * 5, 1000001 + (i * 7) % 220 FROM generate_series(1, 40000) i""",
    """INSERT INTO absence (id, student_id, case_id, day, note, recorded_at)
       SELECT 1000000 + i, 1000000 + (1 + i % 20000) * 5, 1000001 + i % 20000, date '2026-09-01' + i / 20000, '',
              now()
       FROM generate_series(0, 199999) i""",
    """INSERT INTO roll_movement (id, student_id, kind, day, school_id, scope, other_school_id, other_place,
                                 evidence, note, recorded_by_name, recorded_at, arrival_confirmed_at)
       SELECT 1000000 + i, 1000001 + i, 'TRANSFER_OUT', date '2026-09-01' + i % 60, 1000021 + i % 200, 'IN_COUNTY',
              1000021 + (i * 7) % 200, '', '', '', '', now(), CASE WHEN i % 10 = 0 THEN NULL ELSE now() END
       FROM generate_series(0, 99999) i""",
    """INSERT INTO graduate_handover (id, primary_school_id, middle_school_id, school_year, term_start, created_at,
                                     signed_by_name)
       SELECT 1000000 + i, 1000021 + i % 100, 1000121 + i % 100, (2000 + i / 100)::text, date '2026-09-01', now(), ''
       FROM generate_series(0, 1999) i""",
    """INSERT INTO handover_line (id, handover_id, student_id)
       SELECT 1000000 + i, 1000000 + i % 2000, 1000001 + i FROM generate_series(0, 99999) i""",
    """INSERT INTO guardian (id, household_id, relation, name, phone, occupation)
       SELECT 1000000 + i, 1000001 + i / 2, CASE WHEN i % 2 = 0 THEN 'FATHER' ELSE 'MOTHER' END, '监护人' || i,
              '139' || lpad(i::text, 8, '0'), ''
       FROM generate_series(0, 199999) i""",
    """INSERT INTO ledger_entry (id, case_id, mark, day, evidence, recorded_by_name, recorded_at)
       SELECT 1000000 + i, 1000001 + i / 2, CASE WHEN i % 2 = 0 THEN 'UNREACHABLE' ELSE 'PERSUADED_BACK' END,
              date '2026-09-01', '', '', now()
       FROM generate_series(0, 9999) i""",
    """INSERT INTO village_group (id, village_id, name, kind, school_id, created_at)
       SELECT 1000000 + i, 1000001 + i % 20, '小组' || i, 'VILLAGE_GROUP', 1000021 + i % 200, now()
       FROM generate_series(0, 499) i""",
    """INSERT INTO census_book (id, year, village_group_id, school_id, updated_at)
       SELECT 1000000 + i, 2026, 1000000 + i, 1000021 + i % 200, now() FROM generate_series(0, 499) i""",
    """INSERT INTO census_page (id, book_id, household_number, head_name, address, position)
       SELECT 1000000 + i, 1000000 + i % 500, 'H' || i, '', '', i / 500 FROM generate_series(0, 49999) i""",
    """INSERT INTO census_line (id, page_id, book_id, position, citizen_id, name, gender, birth_date, relation,
                                status, school_text, grade_text, guardian_name, guardian_phone, remark)
       SELECT 1000000 + i, 1000000 + i % 50000, 1000000 + i % 500, i / 50000, 'C' || lpad(i::text, 17, '0'),
              '儿童' || i, 'MALE', date '2016-01-01', '子', 'IN_SCHOOL', '', '', '', '', ''
       FROM generate_series(0, 99999) i""",
    "ANALYZE unit, school_class, household, student, dropout_case, fact, task, task_cooperator, absence, roll_movement,"
    " graduate_handover, handover_line, guardian, ledger_entry, village_group, census_book, census_page, census_line",
]


def seq_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in LARGE:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found.extend(seq_scans(child))
    return found


# The visibility rule's "tasks of a unit" (tasks/access.py: owner or cooperator). Written as an OR with an IN
# subquery, PostgreSQL cannot combine the index on the owner with a hashed subquery and scans the task table;
# the gate writes its subqueries as `= ANY(ARRAY(…))`, an index condition a bitmap OR combines. A statement
# holding this filters by the rule.
GATE = '"id" = ANY(ARRAY(SELECT "task_id" "task_id" FROM "task_cooperator"'


async def seed(conn: asyncpg.Connection) -> None:
    """SEED's rows, in the transaction open on `conn`. When the role may, without the foreign keys' checks: SEED's
    rows point only at rows it inserted before them, and the checks took more than half of its ~40 s. The tables,
    their indexes and ANALYZE's statistics are the same either way."""
    unchecked = await conn.fetchval("SELECT current_setting('is_superuser') = 'on'")
    if unchecked:
        await conn.execute("SET LOCAL session_replication_role = replica")
    for statement in SEED:
        await conn.execute(statement)
    if unchecked:
        await conn.execute("SET LOCAL session_replication_role = DEFAULT")


async def seq_scans_explained(conn: asyncpg.Connection, statements: list[tuple[str, str, list[Any]]]) -> list[str]:
    problems = []
    for asking, query, values in statements:
        if not any(table in query for table in LARGE):
            continue
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {query}", *values)
        scans = seq_scans(json.loads(plan)[0]["Plan"])
        if scans:
            problems.append(f"{asking}: Seq Scan on {', '.join(scans)}: {query[:300]}")
    return problems


async def explained(url: str, statements: list[tuple[str, str, list[Any]]], drop: str) -> tuple[list[str], list[str]]:
    """Each statement's sequential scans of large tables, at a realistic size: with every index, then without the
    index `drop` (on the same rows, seeded once); nothing is kept."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await seed(conn)
            problems = await seq_scans_explained(conn, statements)
            await conn.execute(f"DROP INDEX {drop}")
            without = await seq_scans_explained(conn, statements)
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await conn.close()
    return problems, without


class _RollBack(Exception):
    pass


async def asked_as_each_role(client) -> list[tuple[str, str, list[Any]]]:
    ids = await small_county()
    gids = {
        "Unit": global_id("Unit", ids["school"]),
        "Township": global_id("Unit", ids["township"]),
        "Student": global_id("Student", ids["student"]),
        "Task": global_id("Task", ids["task"]),
        "Case": global_id("Case", ids["case"]),
        "Fact": global_id("Fact", ids["fact"]),
    }
    queries = dict(QUERIES)
    queries["school's cases"] = (
        f'query {{ cases(first: 20, filter: {{schoolId: "{gids["Unit"]}"}}) {{ nodes {{ id }} }} }}'
    )
    queries["township's cases"] = (
        f'query {{ cases(first: 20, filter: {{townshipId: "{gids["Township"]}"}}) {{ nodes {{ id }} }} }}'
    )
    queries["student's cases"] = (
        f'query {{ cases(first: 20, filter: {{studentId: "{gids["Student"]}"}}) {{ nodes {{ id }} }} }}'
    )
    queries["compiled school's cases"] = (
        f'query {{ cases(first: 20, filter: {{schoolId: "{gids["Unit"]}"}}) {{ nodes {{ id student {{ name }}'
        " tasks { id title assigneeUnit { name } } } } }"
    )
    queries["compiled student"] = (
        f'query {{ node(id: "{gids["Student"]}") {{ ... on Student {{ name facts {{ id tasks {{ id }} }}'
        " cases { id tasks { id } } } } }"
    )
    queries["school's students"] = (
        f'query {{ students(first: 20, filter: {{schoolId: "{gids["Unit"]}"}}) {{ nodes {{ id }} }} }}'
    )
    queries["school's ledger and digest"] = (
        f'query {{ dropoutLedger(unitId: "{gids["Unit"]}", first: 5) {{ nodes {{ case {{ id }}'
        " entriesConnection(first: 5) { totalCount pageInfo { endCursor } nodes { mark day } } } }"
        f' digest(day: "{clock.today().isoformat()}", unitId: "{gids["Unit"]}") {{'
        " remindersConnection(first: 2) { totalCount pageInfo { endCursor } nodes { id } }"
        " escalationsConnection(first: 2) { totalCount nodes { id } } } }"
    )
    queries["compiled nodes"] = (
        f'query {{ nodes(ids: ["{gids["Unit"]}", "{gids["Student"]}", "{gids["Task"]}", "{gids["Case"]}",'
        f' "{gids["Fact"]}"]) {{ id ... on Task {{ title case {{ id }} }} ... on Case {{ status student {{ name }} }}'
        f" ... on Fact {{ kind }} ... on Unit {{ tasks(first: 5) {{ totalCount nodes {{ id }} }} }} }}"
        f' node(id: "{gids["Task"]}") {{ id }} case(id: "{gids["Case"]}") {{ id tasks {{ id }} }} }}'
    )
    queries["unit's tasks"] = (
        'query { unit(code: "demo-primary-1") { tasks(first: 20) { nodes { id } } duties { nodes { id } } } }'
    )
    roles = {
        "office": await sign_in("leading-group-office", UserRole.OFFICE),
        "department liaison": await sign_in("education"),
        "school office": await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE),
        "township": await sign_in("dafeng"),
        "head teacher": await sign_in_head_teacher(),
    }
    with captured() as capture:
        for role, token in roles.items():
            for name, query in queries.items():
                capture.asking = f"{role}, {name}"
                for _ in range(2):  # the first answer is Strawberry's, the second the plan's
                    result = await gql(client, query, token=token)
                    assert "errors" not in result or role != "office", (name, result)
    assert len(capture.statements) > 100
    assert any('FROM "task"' in q and '"case_id"' in q for _, q, _ in capture.statements)
    for table, parent in (("guardian", "household_id"), ("census_line", "page_id"), ("ledger_entry", "case_id")):
        assert any(f'FROM "{table}" WHERE "{parent}"=' in q for _, q, _ in capture.statements), table
    return capture.statements


async def test_every_list_has_an_index_path_at_a_realistic_size(client, database) -> None:
    statements = await asked_as_each_role(client)
    # Every role but the office's reads through the visibility rule; those statements are explained too.
    gated = {asking.split(", ")[0] for asking, query, _ in statements if GATE in query}
    assert gated == {"department liaison", "school office", "township", "head teacher"}

    problems, without_case_index = await explained(database, statements, drop="task_case_idx")
    assert problems == [], "\n".join(problems)
    # Without the index on task.case_id, a case's tasks would scan every task: the check can fail.
    assert any("Seq Scan on task" in p for p in without_case_index)
