"""The province benchmark's mixed load, and the faults injected into it.

20 clients, each with its own units and schools (so no two clients ever touch the same task):
80 % queue reads by liaisons, 15 % task updates by the liaisons on their own page (taskStart,
taskComplete, taskComment), 5 % absences recorded by school offices (absenceRecord on a student
with no case, which opens one). The arq worker runs beside the server; the county clock is the
database clock set to one school day. Afterwards the database is counted: every outbox event
processed, every new case with its day-1 task, no unique key twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import asyncpg
import orjson

from scripts.benchmarks.harness.http import Answer, Connection, HttpError, Stats
from scripts.benchmarks.harness.people import tokens
from scripts.benchmarks.harness.servers import Server
from scripts.benchmarks.province.page import Caller

READ = "query Mixed { viewer { taskQueue(first: 50) { edges { node { id status assigneeUnit { id } } } } } }"
START = "mutation($id: ID!) { taskStart(id: $id) { task { status } userErrors { code message } } }"
COMPLETE = (
    'mutation($id: ID!) { taskComplete(id: $id, input: {outcome: "已劝返，压测办结"}) '
    "{ task { status } userErrors { code message } } }"
)
COMMENT = (
    'mutation($id: ID!) { taskComment(id: $id, input: {text: "压测：已电话联系"}) '
    "{ task { id } userErrors { code message } } }"
)
ABSENCE = (
    'mutation($id: ID!, $day: Date) { absenceRecord(id: $id, input: {day: $day, note: "压测缺勤"}) '
    "{ case { id } userErrors { code message } } }"
)
OPERATIONS = ("read", "update", "absence")
WEIGHTS = (80, 15, 5)
DAY1_STEP = "day1-head-teacher"


# ---------------------------------------------------------------- who does what


@dataclass
class Office:
    school_id: int
    token: str
    students: list[int]  # students with no case yet, to be marked absent


@dataclass
class Liaison:
    unit_id: int
    unit_gid: str
    token: str
    page: list[dict[str, Any]] = field(default_factory=list)  # the last queue page: id, status, own


@dataclass
class Actor:
    liaisons: list[Liaison]
    offices: list[Office]


async def school_offices(url: str, schools: Sequence[int], per_school: int) -> list[Office]:
    """A school-office user and token per school, and students of the school who have no case."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """SELECT s.id, s.school_id FROM student s WHERE s.school_id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM dropout_case c WHERE c.student_id = s.id) ORDER BY s.id""",
            list(schools),
        )
    finally:
        await conn.close()
    free: dict[int, list[int]] = {}
    for r in rows:
        if len(free.setdefault(r["school_id"], [])) < per_school:
            free[r["school_id"]].append(r["id"])
    made = await tokens(url, schools, "SCHOOL_OFFICE", "压测教务处")
    return [Office(unit_id, token, free.get(unit_id, [])) for unit_id, token in made.items()]


async def set_county_day(url: str, day: date) -> None:
    """The clock every process follows under CLOCK_SOURCE=database, as `manage tick --as-of` sets it."""
    from models import clock
    from models.db import connected

    async with connected(url):
        await clock.set_shared(clock.parse_moment(day.isoformat()))


def actors(callers: Sequence[Caller], offices: Sequence[Office], clients: int) -> list[Actor]:
    from api.ids import global_id

    liaisons = [Liaison(c.unit_id, global_id("Unit", c.unit_id), c.token) for c in callers]
    return [Actor(liaisons[i::clients], list(offices[i::clients])) for i in range(clients)]


# ---------------------------------------------------------------- what happened


@dataclass
class Outcome:
    at: float  # seconds since the load started
    operation: str
    ms: float
    problem: str | None = None  # None: success
    code: str | None = None  # the error's code, if it had one


@dataclass
class Ledger:
    started: float = field(default_factory=time.perf_counter)
    outcomes: list[Outcome] = field(default_factory=list)
    cases: list[int] = field(default_factory=list)

    def note(self, operation: str, t0: float, problem: str | None = None, code: str | None = None) -> None:
        now = time.perf_counter()
        self.outcomes.append(Outcome(t0 - self.started, operation, (now - t0) * 1000, problem, code))

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.problem is not None]

    def stats(self, operation: str) -> Stats:
        return Stats.of([o.ms for o in self.outcomes if o.operation == operation and o.problem is None])

    def count(self, operation: str) -> int:
        return sum(1 for o in self.outcomes if o.operation == operation)


def problem_of(answer: Answer, payload: str | None = None) -> tuple[str | None, str | None, dict[str, Any]]:
    """(problem, code, data): a non-200, a top-level error or a userError is a problem; each keeps its code."""
    try:
        body = answer.json()
    except orjson.JSONDecodeError:
        return f"HTTP {answer.status}, not JSON: {answer.body[:120]!r}", None, {}
    errors = body.get("errors") or []
    if errors:
        code = (errors[0].get("extensions") or {}).get("code")  # type: ignore[union-attr]
        return f"HTTP {answer.status}: {errors[0].get('message')}"[:200], code, {}  # type: ignore[union-attr]
    if answer.status != 200:
        return f"HTTP {answer.status}", None, {}
    data = body.get("data") or {}
    if payload is not None:
        user_errors = (data.get(payload) or {}).get("userErrors") or []  # type: ignore[union-attr]
        if user_errors:
            return f"userError: {user_errors[0]['message']}"[:200], user_errors[0]["code"], data  # type: ignore[index]
    return None, None, data  # type: ignore[return-value]


# ---------------------------------------------------------------- the clients


def page_task(node: dict[str, Any], unit_gid: str) -> dict[str, Any]:
    return {"id": node["id"], "status": node["status"], "own": node["assigneeUnit"]["id"] == unit_gid}


class Client:
    def __init__(self, server: Server, actor: Actor, ledger: Ledger, day: date, seed: int) -> None:
        self.conn = Connection(server.host, server.port, timeout=30)
        self.actor, self.ledger, self.day = actor, ledger, day
        self.rng = random.Random(seed)

    async def call(
        self, operation: str, token: str, query: str, variables: dict[str, Any], payload: str | None = None
    ) -> dict[str, Any] | None:
        body = orjson.dumps({"query": query, "variables": variables})
        t0 = time.perf_counter()
        try:
            answer = await self.conn.post("/graphql", body, [("Authorization", f"Bearer {token}")])
        except HttpError as exc:
            self.ledger.note(operation, t0, str(exc))
            return None
        problem, code, data = problem_of(answer, payload)
        self.ledger.note(operation, t0, problem, code)
        return None if problem else data

    async def read(self, liaison: Liaison) -> None:
        data = await self.call("read", liaison.token, READ, {})
        if data is not None:
            edges = data["viewer"]["taskQueue"]["edges"]
            liaison.page = [page_task(e["node"], liaison.unit_gid) for e in edges]

    async def update(self, liaison: Liaison) -> None:
        if not liaison.page:
            await self.read(liaison)
            if not liaison.page:
                return
        task = self.rng.choice(liaison.page)
        if not task["own"] or self.rng.random() < 0.4:
            await self.call("update", liaison.token, COMMENT, {"id": task["id"]}, "taskComment")
        elif task["status"] == "OPEN":
            if await self.call("update", liaison.token, START, {"id": task["id"]}, "taskStart") is not None:
                task["status"] = "IN_PROGRESS"
        elif await self.call("update", liaison.token, COMPLETE, {"id": task["id"]}, "taskComplete") is not None:
            liaison.page.remove(task)

    async def absence(self) -> None:
        from api.ids import global_id

        offices = [o for o in self.actor.offices if o.students]
        if not offices:
            return
        office = self.rng.choice(offices)
        student = office.students.pop()
        variables = {"id": global_id("Student", student), "day": self.day.isoformat()}
        data = await self.call("absence", office.token, ABSENCE, variables, "absenceRecord")
        if data is not None:
            from api.ids import parse_global_id

            self.ledger.cases.append(parse_global_id(data["absenceRecord"]["case"]["id"], "Case")[1])

    async def run(self, deadline: float) -> None:
        try:
            while time.perf_counter() < deadline:
                operation = self.rng.choices(OPERATIONS, WEIGHTS)[0]
                if operation == "absence" and self.actor.offices:
                    await self.absence()
                elif operation == "update":
                    await self.update(self.rng.choice(self.actor.liaisons))
                else:
                    await self.read(self.rng.choice(self.actor.liaisons))
        finally:
            await self.conn.close()


async def mixed_load(server: Server, teams: Sequence[Actor], day: date, seconds: float, ledger: Ledger) -> None:
    deadline = time.perf_counter() + seconds
    clients = [Client(server, actor, ledger, day, seed=20260903 + n) for n, actor in enumerate(teams)]
    await asyncio.gather(*(c.run(deadline) for c in clients))


# ---------------------------------------------------------------- the counts afterwards


async def pending_events(url: str, up_to: int | None = None) -> int:
    conn = await asyncpg.connect(url)
    try:
        if up_to is None:
            return int(await conn.fetchval("SELECT count(*) FROM outbox_event WHERE processed_at IS NULL"))
        return int(
            await conn.fetchval("SELECT count(*) FROM outbox_event WHERE processed_at IS NULL AND id <= $1", up_to)
        )
    finally:
        await conn.close()


async def drained(url: str, timeout_s: float, up_to: int | None = None) -> float | None:
    """Seconds until no outbox event (up to id `up_to`) waits, or None after the timeout."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if await pending_events(url, up_to) == 0:
                return time.perf_counter() - t0
        await asyncio.sleep(0.25)
    return None


