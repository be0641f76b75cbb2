"""Compiled reads keep a generic plan: PostgreSQL does not plan them again at each request (issue 13).

Each of the benchmark's four reads (scripts/benchmarks/reads.py: the liaison's queue, the office's open tasks,
a school's cases with their tasks, a student with facts, cases and tasks), the compiled nested connections and a
unit's tasks (Unit.tasks: the office's view, and a liaison's own and shared tasks merged) are asked through the
API by the roles that use them, ten times each with different viewers and variables, on tables of a realistic size
(tests/test_index_paths.py's: 200,000 tasks over 220 units). Each is answered by one prepared statement on the
pool's connections; PostgreSQL counts, per prepared statement and connection, how often it planned it for one
execution's parameters (custom_plans) and how often it ran its generic plan (generic_plans, pg_prepared_statements,
PostgreSQL 14 and later). It plans the first five executions for their
parameters; after them, custom_plans must stop growing.

The compiled nested connections, asked by a school's office, are also explained (ANALYZE) on a connection of the
API's pool: no JIT compilation, and few rows per nested row (the gate's lists computed once, not per row).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from tortoise import connections

from api.ids import global_id
from models.units import Unit
from models.users import UserRole
from scripts.benchmarks.province.page import OURS_QUERY as QUEUE
from scripts.benchmarks.reads import CASES_OURS, OFFICE_OURS, STUDENT_OURS
from tests.conftest import KEPT_FROM
from tests.support import data_of, gql, sign_in
from tests.test_index_paths import QUERIES, SEED, captured, seed

pytestmark = pytest.mark.postgres_only

RUNS = 10
FIRST_CUSTOM_PLANS = 5  # PostgreSQL plans the first five executions of a prepared statement for their parameters
NESTED = QUERIES["compiled nested connections"]
SEEDED = 1000000  # the first id of SEED's rows
SEEDED_TABLE = re.compile(r"\s*INSERT INTO (\w+)")
SCHOOLS_WITH_CASES = [SEEDED + 21 + 5 * n for n in range(RUNS)]  # SEED gives cases to every fifth school
STUDENTS_WITH_CASES = [SEEDED + 5 * (1 + 37 * n) for n in range(RUNS)]
UNITS_WITH_TASKS = [SEEDED + 1 + 11 * n for n in range(RUNS)]
UNIT_TASKS = """query($code: String!) { unit(code: $code) { code tasks(first: 20, orderBy: DUE_LATEST) { totalCount
  pageInfo { endCursor } nodes { id dueAt case { id } } } duties(first: 5) { totalCount nodes { id } } } }"""


@pytest.fixture(scope="module")
async def province_sized(database: str) -> AsyncIterator[None]:
    """SEED's rows, committed (the API reads them on its own connections) once for the module's tests, kept by the
    cleaning after each test (tests/conftest.py's KEPT_FROM), and removed when the module is done."""
    seeded = [m.group(1) for m in (SEEDED_TABLE.match(s) for s in SEED) if m]
    conn = await asyncpg.connect(database)
    try:
        async with conn.transaction():
            await seed(conn)
        KEPT_FROM.update(dict.fromkeys(seeded, SEEDED))
        yield
    finally:
        for table in seeded:
            KEPT_FROM.pop(table, None)
        # SEED's tables, the last filled first (each points only at those filled before it), then VACUUMed before
        # the rows they point at go: some point by an unindexed column (handover_line.case_id, census_page's
        # household, household.village_group_id), and each row deleted would scan their dead rows (minutes).
        referenced = {"unit", "village_group", "household", "school_class", "student", "dropout_case"}
        pointing = [t for t in reversed(seeded) if t not in referenced]
        for table in pointing:
            await conn.execute(f'DELETE FROM "{table}" WHERE "id" >= {SEEDED}')
        await conn.execute("VACUUM " + ", ".join(f'"{table}"' for table in pointing))
        for table in ("dropout_case", "student", "school_class", "household"):
            await conn.execute(f'DELETE FROM "{table}" WHERE "id" >= {SEEDED}')
        await conn.execute('VACUUM "household"')
        await conn.execute(f'DELETE FROM "village_group" WHERE "id" >= {SEEDED}')
        await conn.execute(
            f'DELETE FROM "token" WHERE "user_id" IN (SELECT "id" FROM "app_user" WHERE "unit_id" >= {SEEDED})'
        )
        await conn.execute(f'DELETE FROM "app_user" WHERE "unit_id" >= {SEEDED}')
        await conn.execute(f'DELETE FROM "unit" WHERE "id" >= {SEEDED}')
        await conn.close()


async def prepared_statements() -> dict[tuple[int, str], tuple[int, int]]:
    """Each compiled statement prepared on the pool's connections (by the connection's backend process): its
    generic and custom plans."""
    pool = connections.get("default")._pool
    counts: dict[tuple[int, str], tuple[int, int]] = {}
    # Every connection the pool has opened: pg_prepared_statements shows only its own session's statements.
    for holder in pool._holders:
        conn = holder._con
        if conn is None or conn.is_closed():
            continue
        for row in await conn.fetch(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%json_build_object(%' AND statement NOT LIKE '%pg_prepared_statements%'"
        ):
            counts[(conn.get_server_pid(), row["statement"])] = (row["generic_plans"], row["custom_plans"])
    return counts


async def test_compiled_reads_keep_their_generic_plans(client, province_sized) -> None:
    office = [await sign_in("leading-group-office", UserRole.OFFICE, f"办公室{i}") for i in range(RUNS)]
    schools = [await Unit.get(id=pk) for pk in SCHOOLS_WITH_CASES]
    school_offices = [await sign_in(s.code, UserRole.SCHOOL_OFFICE, f"学校办公室{s.id}") for s in schools]
    units = [await Unit.get(id=pk) for pk in UNITS_WITH_TASKS]
    liaisons = [await sign_in(u.code, name=f"联络员{u.id}") for u in units]

    # read: [(query, variables, token, the answer's list that must not be empty)]
    asks: dict[str, list[tuple[str, dict[str, Any], str, tuple[str, ...]]]] = {
        "the liaison's queue": [(QUEUE, {}, t, ("viewer", "taskQueue", "edges")) for t in liaisons],
        "the office's open tasks": [(OFFICE_OURS, {}, t, ("tasks", "edges")) for t in office],
        "a school's cases (its office)": [
            (CASES_OURS, {"school": global_id("Unit", s.id)}, t, ("cases", "nodes"))
            for s, t in zip(schools, school_offices, strict=True)
        ],
        "a student (the office)": [
            (STUDENT_OURS, {"id": global_id("Student", pk)}, t, ("node", "cases"))
            for pk, t in zip(STUDENTS_WITH_CASES, office, strict=True)
        ],
        "nested connections (the office)": [(NESTED, {}, t, ("cases", "nodes")) for t in office],
        "a unit's tasks (its liaison)": [
            (UNIT_TASKS, {"code": u.code}, t, ("unit", "tasks", "nodes")) for u, t in zip(units, liaisons, strict=True)
        ],
        "a unit's tasks (the office)": [
            (UNIT_TASKS, {"code": u.code}, t, ("unit", "tasks", "nodes")) for u, t in zip(units, office, strict=True)
        ],
        "nested connections (a school's office)": [(NESTED, {}, t, ("cases", "nodes")) for t in school_offices],
    }
    # Fresh sessions: a statement prepared by an earlier test, on these connections while the tables were small,
    # keeps the average cost of its plans made then, and PostgreSQL compares its generic plan with that average.
    await connections.get("default")._pool.expire_connections()
    plans: dict[str, tuple[int, int]] = {}
    for read, requests in asks.items():
        known = await prepared_statements()
        for query, variables, token, shown in requests:
            answer: Any = data_of(await gql(client, query, variables, token=token))
            for key in shown:
                answer = answer[key]
            assert answer, (read, variables)
        ran: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for (pid, statement), (generic, custom) in (await prepared_statements()).items():
            before = known.get((pid, statement), (0, 0))
            added = ran[statement]
            ran[statement] = (added[0] + generic - before[0], added[1] + custom - before[1])
        # One statement (Strawberry may answer a document's first ask; the others are compiled): what this read added.
        statements = [(statement, counted) for statement, counted in ran.items() if sum(counted) > 0]
        assert len(statements) == 1, (read, [s[:200] for s, _ in statements])
        plans[read] = statements[0][1]

    runs = {read: generic + custom for read, (generic, custom) in plans.items()}
    assert {read: n for read, n in runs.items() if n < RUNS - 1} == {}, runs
    replanned = {
        read: f"{custom} custom plans in {generic + custom} runs"
        for read, (generic, custom) in plans.items()
        if custom > FIRST_CUSTOM_PLANS
    }
    assert replanned == {}, replanned


def executed_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from executed_nodes(child)


async def test_nested_connections_run_without_jit_and_bounded_loops(client, province_sized) -> None:
    """A school's office asks the compiled nested connections: the statement, explained with its parameters on a
    connection of the API's pool (its session settings), is not JIT-compiled and touches a bounded number of rows."""
    school = await Unit.get(id=SCHOOLS_WITH_CASES[0])
    token = await sign_in(school.code, UserRole.SCHOOL_OFFICE, "学校办公室")
    with captured() as capture:
        for _ in range(2):  # the first answer is Strawberry's, the second the compiled statement's
            answer = data_of(await gql(client, NESTED, {}, token=token))
            assert answer["cases"]["nodes"]
    compiled = [(query, values) for _, query, values in capture.statements if "json_build_object(" in query]
    assert len(compiled) == 1, [q[:200] for q, _ in compiled]
    query, values = compiled[0]

    pool = connections.get("default")._pool
    async with pool.acquire() as conn:
        explained = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", *values))[0]
    # JIT compiles the statement's expressions at every execution of its kept generic plan: ~480 functions,
    # ~170 ms for a statement that runs in ~15 ms (the estimate counts each nested list's gate once per row).
    assert "JIT" not in explained, explained.get("JIT")
    nodes = list(executed_nodes(explained["Plan"]))
    # Per nested row (a node run more than once): 20 cases, each with at most 5 tasks (3 child units each), 5 cases
    # and 5 facts with 5 tasks each, a few rows a loop. The gate's lists of the school's ids (a few thousand rows)
    # are computed once; a gate evaluated per nested row would read thousands of rows a loop.
    looped = [node for node in nodes if node["Actual Loops"] > 1]
    most_loops = max(node["Actual Loops"] for node in looped)
    most_rows_a_loop = max(node["Actual Rows"] for node in looped)
    rows_in_loops = sum(node["Actual Rows"] * node["Actual Loops"] for node in looped)
    assert most_loops <= 200, most_loops
    assert most_rows_a_loop <= 10, most_rows_a_loop  # "Actual Rows" is a loop's average
    assert rows_in_loops <= 5_000, rows_in_loops
