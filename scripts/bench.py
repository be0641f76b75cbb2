"""Province-scale benchmarks: ./scripts/bench --help.

`./scripts/bench` (no command) seeds a fresh PostgreSQL database (units, tasks, cooperators,
history) with COPY, then measures "50 open tasks of one unit, soonest due first, with unit names"
three ways: raw SQL through asyncpg, the same page through the real server's GraphQL endpoint with
one keep-alive client, and with 20 concurrent clients. Prints a table and writes it to
docs/benchmark.md, keeping the sweep section.

`./scripts/bench sweep` seeds open suspected-dropout cases at two sizes (2,000 and 20,000) next to
200,000 tasks and times the daily ladder sweep (`tasks.machinery.jobs.ladder_sweep`) twice at each size: the
sweep that creates the steps fallen due, then a steady-state sweep that must create nothing. It
replaces only the "## Daily ladder sweep" section of docs/benchmark.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import random
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import httpx
import orjson
import typer
import uvloop

from config import ROOT
from scripts.province_http import Connection, HttpError, Stats

if TYPE_CHECKING:
    from tasks.ladder.steps import Planned
    from tasks.policy.county import CountyPolicy
    from tasks.school_days import SchoolDays

PAGE = 50
OPEN = ("OPEN", "IN_PROGRESS")
STATUS_WEIGHTS = {"OPEN": 55, "IN_PROGRESS": 25, "DONE": 15, "CANCELLED": 5}
TOPICS = (
    "核查疑似辍学学生",
    "入户劝返",
    "报送控辍保学月报",
    "复学学生跟踪回访",
    "送教上门",
    "落实资助政策",
    "排查适龄儿童入学",
    "更新学籍比对台账",
)
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
DEFAULT_OUTPUT = ROOT / "docs" / "benchmark.md"
GOAL_RATIO = 8.0
GOAL_TAIL = 3.0

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def say(message: str) -> None:
    typer.echo(message, err=True)


# ---------------------------------------------------------------- figures


@dataclass
class HttpRun:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    sent: int = 0  # with the unmeasured warm-up requests, for the per-request CPU and database figures
    first_error: str | None = None
    elapsed_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    def failed(self, message: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or message


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
    one_run: HttpRun
    many: Stats
    many_run: HttpRun
    clients: int
    strawberry: Stats  # one client, QUERY_PLANS=false: every request executed by Strawberry
    strawberry_run: HttpRun

    @property
    def ratio(self) -> float:
        return self.one.median / self.sql.median

    @property
    def tail(self) -> float:
        return self.one.p99 / self.one.median

    @property
    def throughput(self) -> float:
        return self.many_run.requests / self.many_run.elapsed_s


# ---------------------------------------------------------------- database


def database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def database_exists(admin_url: str, name: str) -> bool:
    admin = await asyncpg.connect(admin_url)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def recreate_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def migrate_and_load_policy(url: str) -> None:
    from config import settings
    from models.db import apply_migrations, connected
    from tasks.policy.load import load_policy

    await apply_migrations(url)
    policy = settings().policy_file
    async with connected(url):
        await load_policy([policy, policy.with_name("hutubi-demo.yaml")])


# ---------------------------------------------------------------- seeding


@dataclass(frozen=True)
class SeedPlan:
    units: int
    tasks: int
    cooperating_share: float = 0.10
    duty_share: float = 0.30
    events: bool = True
    seed: int = 20210901

    @property
    def townships(self) -> int:
        return max(1, self.units // 20)

    @property
    def schools(self) -> int:
        return self.units - self.townships


async def next_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))


async def reset_sequence(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
    )


def unit_rows(plan: SeedPlan, first_id: int, county_id: int | None) -> list[tuple[Any, ...]]:
    """Townships under the county government, schools spread over the townships."""
    rows: list[tuple[Any, ...]] = []
    for n in range(1, plan.townships + 1):
        rows.append(
            (
                first_id + n - 1,
                f"bench-township-{n:04d}",
                f"【压测】第{n:04d}乡镇",
                "TOWNSHIP",
                None,
                True,
                100_000 + n,
                county_id,
            )
        )
    for n in range(1, plan.schools + 1):
        township_id = first_id + (n - 1) % plan.townships
        rows.append(
            (
                first_id + plan.townships + n - 1,
                f"bench-school-{n:04d}",
                f"【压测】第{n:04d}小学",
                "SCHOOL",
                "PRIMARY",
                True,
                200_000 + n,
                township_id,
            )
        )
    return rows


UNIT_COLUMNS = ("id", "code", "name", "kind", "school_level", "is_demo", "position", "parent_id")
TASK_COLUMNS = (
    "id",
    "title",
    "description",
    "kind",
    "status",
    "due_at",
    "outcome",
    "unique_key",
    "version",
    "created_at",
    "updated_at",
    "assignee_id",
    "assignee_unit_id",
    "duty_id",
    "escalation_level",
)
EVENT_COLUMNS = ("task_id", "at", "actor_id", "action", "comment", "changes")


def task_rows(
    plan: SeedPlan,
    rng: random.Random,
    ids: range,
    unit_ids: Sequence[int],
    unit_codes: dict[int, str],
    duty_ids: Sequence[int],
    now: datetime,
) -> tuple[list[tuple[Any, ...]], list[tuple[int, int]], list[tuple[Any, ...]]]:
    """Tasks for ids, round-robin over the units, with their cooperators and CREATED events."""
    from models.clock import COUNTY_TZ

    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    today = now.astimezone(COUNTY_TZ).date()
    tasks: list[tuple[Any, ...]] = []
    cooperators: list[tuple[int, int]] = []
    events: list[tuple[Any, ...]] = []
    for task_id in ids:
        unit_id = unit_ids[task_id % len(unit_ids)]
        status = rng.choices(statuses, weights)[0]
        duty_id = rng.choice(duty_ids) if duty_ids and rng.random() < plan.duty_share else None
        day = today + timedelta(days=rng.randint(-60, 60))
        due_at = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=COUNTY_TZ)
        created = now - timedelta(days=rng.randint(1, 90), seconds=rng.randint(0, 86_399))
        title = f"{rng.choice(TOPICS)}（{task_id}号）"
        outcome = "已办结" if status == "DONE" else None
        kind = "DUTY" if duty_id else "MANUAL"
        tasks.append(
            (task_id, title, "", kind, status, due_at, outcome, None, 1, created, created, None, unit_id, duty_id, 0)
        )
        if rng.random() < plan.cooperating_share:
            partner = rng.choice(unit_ids)
            if partner != unit_id:
                cooperators.append((task_id, partner))
        if plan.events:
            changes = {"status": [None, "OPEN"], "assigneeUnit": [None, unit_codes[unit_id]]}
            events.append((task_id, created, None, "CREATED", None, orjson.dumps(changes).decode()))
    return tasks, cooperators, events


async def seed(conn: asyncpg.Connection, plan: SeedPlan, chunk: int = 20_000) -> dict[str, int]:
    rng = random.Random(plan.seed)
    now = datetime.now(UTC)
    county_id = await conn.fetchval("SELECT id FROM unit WHERE code = 'county-gov'")
    units = unit_rows(plan, await next_id(conn, "unit"), county_id)
    await conn.copy_records_to_table("unit", records=units, columns=UNIT_COLUMNS)
    await reset_sequence(conn, "unit")
    say(f"  units     {len(units):>9,}  ({plan.townships} townships, {plan.schools} schools)")

    unit_ids = [row[0] for row in units]
    unit_codes = {row[0]: row[1] for row in units}
    duty_ids = [r["id"] for r in await conn.fetch("SELECT id FROM duty ORDER BY id")]
    first = await next_id(conn, "task")
    totals = {"units": len(units), "tasks": 0, "cooperators": 0, "events": 0}
    started = time.perf_counter()
    for start in range(first, first + plan.tasks, chunk):
        ids = range(start, min(start + chunk, first + plan.tasks))
        tasks, cooperators, events = task_rows(plan, rng, ids, unit_ids, unit_codes, duty_ids, now)
        async with conn.transaction():
            await conn.copy_records_to_table("task", records=tasks, columns=TASK_COLUMNS)
            await conn.copy_records_to_table("task_cooperator", records=cooperators, columns=("task_id", "unit_id"))
            if events:
                await conn.copy_records_to_table("task_event", records=events, columns=EVENT_COLUMNS)
        totals["tasks"] += len(tasks)
        totals["cooperators"] += len(cooperators)
        totals["events"] += len(events)
        rate = totals["tasks"] / (time.perf_counter() - started)
        say(f"  tasks     {totals['tasks']:>9,} / {plan.tasks:,}  ({rate:,.0f} rows/s)")
    for table in ("task", "task_cooperator", "task_event"):
        await reset_sequence(conn, table)
    say("  VACUUM ANALYZE (statistics and visibility map, as autovacuum would leave them)")
    await conn.execute("VACUUM (ANALYZE) unit, task, task_cooperator, task_event")
    return totals


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


# ---------------------------------------------------------------- the units measured


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


async def issue_tokens(url: str, unit_ids: Sequence[int]) -> dict[int, str]:
    """A liaison and a bearer token for each unit, made the way `manage user create` makes them."""
    from models.accounts import create_user, issue_token
    from models.db import connected
    from models.units import Unit
    from models.users import UserRole

    tokens: dict[int, str] = {}
    async with connected(url):
        for unit in await Unit.filter(id__in=list(unit_ids)):
            tokens[unit.id] = await issue_token(await create_user(unit, UserRole.LIAISON, "压测联络员"))
    return tokens


# ---------------------------------------------------------------- raw SQL


async def measure_sql(conn: asyncpg.Connection, unit_ids: Sequence[int], iterations: int, warmup: int) -> Stats:
    statement = await conn.prepare(SQL_PAGE)
    for i in range(warmup):
        await statement.fetch(unit_ids[i % len(unit_ids)])
    samples: list[float] = []
    for i in range(iterations):
        unit_id = unit_ids[i % len(unit_ids)]
        t0 = time.perf_counter()
        rows = await statement.fetch(unit_id)
        samples.append((time.perf_counter() - t0) * 1000)
        if not rows:
            raise RuntimeError(f"raw SQL returned no rows for unit {unit_id}")
    return Stats.of(samples)


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_server(url: str, redis_url: str, *, plans: bool = True) -> Iterator[Server]:
    """uvicorn api.asgi:app, one worker on loopback, as in production: jobs go to Redis (no worker is needed for
    reads), none run inside the measured server; `plans` False: QUERY_PLANS=false."""
    port = free_port()
    # The benchmark measures speed: the per-token rate limit would refuse its thousands of requests.
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    env["RATE_LIMIT_PER_MINUTE"] = "0"
    env["QUERY_PLANS"] = "true" if plans else "false"
    env.pop("CLOCK_AS_OF", None)
    command = [sys.executable, "-m", "uvicorn", "api.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    with tempfile.NamedTemporaryFile(prefix="kc-bench-server-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, port, log_path)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_path.unlink(missing_ok=True)


def wait_until_healthy(server: Server, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within {timeout_s:.0f} s:\n{server.log_tail()}")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


# ---------------------------------------------------------------- GraphQL over HTTP


@dataclass(frozen=True)
class Caller:
    """The request a liaison of `unit_id` sends, and how many edges its answer must hold."""

    unit_id: int
    headers: list[tuple[str, str]]
    expected: int


BODY = orjson.dumps({"query": GRAPHQL_PAGE, "operationName": "Queue"})
FLOOR_BODY = orjson.dumps({"query": "{ __typename }"})


def callers_for(tokens: dict[int, str], expected: dict[int, int]) -> list[Caller]:
    return [
        Caller(unit_id, [("Authorization", f"Bearer {token}")], expected[unit_id])
        for unit_id, token in sorted(tokens.items())
    ]


def new_connection(server: Server) -> Connection:
    """One keep-alive HTTP/1.1 connection of the raw asyncio client (scripts/province_http.py)."""
    return Connection("127.0.0.1", server.port, timeout=60.0)


async def ask(conn: Connection, caller: Caller, run: HttpRun, *, measured: bool = True) -> None:
    run.sent += 1
    t0 = time.perf_counter()
    try:
        answer = await conn.post("/graphql", BODY, caller.headers)
    except HttpError as exc:
        run.failed(str(exc))
        return
    elapsed = (time.perf_counter() - t0) * 1000
    problem = answer_problem(answer.status, answer.body, caller)
    if problem:
        run.failed(problem)
    elif measured:
        run.latencies_ms.append(elapsed)


def answer_problem(status: int, content: bytes, caller: Caller) -> str | None:
    if status != 200:
        return f"HTTP {status}: {content[:200]!r}"
    body = orjson.loads(content)
    if body.get("errors"):
        return f"errors: {body['errors']}"[:300]
    edges = body["data"]["viewer"]["taskQueue"]["edges"]
    if len(edges) != caller.expected:
        return f"unit {caller.unit_id}: {len(edges)} edges, expected {caller.expected}"
    return None


async def one_client(server: Server, callers: Sequence[Caller], iterations: int, warmup: int) -> HttpRun:
    run = HttpRun()
    conn = new_connection(server)
    try:
        for i in range(warmup):
            await ask(conn, callers[i % len(callers)], run, measured=False)
        for i in range(iterations):
            await ask(conn, callers[i % len(callers)], run)
    finally:
        await conn.close()
    return run


async def many_clients(server: Server, callers: Sequence[Caller], clients: int, duration_s: float) -> HttpRun:
    """`clients` keep-alive connections asking in a closed loop until the time is up."""
    run = HttpRun()
    barrier = asyncio.Barrier(clients)
    clock: dict[str, float] = {}

    async def client_loop(n: int) -> None:
        conn = new_connection(server)
        try:
            await ask(conn, callers[n % len(callers)], run, measured=False)  # open the connection
            await barrier.wait()
            deadline = clock.setdefault("start", time.perf_counter()) + duration_s
            i = n
            while time.perf_counter() < deadline:
                await ask(conn, callers[i % len(callers)], run)
                i += clients
            clock["end"] = max(clock.get("end", 0.0), time.perf_counter())
        finally:
            await conn.close()

    await asyncio.gather(*(client_loop(n) for n in range(clients)))
    run.elapsed_s = clock["end"] - clock["start"]
    return run


async def http_floor(server: Server, iterations: int, warmup: int) -> Stats:
    """The cheapest GraphQL answer over the same client: no token, no SQL, one field."""
    samples: list[float] = []
    conn = new_connection(server)
    try:
        for i in range(warmup + iterations):
            t0 = time.perf_counter()
            answer = await conn.post("/graphql", FLOOR_BODY)
            if i >= warmup:
                samples.append((time.perf_counter() - t0) * 1000)
            if answer.status != 200:
                raise RuntimeError(f"the HTTP floor request failed: HTTP {answer.status} {answer.body[:200]!r}")
    finally:
        await conn.close()
    return Stats.of(samples)


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
    problem = answer_problem(response.status_code, response.content, caller)
    if problem:
        raise RuntimeError(f"the in-process request failed: {problem}")
    return log.statements


async def measured(server: Server, work: Awaitable[HttpRun], label: str) -> HttpRun:
    """Run an HTTP phase and note the CPU the server and this client spent."""
    server_cpu, client_cpu, t0 = process_cpu_seconds(server.process.pid), own_cpu_seconds(), time.perf_counter()
    run: HttpRun = await work
    if not run.elapsed_s:
        run.elapsed_s = time.perf_counter() - t0
    run.server_cpu_s = process_cpu_seconds(server.process.pid) - server_cpu
    run.client_cpu_s = own_cpu_seconds() - client_cpu
    say(f"  {label}: {run.requests:,} requests in {run.elapsed_s:.1f} s, {run.errors} errors")
    if run.first_error:
        say(f"    first error: {run.first_error}")
    return run


# ---------------------------------------------------------------- the machine and the report


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{total_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


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


def cpu_ms(seconds: float, run: HttpRun) -> str:
    return f"{seconds * 1000 / max(1, run.sent):.2f} ms"


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
        "Written by `scripts/bench` (see `./scripts/bench --help`): `./scripts/bench` rewrites everything "
        f"above the section `{SWEEP_SECTION}`, which only `./scripts/bench sweep` replaces.",
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
        "- **Load client:** `scripts/province_http.py`'s: raw asyncio streams (uvloop), HTTP/1.1 keep-alive, "
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


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
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
    """Without a command: seed a province-scale county, then time a liaison's 50-task queue page, SQL vs GraphQL.

    `sweep` times the daily ladder sweep instead (`./scripts/bench sweep --help`).
    """
    if ctx.invoked_subcommand is not None:
        return
    command = shlex.join(["./scripts/bench", *sys.argv[1:]])
    plan = SeedPlan(units=units, tasks=tasks, events=events)
    settings = RunSettings(
        database, admin_url, plan, iterations, warmup, clients, duration, sample, reuse, keep, redis_url
    )
    report = uvloop.run(run(settings, command))
    print_table(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    kept = section_of(output.read_text(encoding="utf-8"), SWEEP_SECTION) if output.exists() else ""
    output.write_text(markdown(report) + (f"\n{kept}" if kept else ""), encoding="utf-8")
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
        await migrate_and_load_policy(url)  # both are no-ops on a current database
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
        await migrate_and_load_policy(url)
    say(f"seeding {s.plan.units:,} units and {s.plan.tasks:,} tasks with COPY")
    t0 = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        totals = await seed(conn, s.plan)
    finally:
        await conn.close()
    elapsed = time.perf_counter() - t0
    say("seeded " + ", ".join(f"{n:,} {what}" for what, n in totals.items()) + f" in {elapsed:.1f} s")
    return elapsed


async def measure(s: RunSettings, url: str, command: str, started: datetime, seed_s: float | None) -> Report:
    conn = await asyncpg.connect(url)
    try:
        size = await data_size(conn)
        info = {**machine(), "postgres": await conn.fetchval("SHOW server_version")}
        unit_ids = await sample_units(conn, s.sample)
        expected = await expected_edges(conn, unit_ids)
        say(f"raw SQL: {s.iterations:,} runs over {len(unit_ids)} units")
        sql = await measure_sql(conn, unit_ids, s.iterations, s.warmup)
        callers = callers_for(await issue_tokens(url, unit_ids), expected)
        statements = await statements_per_request(url, callers[0])
        say(f"one queue request sends {len(statements)} SQL statements")
        say("starting the server")
        with running_server(url, s.redis_url) as server:
            say("HTTP floor")
            floor = await http_floor(server, s.iterations, s.warmup)
            one = await measured(server, one_client(server, callers, s.iterations, s.warmup), "GraphQL, 1 client")
            many = await measured(
                server, many_clients(server, callers, s.clients, s.duration), f"GraphQL, {s.clients} clients"
            )
        say("starting a server with QUERY_PLANS=false")
        with running_server(url, s.redis_url, plans=False) as server:
            alone = await measured(
                server, one_client(server, callers, s.iterations, s.warmup), "Strawberry alone, 1 client"
            )
    finally:
        await conn.close()
    if not one.latencies_ms or not many.latencies_ms or not alone.latencies_ms:
        raise RuntimeError(f"every GraphQL request failed; first error: {one.first_error or many.first_error}")
    return Report(
        started=started,
        command=command,
        machine=info,
        size=size,
        seed_s=seed_s,
        sql=sql,
        floor=floor,
        statements=len(statements),
        one=Stats.of(one.latencies_ms),
        one_run=one,
        many=Stats.of(many.latencies_ms),
        many_run=many,
        clients=s.clients,
        strawberry=Stats.of(alone.latencies_ms),
        strawberry_run=alone,
    )


# ---------------------------------------------------------------- the daily ladder sweep

SWEEP_SECTION = "## Daily ladder sweep"
SWEEP_GOAL_S = 10.0
SWEEP_GOAL_CASES = 20_000
SWEEP_LINEAR_SLACK = 1.2  # "linear": per-case time at the larger size at most 20 % above the smaller size's
SWEEP_SIZES = (2_000, 20_000)
SWEEP_CHUNK = 5_000
HOUSEHOLD_COLUMNS = (
    "id",
    "township_id",
    "village_id",
    "registration_place",
    "home_address",
    "family_situation",
    "created_at",
)
STUDENT_COLUMNS = (
    "id",
    "name",
    "gender",
    "birth_date",
    "citizen_id",
    "student_number",
    "school_id",
    "grade",
    "class_name",
    "head_teacher_id",
    "head_teacher_name",
    "household_id",
    "is_demo",
    "created_at",
)
CASE_COLUMNS = (
    "id",
    "student_id",
    "kind",
    "status",
    "stage",
    "open_key",
    "episode",
    "school_id",
    "township_id",
    "absent_since",
    "escalation_level",
    "opened_at",
    "version",
)
CASE_EVENT_COLUMNS = ("case_id", "at", "actor_id", "action", "detail")
LADDER_TASK_COLUMNS = (*TASK_COLUMNS, "assignee_role", "case_id", "rule_id")
SWEEP_TABLES = ("unit", "household", "student", "dropout_case", "task", "task_cooperator", "task_event", "case_event")
SURNAMES = "王李张刘陈杨赵黄周吴马"
GIVEN_NAMES = ("子涵", "欣怡", "浩然", "梓萱", "宇轩", "雨桐", "俊杰", "诗涵", "阿依古丽", "买买提")


def section_of(text: str, heading: str) -> str:
    """The section under `heading`, up to the next level-2 heading (exclusive), or ''."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[start:end])


