"""Four reads side by side with PostGraphile v4 and raw SQL, on a province database (issue 13).

    ./scripts/bench reads --database kc_reads_tenth [--seed] [--scale 0.1]

The reads: the liaison's queue (as the province benchmark asks it), the office's 50 soonest-due
open tasks county-wide with unit, case, student and school, a school's 20 newest cases with their
tasks (asked by the school's office), a student with facts, cases and tasks (asked by the office).
Each read is asked of our server (uvicorn, 2 workers, uvloop + httptools, as in production), of
PostGraphile (1 process, pool 10) and as raw SQL (one prepared asyncpg statement). Per read: rounds
at 20 clients alternating ours and PostGraphile (throughput, server CPU per request), one client
(median, p99) for each server and the raw SQL. Writes docs/benchmark-reads.md.

PostGraphile is tuned as fairly as ours: the same database, the same indexes (ours, migration
0011), and where its `condition` cannot say `status IN (...)` a SQL function added to the benchmark
database only, written with the statuses as literals so that PostgreSQL can use the same partial
index (`office_open_tasks()`, like `liaison_queue(unit)`); ORDER BY keys are the narrow ones
(due_at, id; id DESC). It is asked without authentication (its JWT is not set up) and answers
ids as integers, moments in UTC, citizen ids unmasked.
"""

from __future__ import annotations

import asyncio
import platform
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import orjson
import typer

from config import ROOT
from scripts.benchmarks.harness.database import (
    count_rows,
    database_url,
    migrate_and_load_policy,
    recreate_database,
)
from scripts.benchmarks.harness.floors import (
    Floors,
    answers,
    measure_floors,
    start_statement_server,
    statement_target,
)
from scripts.benchmarks.harness.http import Check, Connection, Request, Run, Stats, Target, graphql_check, timed
from scripts.benchmarks.harness.load import Contender, LoadFigures, alternate
from scripts.benchmarks.harness.people import tokens, unit_tokens
from scripts.benchmarks.harness.postgraphile import DEFAULT_CACHE, TheirConfig, install_postgraphile, start_theirs
from scripts.benchmarks.harness.province_data import CODE_PREFIX, ProvincePlan, seed_province
from scripts.benchmarks.harness.report import say, verdict
from scripts.benchmarks.harness.servers import OurConfig, Server, answers_graphql, start_ours, stop_server, wait_ready
from scripts.benchmarks.province.page import OURS_QUERY, SQL_PAGE, THEIRS_QUERY, callers_for

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
DEFAULT_OUTPUT = ROOT / "docs" / "benchmark-reads.md"
OURS = OurConfig("uvicorn", 2)
THEIRS = TheirConfig(1)

FUNCTIONS = """
CREATE OR REPLACE FUNCTION liaison_queue(unit integer) RETURNS SETOF task LANGUAGE sql STABLE AS $$
  SELECT q.* FROM (
    (SELECT t.* FROM task t
      WHERE t.assignee_unit_id = liaison_queue.unit AND t.status IN ('OPEN', 'IN_PROGRESS')
      ORDER BY t.due_at, t.id LIMIT 51)
    UNION ALL
    (SELECT t.* FROM (SELECT task_id FROM task_cooperator WHERE unit_id = liaison_queue.unit OFFSET 0) c
      JOIN task t ON t.id = c.task_id
      WHERE t.assignee_unit_id <> liaison_queue.unit AND t.status IN ('OPEN', 'IN_PROGRESS')
      ORDER BY t.due_at, t.id LIMIT 51)
  ) q ORDER BY q.due_at, q.id
$$;
COMMENT ON FUNCTION liaison_queue(integer) IS 'kongchuo benchmark only: the liaison queue page';
CREATE OR REPLACE FUNCTION office_open_tasks() RETURNS SETOF task LANGUAGE sql STABLE AS $$
  SELECT * FROM task WHERE status IN ('OPEN', 'IN_PROGRESS') ORDER BY due_at, id
$$;
COMMENT ON FUNCTION office_open_tasks() IS 'kongchuo benchmark only: every open task, soonest due first';
"""
# The queue's raw SQL (province/page.py's SQL_PAGE) with the shared list read from the unit's links first,
# as ours and PostGraphile's function now read it: with migration 0011's partial index on open tasks by due date,
# a generic plan of the older text walks that index looking for the unit's links.
QUEUE_SQL = SQL_PAGE.replace(
    "FROM task_cooperator c JOIN task t ON t.id = c.task_id\n    WHERE c.unit_id = $1 AND",
    "FROM (SELECT task_id FROM task_cooperator WHERE unit_id = $1 OFFSET 0) c JOIN task t ON t.id = c.task_id\n"
    "    WHERE",
)
assert QUEUE_SQL != SQL_PAGE

