"""The liaison's page, asked of both servers and as raw SQL: a unit's 50 open tasks (own and shared), soonest
due first, with the owner unit's name and the case's subject.

Ours is asked with a liaison's bearer token per unit (the unit comes from the token). PostGraphile learns the
unit from a variable, and serves the page through a SQL function the benchmark adds to the benchmark database
only (not our migrations). Every answer is checked (HTTP 200, no errors, as many edges as the unit's page
holds); once per unit the task ids of both pages are compared with the raw SQL's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
import orjson

from scripts.benchmarks.harness.database import time_statement
from scripts.benchmarks.harness.http import Check, Connection, Request, Stats, Target, graphql_check
from scripts.benchmarks.harness.people import tokens
from scripts.benchmarks.harness.province_data import CODE_PREFIX
from scripts.benchmarks.harness.servers import Server

PAGE = 50
OURS_QUERY = (
    "query Queue { viewer { taskQueue(first: 50) { edges { node { id title dueAt status "
    "assigneeUnit { name } case { student { name } } } } } } }"
)
THEIRS_QUERY = (
    "query Queue($unit: Int!) { liaisonQueue(unit: $unit, first: 50) { edges { node { id title dueAt status "
    "unitByAssigneeUnitId { name } dropoutCaseByCaseId { studentByStudentId { name } } } } } }"
)
# The same page for PostGraphile: a unit's own and shared open tasks, soonest due first.
QUEUE_FUNCTION = """
CREATE OR REPLACE FUNCTION liaison_queue(unit integer) RETURNS SETOF task LANGUAGE sql STABLE AS $$
  SELECT q.* FROM (
    (SELECT t.* FROM task t
      WHERE t.assignee_unit_id = liaison_queue.unit AND t.status IN ('OPEN', 'IN_PROGRESS')
      ORDER BY t.due_at, t.id LIMIT 51)
    UNION ALL
    (SELECT t.* FROM task_cooperator c JOIN task t ON t.id = c.task_id
      WHERE c.unit_id = liaison_queue.unit AND t.assignee_unit_id <> liaison_queue.unit
        AND t.status IN ('OPEN', 'IN_PROGRESS')
      ORDER BY t.due_at, t.id LIMIT 51)
  ) q ORDER BY q.due_at, q.id
$$;
COMMENT ON FUNCTION liaison_queue(integer) IS 'kongchuo benchmark only: the liaison queue page';
"""
# The raw SQL of the page: the same two lists, owner unit name and case subject (the student's name).
SQL_PAGE = """
SELECT p.id, p.title, p.status, p.due_at, u.name AS unit_name, s.name AS student_name
FROM (
  (SELECT t.id, t.title, t.status, t.due_at, t.assignee_unit_id, t.case_id FROM task t
    WHERE t.assignee_unit_id = $1 AND t.status IN ('OPEN', 'IN_PROGRESS')
    ORDER BY t.due_at, t.id LIMIT 50)
  UNION ALL
  (SELECT t.id, t.title, t.status, t.due_at, t.assignee_unit_id, t.case_id
    FROM task_cooperator c JOIN task t ON t.id = c.task_id
    WHERE c.unit_id = $1 AND t.assignee_unit_id <> $1 AND t.status IN ('OPEN', 'IN_PROGRESS')
    ORDER BY t.due_at, t.id LIMIT 50)
) p
JOIN unit u ON u.id = p.assignee_unit_id
LEFT JOIN dropout_case c ON c.id = p.case_id
LEFT JOIN student s ON s.id = c.student_id
ORDER BY p.due_at, p.id
LIMIT 50
"""


# ---------------------------------------------------------------- who asks


@dataclass(frozen=True)
class Caller:
    unit_id: int
    token: str
    expected: int  # edges the page must hold


def edges_ours(data: dict[str, object]) -> list[dict[str, object]]:
    return data["viewer"]["taskQueue"]["edges"]  # type: ignore[index,no-any-return]


def edges_theirs(data: dict[str, object]) -> list[dict[str, object]]:
    return data["liaisonQueue"]["edges"]  # type: ignore[index,no-any-return]


def ids_ours(body: dict[str, object]) -> list[int]:
    from api.ids import parse_global_id

    return [parse_global_id(e["node"]["id"], "Task")[1] for e in edges_ours(body["data"])]  # type: ignore[arg-type,index]


def ids_theirs(body: dict[str, object]) -> list[int]:
    return [int(e["node"]["id"]) for e in edges_theirs(body["data"])]  # type: ignore[arg-type,index,call-overload]


Edges = Callable[[dict[str, object]], list[dict[str, object]]]


def checker(expected: int, edges_of: Edges) -> Check:
    """HTTP 200, no errors, as many edges as the unit's page holds: the same work for both servers."""

    def count(data: dict[str, object]) -> str | None:
        got = len(edges_of(data))
        return None if got == expected else f"{got} edges, expected {expected}"

    return graphql_check(count)


