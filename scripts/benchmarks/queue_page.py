"""A liaison's task queue at province scale: `./scripts/bench` (or `./scripts/bench queue`) seeds a fresh
PostgreSQL database (units, tasks, cooperators, history) with COPY, then measures "50 open tasks of one unit,
soonest due first, with unit names" three ways: raw SQL through asyncpg, the same page through the real
server's GraphQL endpoint with one keep-alive client, and with 20 concurrent clients; then once more with
Strawberry alone (QUERY_PLANS=false). Prints a table and writes it to docs/benchmark.md, keeping the sweep's
and the calendar's sections.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import httpx
import orjson
import typer
import uvloop

from config import ROOT
from scripts.benchmarks.duty_calendar import HEADING as CALENDAR_SECTION
from scripts.benchmarks.harness.database import (
    database_exists,
    database_url,
    drop_database,
    migrate_and_load_policy,
    recreate_database,
    time_statement,
)
from scripts.benchmarks.harness.http import Answer, Check, Run, Stats, Target, closed_loop, graphql_check, one_client
from scripts.benchmarks.harness.people import tokens
from scripts.benchmarks.harness.report import command_line, machine, say, section_of, verdict, with_postgres
from scripts.benchmarks.harness.seeding import OPEN, SeedPlan, seed_queue_county
from scripts.benchmarks.harness.servers import Server, cpu_seconds, own_cpu_seconds, running_server
from scripts.benchmarks.sweep import SWEEP_SECTION

PAGE = 50
SQL_PAGE = """
SELECT t.id, t.title, t.status, t.due_at, u.name AS assignee_unit_name
FROM task t JOIN unit u ON u.id = t.assignee_unit_id
WHERE t.assignee_unit_id = $1 AND t.status IN ('OPEN', 'IN_PROGRESS')
ORDER BY t.due_at, t.id
LIMIT 50
"""
GRAPHQL_PAGE = (
    "query Queue { viewer { taskQueue(first: 50) { edges { node "
    "{ id title status dueAt overdue assigneeUnit { name } } } } } }"
)
BODY = orjson.dumps({"query": GRAPHQL_PAGE, "operationName": "Queue"})
FLOOR_BODY = orjson.dumps({"query": "{ __typename }"})
DEFAULT_OUTPUT = ROOT / "docs" / "benchmark.md"
GOAL_RATIO = 8.0
GOAL_TAIL = 3.0
TIMEOUT_S = 60.0

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


# ---------------------------------------------------------------- figures


@dataclass
class Phase:
    """An HTTP phase: its requests, and the CPU the server and this client spent meanwhile."""

    run: Run
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return self.run.requests

    @property
    def errors(self) -> int:
        return self.run.errors

    @property
    def elapsed_s(self) -> float:
        return self.run.elapsed_s


@dataclass
class Report:
    started: datetime
    command: str
    machine: dict[str, str]
    size: dict[str, int]
    seed_s: float | None
    sql: Stats
    floor: Stats
    statements: int
    one: Stats
    one_run: Phase
    many: Stats
    many_run: Phase
    clients: int
    strawberry: Stats  # one client, QUERY_PLANS=false: every request executed by Strawberry
    strawberry_run: Phase

    @property
    def ratio(self) -> float:
        return self.one.median / self.sql.median

    @property
    def tail(self) -> float:
        return self.one.p99 / self.one.median

    @property
    def throughput(self) -> float:
        return self.many_run.requests / self.many_run.elapsed_s


# ---------------------------------------------------------------- the units measured


async def data_size(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM unit) AS units,
                  (SELECT count(*) FROM unit WHERE code LIKE 'bench-%') AS bench_units,
                  (SELECT count(*) FROM task) AS tasks,
                  (SELECT count(*) FROM task WHERE status IN ('OPEN', 'IN_PROGRESS')) AS open_tasks,
                  (SELECT count(*) FROM task_cooperator) AS cooperators,
                  (SELECT count(*) FROM task_event) AS events"""
    )
    return dict(row)