OFFICE_OURS = (
    "query Open { tasks(first: 50, filter: {status: [OPEN, IN_PROGRESS]}) { edges { node { id title dueAt status "
    "assigneeUnit { name } case { id status student { name school { name } } } } } } }"
)
OFFICE_THEIRS = (
    "query Open { officeOpenTasks(first: 50) { edges { node { id title dueAt status unitByAssigneeUnitId { name } "
    "dropoutCaseByCaseId { id status studentByStudentId { name unitBySchoolId { name } } } } } } }"
)
OFFICE_SQL = """
SELECT t.id, t.title, t.due_at, t.status, u.name AS unit, c.id AS case_id, c.status AS case_status,
       s.name AS student, sc.name AS school
FROM (SELECT * FROM task WHERE status IN ('OPEN', 'IN_PROGRESS') ORDER BY due_at, id LIMIT 50) t
JOIN unit u ON u.id = t.assignee_unit_id
LEFT JOIN dropout_case c ON c.id = t.case_id
LEFT JOIN student s ON s.id = c.student_id
LEFT JOIN unit sc ON sc.id = s.school_id
ORDER BY t.due_at, t.id
"""

CASES_OURS = (
    "query Cases($school: ID!) { cases(first: 20, filter: {schoolId: $school}) { nodes { id status stage openedAt "
    "student { name } tasks { id title status dueAt } } } }"
)
CASES_THEIRS = (
    "query Cases($school: Int!) { allDropoutCases(first: 20, orderBy: ID_DESC, condition: {schoolId: $school}) "
    "{ nodes { id status stage openedAt studentByStudentId { name } "
    "tasksByCaseId(orderBy: [DUE_AT_ASC, ID_ASC]) { nodes { id title status dueAt } } } } }"
)
CASES_SQL = """
SELECT c.id, c.status, c.stage, c.opened_at, s.name,
       (SELECT json_agg(json_build_object('id', t.id, 'title', t.title, 'status', t.status, 'due_at', t.due_at)
                        ORDER BY t.due_at, t.id) FROM task t WHERE t.case_id = c.id) AS tasks
FROM (SELECT * FROM dropout_case WHERE school_id = $1 ORDER BY id DESC LIMIT 20) c
JOIN student s ON s.id = c.student_id
ORDER BY c.id DESC
"""

STUDENT_OURS = (
    "query Student($id: ID!) { node(id: $id) { ... on Student { id name citizenId school { name } "
    "facts { id kind notedOn tasks { id title status } } "
    "cases { id status tasks { id title status dueAt } } } } }"
)
STUDENT_THEIRS = (
    "query Student($id: Int!) { studentById(id: $id) { id name citizenId unitBySchoolId { name } "
    "factsByStudentId(orderBy: ID_DESC) { nodes { id kind notedOn "
    "tasksByFactId(orderBy: [DUE_AT_ASC, ID_ASC]) { nodes { id title status } } } } "
    "dropoutCasesByStudentId(orderBy: ID_DESC) { nodes { id status "
    "tasksByCaseId(orderBy: [DUE_AT_ASC, ID_ASC]) { nodes { id title status dueAt } } } } } }"
)
STUDENT_SQL = """
SELECT s.id, s.name, s.citizen_id, u.name AS school,
  (SELECT json_agg(json_build_object('id', f.id, 'kind', f.kind, 'noted_on', f.noted_on, 'tasks',
     (SELECT json_agg(json_build_object('id', t.id, 'title', t.title, 'status', t.status) ORDER BY t.due_at, t.id)
      FROM task t WHERE t.fact_id = f.id)) ORDER BY f.id DESC) FROM fact f WHERE f.student_id = s.id) AS facts,
  (SELECT json_agg(json_build_object('id', c.id, 'status', c.status, 'tasks',
     (SELECT json_agg(json_build_object('id', t.id, 'title', t.title, 'status', t.status, 'due_at', t.due_at)
                      ORDER BY t.due_at, t.id) FROM task t WHERE t.case_id = c.id)) ORDER BY c.id DESC)
   FROM dropout_case c WHERE c.student_id = s.id) AS cases
FROM student s JOIN unit u ON u.id = s.school_id WHERE s.id = $1
"""