def ours_target(server: Server, callers: Sequence[Caller]) -> Target:
    body = orjson.dumps({"query": OURS_QUERY, "operationName": "Queue"})
    requests = [
        (("/graphql", body, [("Authorization", f"Bearer {c.token}")]), checker(c.expected, edges_ours)) for c in callers
    ]
    return Target(server.name, server.host, server.port, lambda i: requests[i % len(requests)])


def theirs_target(server: Server, callers: Sequence[Caller]) -> Target:
    requests: list[tuple[Request, Check]] = []
    for c in callers:
        body = orjson.dumps({"query": THEIRS_QUERY, "operationName": "Queue", "variables": {"unit": c.unit_id}})
        requests.append((("/graphql", body, []), checker(c.expected, edges_theirs)))
    return Target(server.name, server.host, server.port, lambda i: requests[i % len(requests)])


async def page_ids(target: Target, i: int, ids_of: Callable[[dict[str, object]], list[int]]) -> list[int]:
    """The task ids of the i-th request's page, in order."""
    (path, body, headers), _ = target.request(i)
    conn = Connection(target.host, target.port)
    try:
        answer = await conn.post(path, body, headers)
    finally:
        await conn.close()
    return ids_of(answer.json())


async def sample_units(url: str, count: int) -> list[int]:
    """`count` bench townships and schools, spread evenly over them."""
    conn = await asyncpg.connect(url)
    try:
        ids = [
            r["id"]
            for r in await conn.fetch(
                f"SELECT id FROM unit WHERE code LIKE '{CODE_PREFIX}township-%' OR code LIKE '{CODE_PREFIX}school-%' "
                "ORDER BY id"
            )
        ]
    finally:
        await conn.close()
    step = max(1, len(ids) // count)
    return ids[::step][:count]


async def expected_edges(url: str, unit_ids: Sequence[int]) -> dict[int, int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """SELECT u.id,
                 (SELECT count(*) FROM task t WHERE t.assignee_unit_id = u.id AND t.status IN ('OPEN', 'IN_PROGRESS'))
               + (SELECT count(*) FROM task_cooperator c JOIN task t ON t.id = c.task_id
                  WHERE c.unit_id = u.id AND t.assignee_unit_id <> u.id AND t.status IN ('OPEN', 'IN_PROGRESS')) AS n
               FROM unit u WHERE u.id = ANY($1)""",
            list(unit_ids),
        )
    finally:
        await conn.close()
    return {r["id"]: min(PAGE, r["n"]) for r in rows}


async def callers_for(url: str, count: int) -> list[Caller]:
    units = await sample_units(url, count)
    expected = await expected_edges(url, units)
    made = await tokens(url, units)
    return [Caller(u, made[u], expected[u]) for u in units]


# ---------------------------------------------------------------- raw SQL


async def sql_ids(url: str, unit_id: int) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [r["id"] for r in await conn.fetch(SQL_PAGE, unit_id)]
    finally:
        await conn.close()


async def measure_sql(url: str, callers: Sequence[Caller], iterations: int, warmup: int) -> Stats:
    """The page as one prepared asyncpg statement, rotating over the units."""

    def problem(i: int, rows: list[asyncpg.Record]) -> str | None:
        caller = callers[i % len(callers)]
        return (
            None
            if len(rows) == caller.expected
            else f"unit {caller.unit_id}: {len(rows)} rows, expected {caller.expected}"
        )

    conn = await asyncpg.connect(url)
    try:
        return await time_statement(conn, SQL_PAGE, lambda i: (callers[i % len(callers)].unit_id,), iterations, warmup,
                                    problem)  # fmt: skip
    finally:
        await conn.close()


async def add_queue_function(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(QUEUE_FUNCTION)
    finally:
        await conn.close()


async def same_ids(url: str, ours: Target, theirs: Target, callers: Sequence[Caller]) -> tuple[int, list[str]]:
    """Per unit: our page's task ids, PostGraphile's and the raw SQL's, in order; returns matches and problems."""
    problems: list[str] = []
    for i, caller in enumerate(callers):
        a = await page_ids(ours, i, ids_ours)
        b = await page_ids(theirs, i, ids_theirs)
        c = await sql_ids(url, caller.unit_id)
        if not (a == b == c):
            problems.append(f"unit {caller.unit_id}: ours {a[:5]}…, PostGraphile {b[:5]}…, SQL {c[:5]}…")
    return len(callers) - len(problems), problems