async def sample_units(conn: asyncpg.Connection, count: int) -> list[int]:
    """`count` bench units spread evenly over townships and schools."""
    ids = [r["id"] for r in await conn.fetch("SELECT id FROM unit WHERE code LIKE 'bench-%' ORDER BY id")]
    if not ids:
        raise typer.BadParameter("the database holds no bench units; run without --reuse")
    step = max(1, len(ids) // count)
    return ids[::step][:count]


async def expected_edges(conn: asyncpg.Connection, unit_ids: Sequence[int]) -> dict[int, int]:
    """How many edges each unit's first queue page must hold: own and shared open tasks, at most 50."""
    rows = await conn.fetch(
        """SELECT u.id,
                  (SELECT count(*) FROM task t WHERE t.assignee_unit_id = u.id AND t.status = ANY($2))
                + (SELECT count(*) FROM task t JOIN task_cooperator c ON c.task_id = t.id
                   WHERE c.unit_id = u.id AND t.assignee_unit_id <> u.id AND t.status = ANY($2)) AS n
           FROM unit u WHERE u.id = ANY($1)""",
        list(unit_ids),
        list(OPEN),
    )
    return {r["id"]: min(PAGE, r["n"]) for r in rows}


# ---------------------------------------------------------------- raw SQL


async def measure_sql(conn: asyncpg.Connection, unit_ids: Sequence[int], iterations: int, warmup: int) -> Stats:
    def unit(i: int) -> tuple[int]:
        return (unit_ids[i % len(unit_ids)],)

    return await time_statement(conn, SQL_PAGE, unit, iterations, warmup,
                                lambda i, rows: None if rows else f"no rows for unit {unit(i)[0]}")  # fmt: skip


# ---------------------------------------------------------------- GraphQL over HTTP


@dataclass(frozen=True)
class Caller:
    """The request a liaison of `unit_id` sends, and how many edges its answer must hold."""

    unit_id: int
    headers: list[tuple[str, str]]
    expected: int


def callers_for(made: dict[int, str], expected: dict[int, int]) -> list[Caller]:
    return [
        Caller(unit_id, [("Authorization", f"Bearer {token}")], expected[unit_id])
        for unit_id, token in sorted(made.items())
    ]


def page_check(caller: Caller) -> Check:
    def edges(data: dict[str, object]) -> str | None:
        got = len(data["viewer"]["taskQueue"]["edges"])  # type: ignore[index]
        return None if got == caller.expected else f"unit {caller.unit_id}: {got} edges, expected {caller.expected}"

    return graphql_check(edges)


def page_target(server: Server, callers: Sequence[Caller]) -> Target:
    requests = [(("/graphql", BODY, c.headers), page_check(c)) for c in callers]
    return Target("ours", server.host, server.port, lambda i: requests[i % len(requests)])


def floor_target(server: Server) -> Target:
    """The cheapest GraphQL answer over the same client: no token, no SQL, one field."""

    def check(answer: Answer) -> str | None:
        return None if answer.status == 200 else f"HTTP {answer.status} {answer.body[:200]!r}"

    return Target("floor", server.host, server.port, lambda _: (("/graphql", FLOOR_BODY, []), check))


async def http_floor(server: Server, iterations: int, warmup: int) -> Stats:
    run = await one_client(floor_target(server), iterations, warmup, TIMEOUT_S)
    if run.errors:
        raise RuntimeError(f"the HTTP floor request failed: {run.first_error}")
    return run.stats


class StatementLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())


async def statements_per_request(url: str, caller: Caller) -> list[str]:
    """The SQL one queue request sends, counted in this process on the app itself (as the tests count)."""
    from api.app import create_app
    from models.db import connected

    logger = logging.getLogger("tortoise.db_client")
    log = StatementLog()
    async with connected(url):
        transport = httpx.ASGITransport(app=create_app(url))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {"content-type": "application/json", **dict(caller.headers)}
            await client.post("/graphql", content=BODY, headers=headers)  # warm the caches; keep the plan
            previous = logger.level
            logger.setLevel(logging.DEBUG)
            logger.addHandler(log)
            try:
                response = await client.post("/graphql", content=BODY, headers=headers)
            finally:
                logger.removeHandler(log)
                logger.setLevel(previous)
    problem = page_check(caller)(Answer(response.status_code, response.content))
    if problem:
        raise RuntimeError(f"the in-process request failed: {problem}")
    return log.statements


async def measured(server: Server, work: Awaitable[Run], label: str) -> Phase:
    """Run an HTTP phase and note the CPU the server and this client spent."""
    server_cpu, client_cpu, t0 = cpu_seconds(server.process.pid), own_cpu_seconds(), time.perf_counter()
    run = await work
    if not run.elapsed_s:
        run.elapsed_s = time.perf_counter() - t0
    phase = Phase(run, cpu_seconds(server.process.pid) - server_cpu, own_cpu_seconds() - client_cpu)
    say(f"  {label}: {run.requests:,} requests in {run.elapsed_s:.1f} s, {run.errors} errors")
    if run.first_error:
        say(f"    first error: {run.first_error}")
    return phase