@dataclass(frozen=True)
class Counts:
    events: int
    pending: int
    failed_attempts: int
    new_cases: int
    without_day1: int
    duplicate_keys: int
    duplicate_steps: int
    absences: int


async def count_after(url: str, cases_before: int, events_before: int) -> Counts:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            f"""SELECT
              (SELECT count(*) FROM outbox_event WHERE id > $2) AS events,
              (SELECT count(*) FROM outbox_event WHERE id > $2 AND processed_at IS NULL) AS pending,
              (SELECT count(*) FROM outbox_event WHERE id > $2 AND attempts > 0) AS failed_attempts,
              (SELECT count(*) FROM dropout_case WHERE id > $1) AS new_cases,
              (SELECT count(*) FROM dropout_case c WHERE c.id > $1 AND NOT EXISTS (
                  SELECT 1 FROM task t WHERE t.unique_key = 'case:' || c.id || ':' || c.episode || ':{DAY1_STEP}'))
                AS without_day1,
              (SELECT count(*) FROM (SELECT unique_key FROM task WHERE unique_key IS NOT NULL
                  GROUP BY unique_key HAVING count(*) > 1) d) AS duplicate_keys,
              (SELECT count(*) FROM (SELECT t.case_id, t.title FROM task t WHERE t.case_id > $1
                  GROUP BY t.case_id, t.title HAVING count(*) > 1) d) AS duplicate_steps,
              (SELECT count(*) FROM absence a WHERE a.case_id > $1) AS absences""",
            cases_before,
            events_before,
        )
    finally:
        await conn.close()
    return Counts(**dict(row))