NOTES = """## How to read these figures

- **Ours** answers the office's list, the school's cases and the student by one SQL statement that builds the
  answer's JSON (api/compiled/sql_plan.py), and the queue too since it was compiled (its page from the queue's own
  statement); "answered" above says which path each read took in this run. Python then parses the JSON and
  sends it (orjson); the token is checked inside the same statement (the viewer presumed from an earlier request),
  and the rate limit counts the request in Redis (one round trip on a connection of its own, api/rate_store.py,
  sent while the statement runs; the answer waits for it). A page's rows come whole from the list's own statement.
- **PostGraphile** is tuned as ours: same database, same indexes (migration 0011 with its partial indexes on open
  tasks), SQL functions with the statuses written as literals where `condition` cannot say `IN`
  (`liaison_queue(unit)` reading the unit's cooperator links first, as ours; `office_open_tasks()`), narrow sort
  keys (due_at, id; id DESC); without JIT, as ours (PGOPTIONS; the raw SQL's connection too). It runs
  without authentication and without masking (its JWT is not set up), so it does a little less than ours.
- **Raw SQL** is one prepared asyncpg statement per read returning rows (tasks of a case as json_agg), timed in
  the load client's process, taking turns with the servers' one client: the floor of what any server could do.
- **The bare statement server** runs that same SQL behind the same uvicorn command and nothing else: what any
  Python server pays to receive a request, send a statement to PostgreSQL, wait for it and answer. On this
  virtual machine a socket write that wakes another process is dear: sampled with py-spy in-process (2026-11-30,
  a student's read), writing the statement to PostgreSQL took about 120 µs of CPU a request and the count's
  write to Redis about 70 µs, so each round trip a server adds to the raw SQL's one shows.
- **The machine:** 2 cores, shared with the load client, both servers, PostgreSQL, and other engineers' test
  suites running at the same time (see the load averages above): throughput and one-client latencies of both
  servers are depressed and noisy; the CPU per request is the figure neighbours disturb least."""


# ---------------------------------------------------------------- what each read asks, and of whom


@dataclass(frozen=True)
class Ask:
    """One request of a read: ours (body, token), theirs (body), the raw SQL's arguments."""

    ours: bytes
    token: str
    theirs: bytes
    sql_args: tuple[Any, ...]


@dataclass
class Read:
    name: str
    sql: str
    asks: list[Ask]
    ours_check: Callable[[dict[str, Any]], str | None]
    theirs_check: Callable[[dict[str, Any]], str | None]
    ours_one: Stats = field(default_factory=lambda: Stats.of([]))
    theirs_one: Stats = field(default_factory=lambda: Stats.of([]))
    bare_one: Stats = field(default_factory=lambda: Stats.of([]))  # the bare statement server (harness/floors.py)
    raw: Stats = field(default_factory=lambda: Stats.of([]))
    ours_load: LoadFigures = field(default_factory=lambda: LoadFigures("ours"))
    theirs_load: LoadFigures = field(default_factory=lambda: LoadFigures("PostGraphile"))
    compiled: str = ""


def body(query: str, name: str, variables: dict[str, Any] | None = None) -> bytes:
    payload: dict[str, Any] = {"query": query, "operationName": name}
    if variables:
        payload["variables"] = variables
    return orjson.dumps(payload)


def nonempty(path: Sequence[str]) -> Callable[[dict[str, Any]], str | None]:
    def check(data: dict[str, Any]) -> str | None:
        value: Any = data
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return None if value else f"{'.'.join(path)} is empty"

    return check


def target(server: Server, read: Read, ours: bool) -> Target:
    requests: list[tuple[Request, Check]] = []
    for ask in read.asks:
        if ours:
            requests.append(
                (("/graphql", ask.ours, [("Authorization", f"Bearer {ask.token}")]), graphql_check(read.ours_check))
            )
        else:
            requests.append((("/graphql", ask.theirs, []), graphql_check(read.theirs_check)))
    return Target(server.name, server.host, server.port, lambda i: requests[i % len(requests)])