# ---------------------------------------------------------------- the report


def result_rows(r: Report) -> list[tuple[str, str, str]]:
    many = r.many_run
    return [
        ("raw SQL (asyncpg, prepared), median / p90 / p99", ms3(r.sql), ""),
        ("GraphQL, 1 client, median / p90 / p99", ms3(r.one), "answered by the query's plan (api/compiled)"),
        (
            "HTTP floor: `{ __typename }`, 1 client, median / p90 / p99",
            ms3(r.floor),
            "same client and server; no token, no SQL",
        ),
        (
            "GraphQL median / SQL median",
            f"{r.ratio:.1f}×",
            f"goal ≤ {GOAL_RATIO:g}×: {verdict(r.ratio <= GOAL_RATIO)}",
        ),
        ("GraphQL p99 / its median", f"{r.tail:.2f}×", f"goal ≤ {GOAL_TAIL:g}×: {verdict(r.tail <= GOAL_TAIL)}"),
        (f"GraphQL, {r.clients} clients, throughput", f"{r.throughput:,.0f} req/s", f"{many.requests:,} requests"),
        (f"GraphQL, {r.clients} clients, median / p90 / p99", ms3(r.many), ""),
        (
            "the same, Strawberry alone (`QUERY_PLANS=false`), 1 client, median / p90 / p99",
            ms3(r.strawberry),
            f"{r.strawberry.median / r.sql.median:.1f}× the SQL median; "
            f"server CPU {cpu_ms(r.strawberry_run.server_cpu_s, r.strawberry_run)} per request",
        ),
        (
            "errors (1 client / many clients / Strawberry alone)",
            f"{r.one_run.errors} / {many.errors} / {r.strawberry_run.errors}",
            "every answer checked",
        ),
        ("SQL statements per GraphQL request", str(r.statements), "counted in-process (Tortoise's query log)"),
        (
            "server CPU per request (1 client / many)",
            f"{cpu_ms(r.one_run.server_cpu_s, r.one_run)} / {cpu_ms(many.server_cpu_s, many)}",
            "uvicorn process, user+sys",
        ),
        (
            "load-client CPU per request (1 client / many)",
            f"{cpu_ms(r.one_run.client_cpu_s, r.one_run)} / {cpu_ms(many.client_cpu_s, many)}",
            "raw asyncio HTTP/1.1 client, same machine",
        ),
    ]


def ms3(s: Stats) -> str:
    return f"{s.median:.2f} / {s.p90:.2f} / {s.p99:.2f} ms"


def cpu_ms(seconds: float, phase: Phase) -> str:
    return f"{seconds * 1000 / max(1, phase.run.sent):.2f} ms"


def data_line(r: Report) -> str:
    s = r.size
    return (
        f"{s['units']:,} units ({s['bench_units']:,} bench townships and schools), "
        f"{s['tasks']:,} tasks ({s['open_tasks']:,} open), {s['cooperators']:,} cooperator links, "
        f"{s['events']:,} history lines" + (f"; seeded in {r.seed_s:.1f} s" if r.seed_s else "")
    )


def print_table(r: Report) -> None:
    rows = result_rows(r)
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    typer.echo(
        f"\ndata: {data_line(r)}\nmachine: {r.machine['cpus']} CPUs, {r.machine['memory']}, "
        f"PostgreSQL {r.machine['postgres']}"
    )
    for name, value, note in rows:
        typer.echo(f"{name:<{width}}  {value:>{value_width}}  {note.replace('**', '')}")