def with_section(text: str, heading: str, body: str) -> str:
    """`text` with the section under `heading` replaced by `body` (a whole section), or `body` appended."""
    body = body.rstrip("\n") + "\n"
    old = section_of(text, heading)
    if not old:
        return f"{text.rstrip()}\n\n{body}" if text.strip() else body
    before, after = text.split(old, 1)
    return before + body + (f"\n{after}" if after else "")


@dataclass(frozen=True)
class SweepPlan:
    cases: int
    tasks: int  # task rows before the first sweep: the ladder's own, topped up with unrelated tasks
    as_of: date
    absent_from: date
    absent_to: date
    seeded_through: date | None  # the last day the ladder was swept before; None: the school day before as_of
    townships: int = 10
    villages_per_township: int = 10
    schools: int = 60
    seed: int = 20260901


@dataclass(frozen=True)
class SweepContext:
    """What seeding needs from the migrated database: the county's policy (its ladder) and the school days."""

    policy: CountyPolicy
    codes: dict[int, str]
    days: dict[int, SchoolDays]  # by school
    absent_days: list[date]  # school days the first absences are spread over
    seeded_through: date


@dataclass(frozen=True)
class SweepSeed:
    counts: dict[str, int]
    seeded_through: date
    absent_days: list[date]
    due: int  # tasks the sweep as of plan.as_of must create
    escalations: int  # cases whose escalation level that sweep must raise
    due_steps: dict[str, int]  # the steps that sweep must create, by step code
    progress: dict[tuple[str, int], int]  # cases by (stage, escalation level), as that sweep must leave them
    seconds: float