async def reads_of(url: str, sample: int) -> list[Read]:
    from api.ids import global_id

    conn = await asyncpg.connect(url)
    try:
        office_unit = await conn.fetchval("SELECT id FROM unit WHERE code = 'leading-group-office'")
        schools = [
            r["school_id"]
            for r in await conn.fetch(
                f"""SELECT c.school_id FROM dropout_case c JOIN unit u ON u.id = c.school_id
                    WHERE u.code LIKE '{CODE_PREFIX}school-%' GROUP BY c.school_id ORDER BY c.school_id LIMIT $1""",
                sample,
            )
        ]
        rng = random.Random(13)
        with_cases = [r["student_id"] for r in await conn.fetch("SELECT DISTINCT student_id FROM dropout_case")]
        students = sorted(rng.sample(with_cases, min(sample, len(with_cases))))
    finally:
        await conn.close()
    # Several office users: one token would meet the rate limit per token (RATE_LIMIT_PER_MINUTE) under load.
    office = await unit_tokens(url, office_unit, "OFFICE", [f"压测办公室{i}" for i in range(sample)])
    school_tokens = await tokens(url, schools, "SCHOOL_OFFICE", "压测用户")
    callers = await callers_for(url, sample)

    queue = Read(
        "the liaison's queue (50 open tasks of the unit, own and shared)",
        QUEUE_SQL,
        [
            Ask(body(OURS_QUERY, "Queue"), c.token, body(THEIRS_QUERY, "Queue", {"unit": c.unit_id}), (c.unit_id,))
            for c in callers
        ],
        nonempty(["viewer", "taskQueue", "edges"]),
        nonempty(["liaisonQueue", "edges"]),
    )
    county = Read(
        "the office's 50 soonest-due open tasks county-wide, with unit, case, student, school",
        OFFICE_SQL,
        [Ask(body(OFFICE_OURS, "Open"), token, body(OFFICE_THEIRS, "Open"), ()) for token in office],
        nonempty(["tasks", "edges"]),
        nonempty(["officeOpenTasks", "edges"]),
    )
    cases = Read(
        "a school's 20 newest cases with their tasks (the school's office)",
        CASES_SQL,
        [
            Ask(
                body(CASES_OURS, "Cases", {"school": global_id("Unit", s)}),
                school_tokens[s],
                body(CASES_THEIRS, "Cases", {"school": s}),
                (s,),
            )
            for s in schools
        ],
        nonempty(["cases", "nodes"]),
        nonempty(["allDropoutCases", "nodes"]),
    )
    student = Read(
        "a student with facts, cases and tasks (the office)",
        STUDENT_SQL,
        [
            Ask(
                body(STUDENT_OURS, "Student", {"id": global_id("Student", s)}),
                office[n % len(office)],
                body(STUDENT_THEIRS, "Student", {"id": s}),
                (s,),
            )
            for n, s in enumerate(students)
        ],
        nonempty(["node", "cases"]),
        nonempty(["studentById", "dropoutCasesByStudentId", "nodes"]),
    )
    return [queue, county, cases, student]


TURNS = 10  # the one-client figures: each server and the raw SQL take turns, iterations / TURNS each time