# ---------------------------------------------------------------- faults


@dataclass
class FaultWindow:
    name: str
    injected_at: float  # seconds since the load started
    back_at: float  # the service answered again
    command_s: float


def run_command(command: Sequence[str], timeout_s: float = 60) -> float:
    t0 = time.perf_counter()
    subprocess.run(list(command), check=True, timeout=timeout_s, capture_output=True)
    return time.perf_counter() - t0


# The machine's own commands. PostgreSQL and Redis are shared with other work on this machine: one short outage each.
PG_RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]
REDIS_STOP = ["redis-cli", "shutdown", "nosave"]
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
               "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"]  # fmt: skip


async def restart_postgres(ledger: Ledger) -> FaultWindow:
    t0 = time.perf_counter() - ledger.started
    seconds = await asyncio.to_thread(run_command, PG_RESTART)
    return FaultWindow("PostgreSQL restart", t0, time.perf_counter() - ledger.started, seconds)


async def restart_redis(ledger: Ledger, down_s: float) -> FaultWindow:
    """Redis shut down without saving, `down_s` seconds without it, then started again."""
    t0 = time.perf_counter() - ledger.started
    with contextlib.suppress(subprocess.CalledProcessError):
        await asyncio.to_thread(run_command, REDIS_STOP)
    await asyncio.sleep(down_s)
    seconds = await asyncio.to_thread(run_command, REDIS_START)
    return FaultWindow("Redis restart", t0, time.perf_counter() - ledger.started, seconds)


@dataclass(frozen=True)
class Recovery:
    """What the clients saw from a fault: errors, their codes, and when answers were good again."""

    fault: str
    injected_at: float
    errors: int
    uncoded: int
    codes: dict[str, int]
    slowest_ms: float
    recovered_s: float | None  # from the fault to the first good answer after the last error


def recovery(ledger: Ledger, window: FaultWindow, until: float) -> Recovery:
    seen = [o for o in ledger.outcomes if window.injected_at <= o.at + o.ms / 1000 and o.at < until]
    bad = [o for o in seen if o.problem is not None]
    codes: dict[str, int] = {}
    for o in bad:
        codes[o.code or "none"] = codes.get(o.code or "none", 0) + 1
    last_bad = max((o.at for o in bad), default=window.injected_at)
    good_after = [o.at + o.ms / 1000 for o in seen if o.problem is None and o.at > last_bad]
    recovered = min(good_after) - window.injected_at if good_after else None
    slowest = max((o.ms for o in seen), default=0.0)
    return Recovery(window.name, window.injected_at, len(bad), codes.get("none", 0), codes, slowest, recovered)