@dataclass(frozen=True)
class SweepTiming:
    cases: int
    created: int
    seconds: float
    cpu_s: float  # this process: Tortoise, the ladder's planning, asyncpg
    db_cpu_s: float  # every PostgreSQL process

    @property
    def ms_per_case(self) -> float:
        return self.seconds * 1000 / max(1, self.cases)


@dataclass(frozen=True)
class SweepSize:
    plan: SweepPlan
    seed: SweepSeed
    tasks_before: int
    first: SweepTiming
    second: SweepTiming


@dataclass(frozen=True)
class SweepReport:
    started: datetime
    command: str
    machine: dict[str, str]
    sizes: list[SweepSize]

    @property
    def case_growth(self) -> float:
        return self.sizes[-1].plan.cases / self.sizes[0].plan.cases

    def time_growth(self, which: str) -> float:
        small: SweepTiming = getattr(self.sizes[0], which)
        large: SweepTiming = getattr(self.sizes[-1], which)
        return large.seconds / small.seconds

    def linear(self, which: str) -> bool:
        return self.time_growth(which) <= self.case_growth * SWEEP_LINEAR_SLACK

    @property
    def goal_size(self) -> SweepSize | None:
        return next((s for s in self.sizes if s.plan.cases == SWEEP_GOAL_CASES), None)