async def one_client_each(
    url: str, read: Read, ours: Target, theirs: Target, bare: Target, iterations: int, warmup: int
) -> None:
    """One client of ours, of PostGraphile, of the bare statement server and of the raw SQL, taking turns in TURNS
    slices (so a neighbour's burst on the shared machine falls on all alike); sets the read's one-client figures."""

    def args(i: int) -> tuple[Any, ...]:
        return read.asks[i % len(read.asks)].sql_args

    conn = await asyncpg.connect(url, server_settings={"jit": "off"})  # as our API's sessions and PostGraphile's
    statement = await conn.prepare(read.sql)
    raw: list[float] = []

    async def raw_run(start: int, count: int, measured: bool) -> None:
        for i in range(start, start + count):
            t0 = time.perf_counter()
            rows = await statement.fetch(*args(i))
            if measured:
                raw.append((time.perf_counter() - t0) * 1000)
            if not rows:
                raise RuntimeError(f"raw SQL: {read.name}: no rows for {args(i)}")

    servers = {
        label: (target, Connection(target.host, target.port), Run())
        for label, target in (("ours", ours), ("PostGraphile", theirs), ("the bare statement server", bare))
    }
    try:
        await raw_run(0, warmup, measured=False)
        for target, connection, run in servers.values():
            for i in range(warmup):
                await timed(connection, target, i, run, measured=False)
        size = max(1, iterations // TURNS)
        for turn in range(TURNS):
            start = warmup + turn * size
            await raw_run(start, size, measured=True)
            for target, connection, run in servers.values():
                for i in range(start, start + size):
                    await timed(connection, target, i, run)
    finally:
        await conn.close()
        for _, connection, _ in servers.values():
            await connection.close()
    for label, (_, _, run) in servers.items():
        if run.errors:
            raise RuntimeError(f"{read.name}, {label}: {run.first_error}")
    read.raw, read.ours_one, read.theirs_one = Stats.of(raw), servers["ours"][2].stats, servers["PostGraphile"][2].stats
    read.bare_one = servers["the bare statement server"][2].stats


async def answered_how(url: str, read: Read) -> str:
    """Whether our server answers the read by one compiled statement (asked in-process on the same database)."""
    from api.compiled.plan import Unsupported
    from api.compiled.sql_plan import compile_sql
    from api.schema import schema
    from models.db import connected

    query = orjson.loads(read.asks[0].ours)
    async with connected(url):
        try:
            compile_sql(schema, query["query"], query.get("operationName"))
        except Unsupported as reason:
            return f"by plan ({reason})"
    return "one SQL statement"


# ---------------------------------------------------------------- the run


@dataclass
class Outcome:
    started: datetime
    database: str
    data: dict[str, int]
    reads: list[Read]
    clients: int
    rounds: int
    seconds: float
    postgraphile: str
    load: tuple[float, float]
    floors: Floors
    iterations: int


async def run(
    database: str,
    admin_url: str,
    redis_url: str,
    seed: bool,
    scale: float,
    clients: int,
    rounds: int,
    seconds: float,
    iterations: int,
    warmup: int,
    sample: int,
    cache: Path,
    log_dir: Path,
) -> Outcome:
    started = datetime.now(UTC)
    url = database_url(admin_url, database)
    if seed:
        plan = ProvincePlan().scaled(scale)
        say(f"creating {database}: {plan.describe()}")
        await recreate_database(admin_url, database)
        await migrate_and_load_policy(url)
        conn = await asyncpg.connect(url)
        try:
            await seed_province(conn, plan, say)
        finally:
            await conn.close()
    else:
        await migrate_and_load_policy(url)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(FUNCTIONS)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    data = await count_rows(url, {t: t for t in ("unit", "student", "dropout_case", "task", "task_cooperator", "fact")})
    version = install_postgraphile(cache, say)
    reads = await reads_of(url, sample)
    floors = await measure_floors(OURS, url, redis_url, iterations, warmup, log_dir)
    say(f"floors: HTTP {floors.http.median:.2f} ms, Redis count {floors.redis.median:.2f} ms, "
        f"SELECT 1 {floors.postgres.median:.2f} ms")  # fmt: skip
    ours = start_ours(OURS, url, redis_url, log_dir)
    theirs = start_theirs(THEIRS, url, cache, log_dir)
    bare = start_statement_server(OURS, url, [read.sql for read in reads], log_dir)
    ours.name, theirs.name = "ours", "PostGraphile"
    load0 = _load()
    try:
        for server in (ours, theirs):
            await wait_ready(server, lambda server=server: answers_graphql(server))
        bare_targets = [statement_target(bare, n, [a.sql_args for a in read.asks]) for n, read in enumerate(reads)]
        await wait_ready(bare, lambda: answers(bare_targets[0]))
        for read, bare_t in zip(reads, bare_targets, strict=True):
            say(f"{read.name}")
            read.compiled = await answered_how(url, read)
            ours_t, theirs_t = target(ours, read, True), target(theirs, read, False)
            await one_client_each(url, read, ours_t, theirs_t, bare_t, iterations, warmup)
            say(f"  one client: ours {read.ours_one.median:.2f} ms, PostGraphile {read.theirs_one.median:.2f} ms, "
                f"bare statement server {read.bare_one.median:.2f} ms, raw SQL {read.raw.median:.2f} ms")  # fmt: skip
            contenders = [Contender(ours, ours_t, read.ours_load), Contender(theirs, theirs_t, read.theirs_load)]
            await alternate(contenders, url, rounds, seconds, clients, say)
    finally:
        stop_server(ours)
        stop_server(theirs)
        stop_server(bare)
    return Outcome(
        started, database, data, reads, clients, rounds, seconds, version, (load0, _load()), floors, iterations
    )


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# ---------------------------------------------------------------- the report


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def met_or_not(met: bool) -> str:
    return verdict(met, "**not met**")


def figures(read: Read) -> dict[str, float]:
    ours, theirs = read.ours_load, read.theirs_load
    return {
        "ours_rps": ours.run.throughput,
        "theirs_rps": theirs.run.throughput,
        "ours_cpu": ours.per_request_ms(ours.server_cpu_s),
        "theirs_cpu": theirs.per_request_ms(theirs.server_cpu_s),
        "ours_db": ours.per_request_ms(ours.db_cpu_s),
        "theirs_db": theirs.per_request_ms(theirs.db_cpu_s),
    }


def markdown(o: Outcome) -> str:
    lines = [
        "# Benchmark: four reads beside PostGraphile and raw SQL",
        "",
        "Written by `scripts/benchmarks/reads.py` (`./scripts/bench reads --help`); each run rewrites this page.",
        "",
        f"- **Date:** {o.started:%Y-%m-%d %H:%M} UTC; load average at the start {o.load[0]:.2f}, at the end"
        f" {o.load[1]:.2f} (2 cores shared with other engineers' runs, the servers, PostgreSQL and the load client)",
        f"- **Machine:** {platform.machine()}, Python {platform.python_version()}, PostGraphile {o.postgraphile}",
        f"- **Data:** `{o.database}`: " + ", ".join(f"{n:,} {t}" for t, n in o.data.items()),
        f"- **Load:** {o.clients} keep-alive clients, {o.rounds} rounds of {o.seconds:.0f} s per server, alternating"
        " ours and PostGraphile; one client of ours, of PostGraphile, of the bare statement server and of the raw"
        " SQL taking turns"
        f" ({TURNS} turns of {o.iterations // TURNS} requests each): the median and p99 of each request.",
        f"- **Ours:** {OURS.label}, REDIS_URL set (jobs in the worker), rate and cost limits on. **PostGraphile:**"
        f" {THEIRS.label}, NODE_ENV=production, --disable-query-log.",
        "",
        "## Goals, per read",
        "",
        "| read | answered | ≥ 1.2× PostGraphile req/s | server CPU ≤ PostGraphile's | one-client median ≤ 2× raw SQL"
        " | one-client p99 ≤ 2× median |",
        "|---|---|---|---|---|---|",
    ]
    for read in o.reads:
        f = figures(read)
        rps = ratio(f["ours_rps"], f["theirs_rps"])
        raw = ratio(read.ours_one.median, read.raw.median)
        tail = ratio(read.ours_one.p99, read.ours_one.median)
        lines.append(
            f"| {read.name} | {read.compiled} | {rps:.2f}× {met_or_not(rps >= 1.2)} | {f['ours_cpu']:.2f} vs"
            f" {f['theirs_cpu']:.2f} ms {met_or_not(f['ours_cpu'] <= f['theirs_cpu'])} |"
            f" {raw:.1f}× {met_or_not(raw <= 2)} | {tail:.2f}× {met_or_not(tail <= 2)} |"
        )

    def tails(stats: Callable[[Read], Stats]) -> str:
        return " / ".join(f"{ratio(stats(r).p99, stats(r).median):.2f}×" for r in o.reads)

    lines += [
        "",
        "The same p99 ÷ median, one client, in the same turns (the machine's own unevenness):"
        f" PostGraphile {tails(lambda r: r.theirs_one)}, the raw SQL {tails(lambda r: r.raw)}.",
        "",
        "## Figures",
        "",
        "| read | ours req/s | PostGraphile req/s | ours CPU/req | theirs CPU/req | PostgreSQL CPU/req ours / theirs"
        " | one client ours p50 / p99 | PostGraphile p50 / p99 | raw SQL p50 / p99 | errors ours / theirs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for read in o.reads:
        f = figures(read)
        lines.append(
            f"| {read.name} | {f['ours_rps']:,.0f} | {f['theirs_rps']:,.0f} | {f['ours_cpu']:.2f} ms |"
            f" {f['theirs_cpu']:.2f} ms | {f['ours_db']:.2f} / {f['theirs_db']:.2f} ms |"
            f" {read.ours_one.median:.2f} / {read.ours_one.p99:.2f} ms | {read.theirs_one.median:.2f} /"
            f" {read.theirs_one.p99:.2f} ms | {read.raw.median:.2f} / {read.raw.p99:.2f} ms |"
            f" {read.ours_load.run.errors} / {read.theirs_load.run.errors} |"
        )
    fl = o.floors
    lines += [
        "",
        "## Floors under one client's median",
        "",
        f"Measured in the same run (scripts/benchmarks/harness/floors.py): an HTTP request to an ASGI app that answers"
        f" a fixed body, served by the same uvicorn command, {fl.http.median:.2f} ms (p99 {fl.http.p99:.2f}); one"
        f" count of the rate limit in Redis (the `limits` library's moving window, as our server counts each"
        f" request), {fl.redis.median:.2f} ms; PostgreSQL's `SELECT 1`, {fl.postgres.median:.2f} ms. A server that"
        " answers over HTTP and counts each request in Redis while its statement runs cannot be faster than HTTP"
        " plus the longer of the raw SQL and the count. And in the same turns as ours, a bare statement server"
        " (harness/floors.py `statement_app`: the same uvicorn command running only the raw SQL through an asyncpg"
        " pool and answering its rows as JSON; no GraphQL, token, count or log line), the least a Python server does"
        " for each read:",
        "",
        "| read | raw SQL p50 | least possible (HTTP + the longer of raw SQL and Redis) | its ratio to raw SQL"
        " | bare statement server p50 / p99 | its ratio to raw SQL | ours p50 | ours ÷ the bare server |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for read in o.reads:
        least = fl.http.median + max(read.raw.median, fl.redis.median)
        bare = read.bare_one
        lines.append(
            f"| {read.name} | {read.raw.median:.2f} ms | {least:.2f} ms | {ratio(least, read.raw.median):.1f}× |"
            f" {bare.median:.2f} / {bare.p99:.2f} ms | {ratio(bare.median, read.raw.median):.1f}× |"
            f" {read.ours_one.median:.2f} ms | {ratio(read.ours_one.median, bare.median):.2f}× |"
        )
    lines += ["", NOTES, "", "## What each read asks", ""]
    for read in o.reads:
        ask = read.asks[0]
        lines += [
            f"### {read.name}",
            "",
            f"- ours: `{orjson.loads(ask.ours)['query']}`",
            f"- PostGraphile: `{orjson.loads(ask.theirs)['query']}`",
            f"- rotating over {len(read.asks)} requests (subjects; for the office, office users: one token"
            " would meet the rate limit per token)",
            "",
            "```sql",
            read.sql.strip(),
            "```",
            "",
        ]
    return "\n".join(lines) + "\n"


@app.command()
def main(
    database: Annotated[str, typer.Option(help="the province database")] = "kc_reads_tenth",
    admin_url: Annotated[str, typer.Option(envvar="BENCH_POSTGRES_ADMIN_URL")] = (
        "postgres://postgres@127.0.0.1:5432/postgres"
    ),
    redis_url: Annotated[str, typer.Option()] = "redis://127.0.0.1:6379/11",
    seed: Annotated[bool, typer.Option(help="(re)create and seed the database first")] = False,
    scale: Annotated[float, typer.Option(help="with --seed: size of the province (1 = issue 6's figures)")] = 0.1,
    clients: Annotated[int, typer.Option(min=1)] = 20,
    rounds: Annotated[int, typer.Option(min=1)] = 2,
    seconds: Annotated[float, typer.Option(min=1)] = 10.0,
    iterations: Annotated[int, typer.Option(min=10)] = 500,
    warmup: Annotated[int, typer.Option(min=0)] = 50,
    sample: Annotated[int, typer.Option(min=1)] = 100,
    cache: Annotated[Path, typer.Option()] = DEFAULT_CACHE,
    output: Annotated[Path, typer.Option()] = DEFAULT_OUTPUT,
) -> None:
    """Four reads beside PostGraphile and raw SQL; writes docs/benchmark-reads.md."""
    with tempfile.TemporaryDirectory(prefix="kc-bench-reads-") as logs:
        outcome = asyncio.run(run(database, admin_url, redis_url, seed, scale, clients, rounds, seconds, iterations,
                                  warmup, sample, cache, Path(logs)))  # fmt: skip
    output.write_text(markdown(outcome))
    typer.echo(markdown(outcome))


if __name__ == "__main__":
    app()