def markdown(r: Report) -> str:
    m = r.machine
    lines = [
        "# Benchmark: a liaison's task queue at province scale",
        "",
        "Written by `./scripts/bench queue` (see `./scripts/bench queue --help`; `./scripts/bench` alone runs it too): "
        f"it rewrites everything above the sections `{SWEEP_SECTION}` and `{CALENDAR_SECTION}`, which "
        "`./scripts/bench sweep` and `./scripts/bench calendar` replace.",
        "",
        f"- **Date:** {r.started:%Y-%m-%d %H:%M %Z}",
        f"- **Machine:** {m['cpus']} CPUs ({m['cpu']}), {m['memory']} memory, {m['os']}, "
        f"Python {m['python']}, PostgreSQL {m['postgres']}",
        f"- **Data:** {data_line(r)}",
        f"- **Command:** `{r.command}`",
        "",
        "| measure | result | goal / note |",
        "|---|---:|---|",
        *(f"| {name} | {value} | {note} |" for name, value, note in result_rows(r)),
        "",
        "## What is measured",
        "",
        f"- **Raw SQL:** one prepared asyncpg statement, {r.sql.count:,} runs over the same rotating units:",
        "",
        "  ```sql",
        *(f"  {line}" for line in SQL_PAGE.strip().splitlines()),
        "  ```",
        "",
        f"- **GraphQL, 1 client:** {r.one.count:,} POSTs to `/graphql` over one keep-alive HTTP/1.1 connection, "
        "after a warm-up, each with the bearer token of a liaison of the unit:",
        "",
        "  ```graphql",
        f"  {GRAPHQL_PAGE}",
        "  ```",
        "",
        "- **Load client:** `scripts/benchmarks/harness/http.py`: raw asyncio streams (uvloop), HTTP/1.1 keep-alive, "
        "one connection per client, so that its own cost per request is small (httpx cost 1 to 2 ms of CPU a "
        "request on this machine, more than the server's answer by plan).",
        "- **By plan:** the first request of a query document is executed by Strawberry; from then on the "
        "server answers it from the plan it keeps (api/compiled): the same resolvers, without graphql-core's "
        "work per field. **Strawberry alone:** a second server with `QUERY_PLANS=false`, same client, "
        "same requests.",
        "- **HTTP floor:** the same client and server answering `{ __typename }` without a token: what "
        "uvicorn, Starlette and Strawberry cost before any work is done.",
        "- **SQL statements per request:** one queue request sent in-process to the app, counting Tortoise's "
        "query log, as the tests count queries.",
        f"- **GraphQL, {r.clients} clients:** {r.clients} asyncio tasks in one process, each with its own "
        f"keep-alive connection, asking in a closed loop for {r.many_run.elapsed_s:.0f} s.",
        "- Every answer is checked: HTTP 200, no `errors`, and as many edges as the unit has open own and "
        "shared tasks (at most 50).",
        "- The server is `uvicorn api.asgi:app --workers 1` on loopback, started by the benchmark, as in "
        "production: `REDIS_URL` set, so the county's jobs (sweeps, reminders) go to Redis and none runs inside "
        "the measured server; GraphiQL and the cost limit as configured, the rate limit off.",
        f"- **The load client runs on the same {m['cpus']}-CPU machine as the server and PostgreSQL**; "
        "its CPU (row above) is taken from the same cores, so the concurrent figures understate what the "
        "server alone could do. Latencies include the client's own overhead.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- the run


@dataclass(frozen=True)
class RunSettings:
    database: str
    admin_url: str
    plan: SeedPlan
    iterations: int
    warmup: int
    clients: int
    duration: float
    sample: int
    reuse: bool
    keep: bool
    redis_url: str


@app.command()
def main(
    database: Annotated[str, typer.Option(help="name of the benchmark database")] = "kc_bench",
    admin_url: Annotated[
        str, typer.Option(envvar="BENCH_POSTGRES_ADMIN_URL", help="a PostgreSQL URL that may create databases")
    ] = "postgres://postgres@127.0.0.1:5432/postgres",
    units: Annotated[int, typer.Option(min=2, help="bench units: 1 township per 20, the rest schools")] = 2_000,
    tasks: Annotated[int, typer.Option(min=1, help="tasks, spread evenly over the bench units")] = 200_000,
    iterations: Annotated[int, typer.Option(min=10, help="measured runs of raw SQL and of 1-client GraphQL")] = 2_000,
    warmup: Annotated[int, typer.Option(min=0, help="unmeasured runs before each 1-client measurement")] = 200,
    clients: Annotated[int, typer.Option(min=1, help="concurrent GraphQL clients")] = 20,
    duration: Annotated[float, typer.Option(min=1, help="seconds the concurrent clients run")] = 20.0,
    sample: Annotated[int, typer.Option(min=1, help="units (and liaisons) the requests rotate over")] = 50,
    events: Annotated[bool, typer.Option(help="seed a CREATED history line per task")] = True,
    reuse: Annotated[bool, typer.Option(help="keep an existing database and its data instead of reseeding")] = False,
    keep: Annotated[bool, typer.Option(help="leave the database in place afterwards")] = False,
    redis_url: Annotated[
        str, typer.Option(help="Redis the server sends its jobs to, as in production (no worker needed to read)")
    ] = "redis://127.0.0.1:6379/12",
    output: Annotated[Path, typer.Option(help="Markdown report, replaced on each run")] = DEFAULT_OUTPUT,
) -> None:
    """Seed a province-scale county, then time a liaison's 50-task queue page, SQL vs GraphQL."""
    command = command_line("queue")
    plan = SeedPlan(units=units, tasks=tasks, events=events)
    settings = RunSettings(
        database, admin_url, plan, iterations, warmup, clients, duration, sample, reuse, keep, redis_url
    )
    report = uvloop.run(run(settings, command))
    print_table(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    kept = [section for heading in (SWEEP_SECTION, CALENDAR_SECTION) if (section := section_of(text, heading))]
    output.write_text("\n".join([markdown(report), *kept]), encoding="utf-8")
    typer.echo(f"\nwrote {output}")


async def run(s: RunSettings, command: str) -> Report:
    started = datetime.now().astimezone()
    url = database_url(s.admin_url, s.database)
    seed_s = await prepare_database(s, url)
    try:
        return await measure(s, url, command, started, seed_s)
    finally:
        if not s.keep:
            await drop_database(s.admin_url, s.database)
            say(f"dropped database {s.database}")


async def prepare_database(s: RunSettings, url: str) -> float | None:
    """A fresh database seeded to plan; with --reuse an existing one as it is. Returns seconds spent seeding."""
    if s.reuse and await database_exists(s.admin_url, s.database):
        await migrate_and_load_policy(url, demo=True)  # both are no-ops on a current database
        conn = await asyncpg.connect(url)
        try:
            if await conn.fetchval("SELECT count(*) FROM unit WHERE code LIKE 'bench-%'"):
                say(f"reusing database {s.database} as it is")
                return None
        finally:
            await conn.close()
    else:
        say(f"creating database {s.database}")
        await recreate_database(s.admin_url, s.database)
        await migrate_and_load_policy(url, demo=True)
    say(f"seeding {s.plan.units:,} units and {s.plan.tasks:,} tasks with COPY")
    t0 = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        totals = await seed_queue_county(conn, s.plan, say)
    finally:
        await conn.close()
    elapsed = time.perf_counter() - t0
    say("seeded " + ", ".join(f"{n:,} {what}" for what, n in totals.items()) + f" in {elapsed:.1f} s")
    return elapsed


async def measure(s: RunSettings, url: str, command: str, started: datetime, seed_s: float | None) -> Report:
    conn = await asyncpg.connect(url)
    try:
        size = await data_size(conn)
        info = await with_postgres(url, machine())
        unit_ids = await sample_units(conn, s.sample)
        expected = await expected_edges(conn, unit_ids)
        say(f"raw SQL: {s.iterations:,} runs over {len(unit_ids)} units")
        sql = await measure_sql(conn, unit_ids, s.iterations, s.warmup)
        callers = callers_for(await tokens(url, unit_ids), expected)
        statements = await statements_per_request(url, callers[0])
        say(f"one queue request sends {len(statements)} SQL statements")
        say("starting the server")
        with running_server(url, s.redis_url) as server:
            say("HTTP floor")
            floor = await http_floor(server, s.iterations, s.warmup)
            page = page_target(server, callers)
            one = await measured(server, one_client(page, s.iterations, s.warmup, TIMEOUT_S), "GraphQL, 1 client")
            many = await measured(
                server, closed_loop(page, s.clients, s.duration, timeout_s=TIMEOUT_S), f"GraphQL, {s.clients} clients"
            )
        say("starting a server with QUERY_PLANS=false")
        with running_server(url, s.redis_url, plans=False) as server:
            alone = await measured(
                server,
                one_client(page_target(server, callers), s.iterations, s.warmup, TIMEOUT_S),
                "Strawberry alone, 1 client",
            )
    finally:
        await conn.close()
    if not one.run.latencies_ms or not many.run.latencies_ms or not alone.run.latencies_ms:
        raise RuntimeError(f"every GraphQL request failed; first error: {one.run.first_error or many.run.first_error}")
    return Report(
        started=started,
        command=command,
        machine=info,
        size=size,
        seed_s=seed_s,
        sql=sql,
        floor=floor,
        statements=len(statements),
        one=one.run.stats,
        one_run=one,
        many=many.run.stats,
        many_run=many,
        clients=s.clients,
        strawberry=alone.run.stats,
        strawberry_run=alone,
    )


if __name__ == "__main__":
    app()