def postgres_cpu() -> dict[int, float]:
    """User + system CPU seconds of each PostgreSQL process on this machine (the server runs here), by pid."""
    seconds: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if (proc / "comm").read_text().strip() == "postgres":
                    seconds[int(proc.name)] = process_cpu_seconds(int(proc.name))
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU the PostgreSQL processes spent since `before` (a process that has exited since is not counted)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_cpu().items())


def sweep_unit_rows(plan: SweepPlan, first_id: int, county_id: int | None) -> list[tuple[Any, ...]]:
    """Townships under the county government, villages under each township, schools spread over the townships."""
    rows: list[tuple[Any, ...]] = []
    township_ids = [first_id + n for n in range(plan.townships)]
    for n, unit_id in enumerate(township_ids, 1):
        rows.append(
            (
                unit_id,
                f"bench-sweep-township-{n:02d}",
                f"【压测】第{n:02d}乡镇",
                "TOWNSHIP",
                None,
                True,
                300_000 + n,
                county_id,
            )
        )
    unit_id = first_id + plan.townships
    for t, township_id in enumerate(township_ids, 1):
        for v in range(1, plan.villages_per_township + 1):
            rows.append(
                (
                    unit_id,
                    f"bench-sweep-village-{t:02d}-{v:02d}",
                    f"【压测】第{t:02d}乡镇第{v:02d}村",
                    "VILLAGE",
                    None,
                    True,
                    310_000 + t * 100 + v,
                    township_id,
                )
            )
            unit_id += 1
    for n in range(1, plan.schools + 1):
        level = "JUNIOR_MIDDLE" if n % 3 == 0 else "PRIMARY"
        rows.append(
            (
                unit_id,
                f"bench-sweep-school-{n:03d}",
                f"【压测】第{n:03d}学校",
                "SCHOOL",
                level,
                True,
                320_000 + n,
                township_ids[(n - 1) % plan.townships],
            )
        )
        unit_id += 1
    return rows


@dataclass
class SweepRows:
    households: list[tuple[Any, ...]] = field(default_factory=list)
    students: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    cooperators: list[tuple[int, int]] = field(default_factory=list)
    task_events: list[tuple[Any, ...]] = field(default_factory=list)
    case_events: list[tuple[Any, ...]] = field(default_factory=list)

    async def copy(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            for table, records, columns in (
                ("household", self.households, HOUSEHOLD_COLUMNS),
                ("student", self.students, STUDENT_COLUMNS),
                ("dropout_case", self.cases, CASE_COLUMNS),
                ("task", self.tasks, LADDER_TASK_COLUMNS),
                ("task_cooperator", self.cooperators, ("task_id", "unit_id")),
                ("task_event", self.task_events, EVENT_COLUMNS),
                ("case_event", self.case_events, CASE_EVENT_COLUMNS),
            ):
                if records:
                    await conn.copy_records_to_table(table, records=records, columns=columns)


class CaseSeeder:
    """Open ABSENT_WITHOUT_REASON cases as the ladder's sweeps up to `seeded_through` would have left them.

    Each case's tasks, stage and escalation level come from the ladder's own planner
    (`tasks.ladder.steps.plan_case`), so their unique keys, titles, owners and cooperators are exactly
    those the sweep looks for; it also says which steps fall due by `as_of`, for checking the sweep.
    """

    def __init__(self, plan: SweepPlan, rng: random.Random, units: Sequence[tuple[Any, ...]], ctx: SweepContext):
        self.plan, self.rng, self.ctx = plan, rng, ctx
        self.schools = [(row[0], row[7]) for row in units if row[3] == "SCHOOL"]
        self.villages: dict[int, list[int]] = {}
        for row in units:
            if row[3] == "VILLAGE":
                self.villages.setdefault(row[7], []).append(row[0])
        self.due = 0
        self.escalations = 0
        self.due_steps: dict[str, int] = {}
        self.progress_after: dict[tuple[str, int], int] = {}

    def rows(self, numbers: range, first_ids: dict[str, int], task_id: int) -> tuple[SweepRows, int]:
        """Rows for the cases numbered `numbers` (from 0); returns them and the next free task id."""
        from models.cases import Case, CaseKind, CaseStage, CaseStatus
        from models.children import Household, Student
        from tasks.ladder.steps import CaseFacts, plan_case, task_key

        ctx, rng, out = self.ctx, self.rng, SweepRows()
        for n in numbers:
            case_id, student_id, household_id = (first_ids[t] + n for t in ("case", "student", "household"))
            school_id, township_id = self.schools[n % len(self.schools)]
            village_id = rng.choice(self.villages[township_id])
            absent_since = ctx.absent_days[n % len(ctx.absent_days)]
            opened_at = local_time(absent_since, 9)
            grade, name = rng.randint(1, 9), rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
            class_name = f"{rng.randint(1, 6)}班"
            birth = date(2026 - 6 - grade, rng.randint(1, 12), rng.randint(1, 28))
            out.households.append(
                (household_id, township_id, village_id, f"【压测】第{n}户", f"【压测】{n}号", "", opened_at)
            )
            out.students.append(
                (
                    student_id,
                    name,
                    rng.choice(("MALE", "FEMALE")),
                    birth,
                    f"652323{n:012d}",
                    f"BENCH{n:012d}",
                    school_id,
                    grade,
                    class_name,
                    None,
                    "压测班主任",
                    household_id,
                    True,
                    opened_at,
                )
            )
            open_key = f"{student_id}:{CaseKind.ABSENT_WITHOUT_REASON.value}"
            case = Case(
                id=case_id,
                student_id=student_id,
                kind=CaseKind.ABSENT_WITHOUT_REASON,
                status=CaseStatus.OPEN,
                stage=CaseStage.OPENED,
                open_key=open_key,
                episode=1,
                school_id=school_id,
                township_id=township_id,
                absent_since=absent_since,
                escalation_level=0,
                opened_at=opened_at,
                version=1,
            )
            student = Student(id=student_id, name=name, grade=grade, class_name=class_name, school_id=school_id)
            household = Household(id=household_id, township_id=township_id, village_id=village_id)
            facts = CaseFacts(case, student, household)
            days = ctx.days[school_id]
            done = plan_case(facts, days, ctx.seeded_through, ctx.policy)
            later = plan_case(facts, days, self.plan.as_of, ctx.policy)
            fallen_due = {p.key for p in later} - {p.key for p in done}
            self.due += len(fallen_due)
            for step in fallen_due:
                self.due_steps[step] = self.due_steps.get(step, 0) + 1
            after = progress_of(later)
            self.progress_after[after] = self.progress_after.get(after, 0) + 1
            stage, level = progress_of(done)
            self.escalations += after[1] > level
            out.cases.append(
                (
                    case_id,
                    student_id,
                    case.kind.value,
                    "OPEN",
                    stage,
                    open_key,
                    1,
                    school_id,
                    township_id,
                    absent_since,
                    level,
                    opened_at,
                    1 + len({p.due for p in done}),
                )
            )
            out.case_events.append((case_id, opened_at, None, "OPENED", "无故缺勤，自动立案"))
            reached = 0
            for p in sorted(done, key=lambda p: p.due):
                self.add_task(out, task_id, case_id, p, task_key(case, p.key))
                task_id += 1
                if p.escalation_level > reached:
                    reached = p.escalation_level
                    out.case_events.append((case_id, local_time(p.due, 6), None, "ESCALATED", f"升级至第{reached}级"))
        return out, task_id

    def add_task(self, out: SweepRows, task_id: int, case_id: int, p: Planned, key: str) -> None:
        from models import clock

        at = local_time(p.due, 6)  # created by the sweep on the morning the step fell due
        done = p.due < self.ctx.seeded_through and self.rng.random() < 0.6
        status = "DONE" if done else "OPEN"
        out.tasks.append(
            (
                task_id,
                p.title,
                "",
                "CASE_STEP",
                status,
                clock.end_of_day(p.due),
                "已办结" if done else None,
                key,
                3 if done else 1,
                at,
                at,
                None,
                p.unit_id,
                p.duty_id,
                0,
                p.role.value if p.role else None,
                case_id,
                p.rule_id,
            )
        )
        for unit_id in dict.fromkeys(p.cooperator_ids):
            if unit_id != p.unit_id:
                out.cooperators.append((task_id, unit_id))
        changes = {"status": [None, "OPEN"], "assigneeUnit": [None, self.ctx.codes[p.unit_id]]}
        out.task_events.append((task_id, at, None, "CREATED", None, orjson.dumps(changes).decode()))
        out.case_events.append((case_id, at, None, "STEP_DUE", p.title))


def local_time(day: date, hour: int) -> datetime:
    from models.clock import COUNTY_TZ

    return datetime(day.year, day.month, day.day, hour, tzinfo=COUNTY_TZ)


def progress_of(planned: Sequence[Planned]) -> tuple[str, int]:
    """The stage and escalation level the ladder records for a case that has these steps (_record_progress)."""
    from tasks.ladder.steps import STAGE_ORDER

    if not planned:
        return "OPENED", 0
    stage = max((p.stage for p in planned), key=STAGE_ORDER.index)
    return stage.value, max(p.escalation_level for p in planned)


async def sweep_context(url: str, plan: SweepPlan, school_ids: Sequence[int]) -> SweepContext:
    from models.db import connected
    from tasks.policy.county import CountyPolicy
    from tasks.school_days import SchoolDayCache, years_around

    async with connected(url):
        policy = await CountyPolicy.load()
        cache = SchoolDayCache()
        await cache.preload(years_around(plan.absent_from, plan.as_of), school_ids=school_ids)
    days = {school_id: cache.for_school(school_id, plan.absent_from, plan.as_of) for school_id in school_ids}
    county = days[school_ids[0]]  # bench schools keep the county's calendar
    if not county.is_school_day(plan.as_of):
        raise typer.BadParameter(f"{plan.as_of} is not a school day in the county calendar", param_hint="--as-of")
    absent_days = list(county.between(plan.absent_from, min(plan.absent_to, plan.as_of)))
    if not absent_days:
        raise typer.BadParameter("no school day between --absent-from and --absent-to", param_hint="--absent-to")
    seeded_through = plan.seeded_through
    if seeded_through is None:
        earlier = list(county.between(plan.absent_from, plan.as_of - timedelta(days=1)))
        seeded_through = earlier[-1] if earlier else plan.as_of - timedelta(days=1)
    codes = {unit_id: code for code, unit_id in policy.units.codes.items()}
    return SweepContext(policy, codes, days, absent_days, seeded_through)


async def seed_sweep(url: str, plan: SweepPlan) -> SweepSeed:
    """Units, households, students, open cases with the ladder tasks they already have, unrelated tasks."""
    t0 = time.perf_counter()
    rng = random.Random(plan.seed)
    conn = await asyncpg.connect(url)
    try:
        county_id = await conn.fetchval("SELECT id FROM unit WHERE code = 'county-gov'")
        units = sweep_unit_rows(plan, await next_id(conn, "unit"), county_id)
        await conn.copy_records_to_table("unit", records=units, columns=UNIT_COLUMNS)
        await reset_sequence(conn, "unit")
        villages = len(units) - plan.townships - plan.schools
        say(
            f"  units        {len(units):>9,}  "
            f"({plan.townships} townships, {villages} villages, {plan.schools} schools)"
        )
        ctx = await sweep_context(url, plan, [row[0] for row in units if row[3] == "SCHOOL"])
        say(
            f"  cases absent since {ctx.absent_days[0]} .. {ctx.absent_days[-1]} ({len(ctx.absent_days)} school days);"
            f" ladder tasks as swept through {ctx.seeded_through}"
        )
        seeder = CaseSeeder(plan, rng, units, ctx)
        first_ids = {
            t: await next_id(conn, table)
            for t, table in (("case", "dropout_case"), ("student", "student"), ("household", "household"))
        }
        task_id = first_task = await next_id(conn, "task")
        counts = dict.fromkeys(
            ("units", "cases", "ladder tasks", "other tasks", "cooperators", "task events", "case events"), 0
        )
        counts["units"] = len(units)
        started = time.perf_counter()
        for start in range(0, plan.cases, SWEEP_CHUNK):
            rows, task_id = seeder.rows(range(start, min(start + SWEEP_CHUNK, plan.cases)), first_ids, task_id)
            await rows.copy(conn)
            for name, part in (
                ("cases", rows.cases),
                ("ladder tasks", rows.tasks),
                ("cooperators", rows.cooperators),
                ("task events", rows.task_events),
                ("case events", rows.case_events),
            ):
                counts[name] += len(part)
            rate = counts["cases"] / (time.perf_counter() - started)
            say(
                f"  cases        {counts['cases']:>9,} / {plan.cases:,}  with {counts['ladder tasks']:,} ladder tasks"
                f"  ({rate:,.0f} cases/s)"
            )
        await seed_other_tasks(conn, plan, rng, units, task_id, plan.tasks - (task_id - first_task), counts)
        for table in SWEEP_TABLES:
            await reset_sequence(conn, table)
        say("  VACUUM ANALYZE")
        await conn.execute(f"VACUUM (ANALYZE) {', '.join(SWEEP_TABLES)}")
    finally:
        await conn.close()
    seconds = time.perf_counter() - t0
    say("seeded " + ", ".join(f"{n:,} {what}" for what, n in counts.items()) + f" in {seconds:.1f} s")
    return SweepSeed(
        counts,
        ctx.seeded_through,
        ctx.absent_days,
        seeder.due,
        seeder.escalations,
        seeder.due_steps,
        seeder.progress_after,
        seconds,
    )


async def seed_other_tasks(
    conn: asyncpg.Connection,
    plan: SweepPlan,
    rng: random.Random,
    units: Sequence[tuple[Any, ...]],
    first: int,
    count: int,
    counts: dict[str, int],
) -> None:
    """Unrelated tasks (manual and duty) spread over the bench units, to fill the task table to plan.tasks."""
    unit_ids = [row[0] for row in units]
    unit_codes = {row[0]: row[1] for row in units}
    duty_ids = [r["id"] for r in await conn.fetch("SELECT id FROM duty ORDER BY id")]
    queue_plan = SeedPlan(units=len(units), tasks=count)
    now = datetime.now(UTC)
    for start in range(first, first + count, 20_000):
        ids = range(start, min(start + 20_000, first + count))
        tasks, cooperators, events = task_rows(queue_plan, rng, ids, unit_ids, unit_codes, duty_ids, now)
        async with conn.transaction():
            await conn.copy_records_to_table("task", records=tasks, columns=TASK_COLUMNS)
            await conn.copy_records_to_table("task_cooperator", records=cooperators, columns=("task_id", "unit_id"))
            await conn.copy_records_to_table("task_event", records=events, columns=EVENT_COLUMNS)
        counts["other tasks"] += len(tasks)
        counts["cooperators"] += len(cooperators)
        counts["task events"] += len(events)
        say(f"  other tasks  {counts['other tasks']:>9,} / {count:,}")


async def timed_sweep(as_of: date) -> SweepTiming:
    from tasks.machinery.jobs import ladder_sweep

    cpu, db_cpu, t0 = own_cpu_seconds(), postgres_cpu(), time.perf_counter()
    result = await ladder_sweep(as_of)
    seconds = time.perf_counter() - t0
    timing = SweepTiming(
        result.cases, result.tasks_created, seconds, own_cpu_seconds() - cpu, postgres_cpu_since(db_cpu)
    )
    say(f"  {timing.cases:,} open cases, {timing.created:,} tasks created in {seconds:.2f} s")
    return timing


async def measure_sweep(url: str, plan: SweepPlan, seed: SweepSeed) -> SweepSize:
    """The sweep as of plan.as_of twice, on the county clock of that morning, each checked against the plan."""
    from models import clock
    from models.cases import Case, CaseEvent, CaseStatus
    from models.db import connected
    from models.tasks import Task, TaskEvent

    async def state() -> dict[str, int]:
        return {
            "task rows": await Task.all().count(),
            "CREATED history lines": await TaskEvent.filter(action="CREATED").count(),
            "STEP_DUE timeline lines": await CaseEvent.filter(action="STEP_DUE").count(),
            "ESCALATED timeline lines": await CaseEvent.filter(action="ESCALATED").count(),
            "case versions": sum(await Case.filter(status=CaseStatus.OPEN).values_list("version", flat=True)),
        }

    async with connected(url):
        with clock.as_of(local_time(plan.as_of, 6)):
            before = await state()
            say(f"sweep as of {plan.as_of}: first")
            first = await timed_sweep(plan.as_of)
            between = await state()
            say(f"sweep as of {plan.as_of}: again (steady state)")
            second = await timed_sweep(plan.as_of)
            after = await state()
            rows = await Case.filter(status=CaseStatus.OPEN).values_list("stage", "escalation_level")
    progress: dict[tuple[str, int], int] = {}
    for stage, level in rows:
        progress[(str(stage), level)] = progress.get((str(stage), level), 0) + 1
    first_adds = {
        "task rows": seed.due,
        "CREATED history lines": seed.due,
        "STEP_DUE timeline lines": seed.due,
        "ESCALATED timeline lines": seed.escalations,
    }
    checks = [
        ("open cases swept", first.cases, plan.cases),
        ("tasks created by the first sweep", first.created, seed.due),
        ("tasks created by the second sweep", second.created, 0),
        *((f"{what} added by the first sweep", between[what] - before[what], n) for what, n in first_adds.items()),
        *((f"{what} added by the second sweep", after[what] - between[what], 0) for what in after),
    ]
    problems = [f"{what}: {got:,}, expected {want:,}" for what, got, want in checks if got != want]
    if progress != seed.progress:
        problems.append(f"cases by (stage, escalation level): {progress}, expected {seed.progress}")
    if problems:
        raise RuntimeError("the sweep did not do what the ladder calls for:\n  " + "\n  ".join(problems))
    return SweepSize(plan, seed, before["task rows"], first, second)


def sweep_rows(r: SweepReport) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for size in r.sizes:
        for label, t, before in (
            ("first: creates the steps due", size.first, size.tasks_before),
            ("again: steady state", size.second, size.tasks_before + size.first.created),
        ):
            rows.append(
                (
                    f"{size.plan.cases:,}",
                    f"{before:,}",
                    label,
                    f"{t.created:,}",
                    f"{t.seconds:.2f}",
                    f"{t.ms_per_case:.3f}",
                    f"{t.cpu_s:.1f} s",
                    f"{t.db_cpu_s:.1f} s",
                )
            )
    return rows


SWEEP_HEADER = (
    "open cases",
    "tasks before",
    "sweep",
    "tasks created",
    "seconds",
    "ms per case",
    "bench process CPU",
    "PostgreSQL CPU",
)


def growth_rows(r: SweepReport) -> list[tuple[str, str, str]]:
    small, large = r.sizes[0].plan.cases, r.sizes[-1].plan.cases
    rows = [(f"open cases, {small:,} → {large:,}", f"{r.case_growth:.1f}×", "")]
    for which, label in (("first", "first sweep"), ("second", "steady-state sweep")):
        growth = r.time_growth(which)
        rows.append(
            (
                f"{label} time",
                f"{growth:.1f}×",
                f"per case {growth / r.case_growth:.2f}× the smaller size's; "
                f"linear (≤ {SWEEP_LINEAR_SLACK:g}×): {verdict(r.linear(which))}",
            )
        )
    created = (r.sizes[-1].first.created, r.sizes[0].first.created)
    rows.append(("tasks created by the first sweep", f"{created[0] / max(1, created[1]):.1f}×", ""))
    return rows


def goal_line(r: SweepReport) -> str:
    size = r.goal_size
    if size is None:
        return f"not measured: no size of {SWEEP_GOAL_CASES:,} open cases in this run"
    worst = max(size.first.seconds, size.second.seconds)
    return (
        f"{verdict(worst < SWEEP_GOAL_S)}: the slower of its two sweeps took {worst:.2f} s with "
        f"{size.plan.cases:,} open cases and {size.tasks_before:,} tasks"
    )


def print_sweep_table(r: SweepReport) -> None:
    rows = [SWEEP_HEADER, *sweep_rows(r)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(SWEEP_HEADER))]
    typer.echo("")
    for row in rows:
        typer.echo(
            "  ".join(
                cell.rjust(w) if i != 2 else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    typer.echo("")
    for name, value, note in growth_rows(r):
        typer.echo(f"{name:<40} {value:>6}  {note.replace('**', '')}")
    typer.echo(f"\ngoal (< {SWEEP_GOAL_S:g} s at {SWEEP_GOAL_CASES:,} open cases): {goal_line(r).replace('**', '')}")


def sweep_markdown(r: SweepReport) -> str:
    m = r.machine
    plan, seed = r.sizes[0].plan, r.sizes[0].seed
    large = r.sizes[-1].seed
    steps = ", ".join(f"`{code}` {n:,}" for code, n in sorted(large.due_steps.items(), key=lambda kv: -kv[1]))
    sizes = " and ".join(f"{s.plan.cases:,}" for s in r.sizes)
    before = sorted({s.tasks_before for s in r.sizes})
    tasks = f"{before[0]:,} rows at every size" if len(before) == 1 else " / ".join(f"{n:,}" for n in before) + " rows"
    lines = [
        SWEEP_SECTION,
        "",
        "Written by `./scripts/bench sweep` (see `./scripts/bench sweep --help`); each run replaces this section only.",
        "",
        f"**Goal:** with {SWEEP_GOAL_CASES:,} open cases and 200,000 tasks, one daily ladder sweep finishes in under "
        f"{SWEEP_GOAL_S:g} s, and its cost grows linearly with the open cases it must advance. "
        f"**Result:** {goal_line(r)}; linear in the open cases: first sweep {verdict(r.linear('first'))}, "
        f"steady state {verdict(r.linear('second'))}.",
        "",
        f"- **Date:** {r.started:%Y-%m-%d %H:%M %Z}",
        f"- **Machine:** {m['cpus']} CPUs ({m['cpu']}), {m['memory']} memory, {m['os']}, "
        f"Python {m['python']}, PostgreSQL {m['postgres']} on the same machine",
        f"- **Command:** `{r.command}`",
        f"- **Data:** for each size ({sizes} open cases) a fresh database with the Hutubi policy (its 2026-2027 "
        f"county calendar), {seed.counts['units']:,} bench units ({plan.townships} townships, "
        f"{plan.townships * plan.villages_per_township} villages, {plan.schools} schools) and that many open "
        f"`ABSENT_WITHOUT_REASON` cases, each with its own student and household, absent since one of the "
        f"{len(seed.absent_days)} school days {seed.absent_days[0]} .. {seed.absent_days[-1]} (spread evenly). "
        "Each case already has what the daily "
        f"sweeps through {seed.seeded_through} left: its ladder tasks (unique keys `case:<id>:<episode>:<step>`, "
        "owners, cooperators, CREATED history lines), its STEP_DUE and ESCALATED timeline lines, its stage and "
        "escalation level, all planned by `tasks.ladder.steps.plan_case` itself. Unrelated manual and duty tasks fill "
        f"the task table to {tasks} (kept, not scaled with the cases, so that only the open cases change "
        "between the sizes). Seeded with COPY, then VACUUM ANALYZE.",
        f"- **Measured:** `tasks.machinery.jobs.ladder_sweep(as_of={plan.as_of})` called in the benchmark process "
        f"(Tortoise over asyncpg, the configured pool), with the county clock at 06:00 that day: wall time of the "
        f"call. The first sweep creates the steps that fell due on {plan.as_of} (at {r.sizes[-1].plan.cases:,} "
        f"cases: {steps}); the second, run straight after on the same day, must create nothing. After each, "
        "the benchmark checks against the plan the tasks "
        "created, the task rows, CREATED history lines, STEP_DUE and ESCALATED timeline lines added, and the "
        "cases' stages and escalation levels, and that the second sweep changed nothing (no row, no case version).",
        "- **How the sweep works:** open cases in batches of 500 (by id); per batch one query each for the cases, "
        "students, households, persuasion records, reports and calendars, the plan in Python, the existing unique "
        "keys looked up 1,000 at a time (a longer IN list makes PostgreSQL scan the whole task table), then one "
        "transaction with bulk inserts of the missing tasks, cooperators, history and timeline lines and the "
        "stage/escalation updates. If another worker created one of the same tasks meanwhile, the batch rolls "
        "back and is redone step by step, each step in its own transaction, as before.",
        "- **CPU columns:** user+system time of the benchmark process (Tortoise, the planning) and of the "
        "PostgreSQL processes during the sweep (a process that exited during it is not counted). The two share "
        f"the machine's {m['cpus']} cores and mostly take turns, so the wall time is close to their sum.",
        "",
        "| " + " | ".join(SWEEP_HEADER) + " |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
        *("| " + " | ".join(row) + " |" for row in sweep_rows(r)),
        "",
        "| growth | ratio | note |",
        "|---|---:|---|",
        *(f"| {name} | {value} | {note} |" for name, value, note in growth_rows(r)),
        "",
    ]
    return "\n".join(lines)


def iso_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-09-21", param_hint=option) from exc


@app.command("sweep")
def sweep(
    cases: Annotated[
        list[int] | None, typer.Option("--cases", min=1, help="open cases at one size; repeat for more sizes")
    ] = None,
    tasks: Annotated[
        int, typer.Option(min=0, help="task rows before the sweep at every size: the ladder's, topped up")
    ] = 200_000,
    as_of: Annotated[str, typer.Option(help="the school day swept (ISO date)")] = "2026-09-21",
    absent_from: Annotated[str, typer.Option(help="first absences spread over the school days from")] = "2026-09-01",
    absent_to: Annotated[str, typer.Option(help="... to this day")] = "2026-09-18",
    seeded_through: Annotated[
        str | None,
        typer.Option(help="the ladder's tasks exist as swept through this day; default: the school day before --as-of"),
    ] = None,
    database: Annotated[str, typer.Option(help="name of the benchmark database")] = "kc_bench_sweep",
    admin_url: Annotated[
        str, typer.Option(envvar="BENCH_POSTGRES_ADMIN_URL", help="a PostgreSQL URL that may create databases")
    ] = "postgres://postgres@127.0.0.1:5432/postgres",
    keep: Annotated[bool, typer.Option(help="leave the last size's database in place afterwards")] = False,
    output: Annotated[Path, typer.Option(help="Markdown report; only its sweep section is replaced")] = DEFAULT_OUTPUT,
) -> None:
    """Time the daily ladder sweep at 2,000 and 20,000 open cases with 200,000 tasks; check it; report growth."""
    command = shlex.join(["./scripts/bench", *sys.argv[1:]])
    sizes = sorted(set(cases or SWEEP_SIZES))
    plans = [
        SweepPlan(
            n,
            tasks,
            iso_day(as_of, "--as-of"),
            iso_day(absent_from, "--absent-from"),
            iso_day(absent_to, "--absent-to"),
            iso_day(seeded_through, "--seeded-through") if seeded_through else None,
        )
        for n in sizes
    ]
    report = asyncio.run(run_sweeps(plans, database, admin_url, keep, command))
    print_sweep_table(report)
    if len(report.sizes) < 2:
        say("one size only: no growth figures")
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(with_section(text, SWEEP_SECTION, sweep_markdown(report)), encoding="utf-8")
    typer.echo(f"\nwrote {output} ({SWEEP_SECTION})")


async def run_sweeps(
    plans: Sequence[SweepPlan], database: str, admin_url: str, keep: bool, command: str
) -> SweepReport:
    started = datetime.now().astimezone()
    url = database_url(admin_url, database)
    sizes: list[SweepSize] = []
    info: dict[str, str] = {}
    for n, plan in enumerate(plans):
        last = n == len(plans) - 1
        say(f"creating database {database} for {plan.cases:,} open cases")
        await recreate_database(admin_url, database)
        try:
            await migrate_and_load_policy(url)
            say(f"seeding {plan.cases:,} open cases and {plan.tasks:,} tasks with COPY")
            seed = await seed_sweep(url, plan)
            conn = await asyncpg.connect(url)
            try:
                info = {**machine(), "postgres": await conn.fetchval("SHOW server_version")}
            finally:
                await conn.close()
            sizes.append(await measure_sweep(url, plan, seed))
        finally:
            if not (keep and last):
                await drop_database(admin_url, database)
                say(f"dropped database {database}")
    return SweepReport(started, command, info, sizes)


@app.command("calendar")
def calendar_command(
    admin_url: Annotated[str, typer.Option(envvar="BENCH_POSTGRES_ADMIN_URL")] = (
        "postgres://postgres@127.0.0.1:5432/postgres"
    ),
    database: str = "kc_bench_calendar",
    townships: int = 100,
    schools: int = 2000,
    keep: bool = False,
) -> None:
    """Time a school year's duty calendar for a province (issue 4: under 30 s)."""
    from scripts.bench_calendar import run_calendar_benchmark

    command = (
        "./scripts/bench calendar"
        + (f" --townships {townships}" if townships != 100 else "")
        + (f" --schools {schools}" if schools != 2000 else "")
    )
    asyncio.run(run_calendar_benchmark(admin_url, database, townships, schools, keep, command))


if __name__ == "__main__":
    app()
