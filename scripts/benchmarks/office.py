"""The leading-group office's benchmark (issue 12): the county overview over a school year with 200,000
tasks and 20,000 cases, and (with --province) the plan's targets over a province of 1,000,000 pupils.

1. A fresh PostgreSQL database, migrated, with the Hutubi policy; 2,000 units (the queue benchmark's), then
   by COPY 200,000 tasks due over the school year 2026-2027 (done on time or late, open, overdue and
   escalated, cancelled; a third for the duties of the register, 60,000 ladder steps of 20,000 cases
   with their pupils and households).
2. The overview's figures as the API computes them, in process (the same SQL statements, no HTTP): timed.
3. The same figures through GraphQL over HTTP against the real server (uvicorn, one worker): one
   keep-alive client, median and p99.
4. --province: the crosscheck benchmark's county seeding (scripts/benchmarks/crosscheck.py) at
   1,000,000 pupils and 1,200,000 residents, then `targets` for the school year, in process and over HTTP.

Writes docs/benchmark-office.md.

    ./scripts/bench office [--tasks 200000] [--cases 20000] [--province] [--pupils 1000000]

Needs PostgreSQL (BENCH_POSTGRES_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres) and Redis
(BENCH_REDIS_URL, default redis://127.0.0.1:6379/15) for the server's job nudges. Goals: overview < 300 ms
median over HTTP; the province's targets < 2 s.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import orjson
import typer

from config import ROOT
from scripts.benchmarks.crosscheck import seed as seed_county
from scripts.benchmarks.harness.database import (
    ADMIN_URL,
    count_rows,
    database_url,
    drop_database,
    migrate_and_load_policy,
    recreate_database,
)
from scripts.benchmarks.harness.http import Answer, Stats, Target, graphql_check, one_client
from scripts.benchmarks.harness.people import unit_tokens
from scripts.benchmarks.harness.report import machine, say
from scripts.benchmarks.harness.seeding import UNIT_COLUMNS, Copier, SeedPlan, unit_rows
from scripts.benchmarks.harness.servers import running_server

DOC = ROOT / "docs" / "benchmark-office.md"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SCHOOL_YEAR = ("2026-08-01", "2027-07-31")
OVERVIEW = """query Overview($from: Date!, $to: Date!) { owing(from: $from, to: $to) {
  totals { total open dueSoon overdue escalated doneOnTime doneLate medianHoursToClose shareDoneByDeadline }
  trend { month figures { total overdue doneOnTime doneLate } }
  units { unit { code name } figures { total open dueSoon overdue escalated doneOnTime doneLate
    medianHoursToClose shareDoneByDeadline } }
  duties { clause owingUnits doneUnits taskCount doneTaskCount }
  cases { totals { active open opened closed } byKind { kind active opened closed }
    byTownship { township { name } active open } byStage { stage active }
    steps { rule { code } expectation count done withinExpectation overdue medianHours slowestHours }
    trend { month opened closed } }
} }"""
TARGETS = """query Targets($year: String) { targets(schoolYear: $year) { asOf county { code numerator denominator
  value met } townships { township { name } figures { code numerator denominator value met } } } }"""
SEED = 20260901
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


# ---------------------------------------------------------------- seeding the school year's work


async def seed_work(url: str, tasks: int, cases: int, unit_count: int = 2000) -> dict[str, int]:
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    counts: dict[str, int] = {}
    try:
        c = Copier(conn)
        plan = SeedPlan(units=unit_count, tasks=tasks)
        county = await conn.fetchval("SELECT id FROM unit WHERE code = 'county-gov'")
        units = unit_rows(plan, await c.next_id("unit"), county)
        counts["units"] = await c.copy("unit", [dict(zip(UNIT_COLUMNS, row, strict=True)) for row in units])
        townships = [r[0] for r in units if r[3] == "TOWNSHIP"]
        schools = [r[0] for r in units if r[3] == "SCHOOL"]
        township_of = {r[0]: r[7] for r in units}
        unit_ids = [r[0] for r in units]
        duty_ids = [r["id"] for r in await conn.fetch("SELECT id FROM duty ORDER BY id")]
        steps = [
            (r["id"], orjson.loads(r["spec"]) if isinstance(r["spec"], str) else r["spec"])
            for r in await conn.fetch("SELECT id, spec FROM rule WHERE kind = 'LADDER_STEP' ORDER BY position")
        ]

        households, students, case_rows = [], [], []
        household_id = await c.next_id("household")
        student_id = await c.next_id("student")
        case_id = await c.next_id("dropout_case")
        kinds = ["ABSENT_WITHOUT_REASON"] * 7 + ["NOT_ENROLLED_GRADE1", "GRADE7_NOT_REPORTED", "HIGH_SCHOOL_DROPOUT"]
        stages = ["HEAD_TEACHER", "SCHOOL_VISIT", "COLLECTIVE_VISIT", "REPORT_DUE", "REPORTED", "RETURNED"]
        start = datetime(2026, 8, 1, tzinfo=UTC)
        for n in range(cases):
            school = rng.choice(schools)
            township = township_of[school]
            born = date(2012, 1, 1) + timedelta(days=rng.randrange(2000))
            households.append(
                {"id": household_id, "township_id": township, "village_id": None, "village_group_id": None,
                 "household_number": f"O{household_id:08d}", "head_name": "户主", "registration_place": "",
                 "home_address": "", "family_situation": "", "created_at": now}
            )  # fmt: skip
            students.append(
                {"id": student_id, "name": f"学生{n}", "gender": "MALE", "birth_date": born,
                 "citizen_id": f"B{n:017d}", "student_number": None, "school_id": school, "grade": 5,
                 "class_name": "1班", "head_teacher_id": None, "head_teacher_name": "", "household_id": household_id,
                 "is_demo": False, "created_at": now, "roll_status": "ENROLLED"}
            )  # fmt: skip
            opened = start + timedelta(days=rng.randrange(max(1, (now - start).days)), hours=rng.randrange(10))
            closed = opened + timedelta(days=rng.randint(1, 40)) if rng.random() < 0.6 else None
            closed = closed if closed and closed < now else None
            case_rows.append(
                {"id": case_id, "student_id": student_id, "kind": rng.choice(kinds),
                 "status": "CLOSED" if closed else "OPEN",
                 "stage": "RETURNED" if closed else rng.choice(stages[:-1]),
                 "open_key": None if closed else f"{student_id}:bench", "episode": 1, "school_id": school,
                 "township_id": township, "absent_since": opened.date(), "escalation_level": 0,
                 "opened_at": opened, "closed_at": closed, "version": 1}
            )  # fmt: skip
            household_id, student_id, case_id = household_id + 1, student_id + 1, case_id + 1
        counts["households"] = await c.copy("household", households)
        counts["pupils"] = await c.copy("student", students)
        counts["cases"] = await c.copy("dropout_case", case_rows)

        first, last = date.fromisoformat(SCHOOL_YEAR[0]), date.fromisoformat(SCHOOL_YEAR[1])
        span = (last - first).days
        task_id = await c.next_id("task")
        rows: list[dict[str, Any]] = []
        step_tasks = min(tasks // 3, cases * 3)
        for n in range(tasks):
            case = case_rows[n % len(case_rows)] if n < step_tasks else None
            if case is not None:
                rule_id, spec = steps[(n // len(case_rows)) % len(steps)]
                created = case["opened_at"] + timedelta(hours=rng.randint(0, 72))
                due = created + timedelta(days=int(spec.get("due", 0)))
                due = datetime(due.year, due.month, due.day, 15, 59, 59, tzinfo=UTC)
                unit = case["school_id"]
            else:
                rule_id = None
                day = first + timedelta(days=rng.randrange(span))
                due = datetime(day.year, day.month, day.day, 15, 59, 59, tzinfo=UTC)  # 23:59:59 county time
                created = due - timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 23))
                unit = rng.choice(unit_ids)
            past = due < now
            roll = rng.random()
            if past:
                status = "DONE" if roll < 0.75 else "OPEN" if roll < 0.95 else "CANCELLED"
            else:
                status = "OPEN" if roll < 0.8 else "DONE" if roll < 0.95 else "CANCELLED"
            completed = None
            if status == "DONE":
                late = past and rng.random() < 0.2
                completed = (
                    due + timedelta(hours=rng.randint(1, 240))
                    if late
                    else due - timedelta(hours=rng.randint(1, max(1, int((due - created).total_seconds() // 3600))))
                )
                completed = max(completed, created + timedelta(minutes=5))
                completed = min(completed, now)
            escalation = (2 if rng.random() < 0.5 else 1) if status == "OPEN" and past else 0
            duty = rng.choice(duty_ids) if case is None and rng.random() < 0.3 else None
            rows.append(
                {"id": task_id, "title": f"任务{task_id}", "description": "",
                 "kind": "CASE_STEP" if case else ("DUTY" if duty else "MANUAL"), "status": status, "due_at": due,
                 "outcome": "已办结" if status == "DONE" else None, "unique_key": None, "version": 1,
                 "created_at": created, "updated_at": completed or created, "completed_at": completed,
                 "assignee_id": None, "assignee_unit_id": unit, "duty_id": duty, "escalation_level": escalation,
                 "case_id": case["id"] if case else None, "rule_id": rule_id}
            )  # fmt: skip
            task_id += 1
            if len(rows) == 20_000:
                counts["tasks"] = counts.get("tasks", 0) + await c.copy("task", rows)
                rows = []
        counts["tasks"] = counts.get("tasks", 0) + await c.copy("task", rows)
        counts["townships"] = len(townships)
        await conn.execute("VACUUM (ANALYZE) unit, task, dropout_case, student, household")
    finally:
        await conn.close()
    return counts


# ---------------------------------------------------------------- measuring


async def timed(work: Callable[[], Awaitable[Any]], iterations: int, warmup: int = 2) -> Stats:
    for _ in range(warmup):
        await work()
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - t0) * 1000)
    return Stats.of(samples)


async def in_process_overview(url: str, iterations: int) -> tuple[Stats, dict[str, Stats]]:
    """The overview's statements, called as the API calls them (tasks/office/owing.py), without HTTP."""
    from models.db import connected
    from tasks.office import owing

    period = owing.Period(date.fromisoformat(SCHOOL_YEAR[0]), date.fromisoformat(SCHOOL_YEAR[1]))
    scope = owing.Scope(None, None, None)
    parts: dict[str, Callable[[], Awaitable[Any]]] = {
        "tasks: per unit, totals, months, duties (3 statements side by side)": (
            lambda: owing.task_summary(period, scope)
        ),
        "cases by kind, stage, township": lambda: owing.case_counts(period, scope),
        "ladder steps (counts + medians)": lambda: owing.step_figures(period, scope),
        "cases by month": lambda: owing.case_trend(period, scope),
    }

    async def everything() -> None:  # as the API runs sibling fields: side by side
        await asyncio.gather(*(work() for work in parts.values()))

    async with connected(url):
        each = {name: await timed(work, max(5, iterations // 3)) for name, work in parts.items()}
        whole = await timed(everything, iterations)
    return whole, each


async def bare_scan(url: str) -> Stats:
    """How busy the machine is: the time of the cheapest full look at the task table."""
    conn = await asyncpg.connect(url)
    try:
        return await timed(lambda: conn.fetchval("SELECT count(*) FROM task"), 15)
    finally:
        await conn.close()


async def office_token(url: str) -> str:
    return (await unit_tokens(url, "leading-group-office", "OFFICE", ["压测办公室"]))[0]


async def over_http(url: str, token: str, query: str, variables: dict[str, Any], iterations: int) -> tuple[Stats, int]:
    """One keep-alive client against the real server, after 3 unmeasured requests; every answer checked."""
    body = orjson.dumps({"query": query, "variables": variables})
    headers = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]
    check = graphql_check()
    sizes: list[int] = []

    def noted(answer: Answer) -> str | None:
        sizes.append(len(answer.body))
        return check(answer)

    with running_server(url, REDIS_URL) as server:
        target = Target("ours", server.host, server.port, lambda _: (("/graphql", body, headers), noted))
        run = await one_client(target, iterations, 3, timeout_s=120.0)
    if run.errors:
        raise RuntimeError(run.first_error)
    return run.stats, sizes[-1]


async def in_process_targets(url: str, iterations: int) -> Stats:
    from models.db import connected
    from tasks.office import targets

    async with connected(url):
        day = targets.as_of_for("2026-2027", None)
        return await timed(lambda: targets.target_figures(day), iterations, warmup=1)


# ---------------------------------------------------------------- the report


def ms(value: float) -> str:
    return f"{value:,.1f} ms"


def machine_line() -> str:
    m = machine()
    return f"{m['os']}, {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}"


def write_doc(sections: list[str]) -> None:
    DOC.write_text("\n".join(["# The leading-group office's benchmark", "", *sections]) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Options:
    tasks: int
    cases: int
    iterations: int
    units: int
    province: bool
    pupils: int
    keep: bool
    seed_only: bool
    reuse: bool
    append: bool
    province_only: bool
    database: str


async def province(args: Options, sections: list[str]) -> None:
    pname = f"{args.database}_province"
    purl = database_url(ADMIN_URL, pname)
    if args.reuse:  # the province database a --keep run left
        pcounts = await count_rows(purl, {"residents": "resident", "pupils": "student", "households": "household"})
        pseeded = 0.0
    else:
        say(f"fresh database {pname}; {args.pupils:,} pupils ...")
        await recreate_database(ADMIN_URL, pname)
        await migrate_and_load_policy(purl)
        t0 = time.perf_counter()
        pcounts = await seed_county(purl, int(args.pupils * 1.2), args.pupils)
        pseeded = time.perf_counter() - t0
    say(f"seeded in {pseeded:.1f} s: {pcounts}")
    inproc = await in_process_targets(purl, 5)
    say(f"targets in process: median {ms(inproc.median)}")
    ptoken = await office_token(purl)
    phttp, psize = await over_http(purl, ptoken, TARGETS, {"year": "2026-2027"}, 5)
    say(f"targets over HTTP: median {ms(phttp.median)}")
    pmet = "met" if phttp.median < 2000 else "NOT met"
    sections.extend(
        [
            "",
            "## The province's targets",
            "",
            f"Seeded in {pseeded:.0f} s by the cross-check benchmark's county seeding: "
            f"{pcounts.get('residents', 0):,} residents, {pcounts.get('pupils', 0):,} pupils "
            f'({pcounts.get("households", 0):,} households, 7 townships). `targets(schoolYear: "2026-2027")`: '
            "five targets per township and for the county.",
            "",
            "| measured | median | p99 |",
            "|---|---|---|",
            f"| the targets' SQL, in process (4 statements) | {ms(inproc.median)} | {ms(inproc.p99)} |",
            f"| **GraphQL over HTTP** ({psize:,} bytes) | **{ms(phttp.median)}** | {ms(phttp.p99)} |",
            "",
            f"Goal: under 2 s — **{pmet}**.",
        ]
    )
    write_doc(sections)
    if not args.keep:
        await drop_database(ADMIN_URL, pname)


async def run(args: Options) -> None:
    name = args.database
    url = database_url(ADMIN_URL, name)
    sections: list[str] = []
    if args.province_only:
        sections = DOC.read_text(encoding="utf-8").splitlines()[2:] if DOC.exists() else []
        await province(args, sections)
        return
    if args.reuse:
        counts = await count_rows(url, {"units": "unit", "townships": "unit WHERE kind = 'TOWNSHIP'", "tasks": "task",
                                        "cases": "dropout_case", "pupils": "student"})  # fmt: skip
        seeded = 0.0
    else:
        say(f"fresh database {name}; migrations and the policy ...")
        await recreate_database(ADMIN_URL, name)
        await migrate_and_load_policy(url)
        t0 = time.perf_counter()
        counts = await seed_work(url, args.tasks, args.cases, args.units)
        seeded = time.perf_counter() - t0
    say(f"seeded in {seeded:.1f} s: {counts}")
    if args.seed_only:
        return
    calibration = await bare_scan(url)
    say(f"a bare count(*) of the task table: median {ms(calibration.median)}")
    whole, each = await in_process_overview(url, args.iterations)
    say(f"overview in process: median {ms(whole.median)}, p99 {ms(whole.p99)}")
    token = await office_token(url)
    variables = {"from": SCHOOL_YEAR[0], "to": SCHOOL_YEAR[1]}
    http, size = await over_http(url, token, OVERVIEW, variables, args.iterations)
    say(f"overview over HTTP: median {ms(http.median)}, p99 {ms(http.p99)} ({size:,} bytes)")
    met = "met" if http.median < 300 else "NOT met"
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine_line()}; "
        "PostgreSQL and the server on the same machine",
        "(2 cores shared with other work: the figures are an upper bound).",
        "",
        f"`./scripts/bench office --units {args.units} --tasks {args.tasks} --cases {args.cases}"
        f"{' --province --pupils ' + str(args.pupils) if args.province else ''}`",
        "",
        f"## The county overview over a school year ({counts['units']:,} units)",
        "",
        (f"Seeded by COPY in {seeded:.1f} s: " if not args.reuse else "Seeded by COPY (an earlier --seed-only run): ")
        + f"{counts['units']:,} units ({counts['townships']} townships), "
        f"{counts['tasks']:,} tasks due from {SCHOOL_YEAR[0]} to {SCHOOL_YEAR[1]} (a third ladder steps of "
        f"{counts['cases']:,} cases, 30% of the rest duties of the register), {counts['pupils']:,} pupils.",
        "",
        'The query: `owing(from: "2026-08-01", to: "2027-07-31")` with every figure (per unit for 2,000',
        "units, totals, trend, duties, cases by kind/stage/township, ladder steps with medians, cases by month).",
        "",
        "| measured | median | p90 | p99 |",
        "|---|---|---|---|",
        "| the overview's SQL, in process (8 statements, side by side as the API runs them) | "
        f"{ms(whole.median)} | {ms(whole.p90)} | "
        f"{ms(whole.p99)} |",
        f"| **GraphQL over HTTP** (one keep-alive client, {size:,} bytes) | **{ms(http.median)}** | {ms(http.p90)} | "
        f"{ms(http.p99)} |",
        "",
        f"Goal: under 300 ms median over HTTP — **{met}**. GraphQL/SQL: {http.median / whole.median:.2f}×.",
        "",
        f"How busy the machine was: a bare `SELECT count(*) FROM task` took {ms(calibration.median)} (median of 15)",
        f"during the run; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "Each part in process:",
        "",
        "| part | median | p99 |",
        "|---|---|---|",
        *(f"| {part} | {ms(s.median)} | {ms(s.p99)} |" for part, s in each.items()),
    ]
    sections.extend(lines)
    if DOC.exists() and args.append:
        sections = [*DOC.read_text(encoding="utf-8").splitlines()[2:], "", "---", "", *sections]
    write_doc(sections)
    if args.province:
        await province(args, sections)
    if not args.keep:
        await drop_database(ADMIN_URL, name)
    say(f"written {DOC.relative_to(ROOT)}")


def flag(name: str, text: str) -> Any:
    return typer.Option(f"--{name}", help=text)


@app.command()
def main(
    tasks: int = 200_000,
    cases: int = 20_000,
    iterations: int = 30,
    units: Annotated[int, typer.Option(help="units seeded (a twentieth are townships)")] = 2000,
    province: Annotated[bool, flag("province", "also the targets over --pupils pupils")] = False,
    pupils: int = 1_000_000,
    keep: Annotated[bool, flag("keep", "keep the databases")] = False,
    seed_only: Annotated[bool, flag("seed-only", "seed the overview's database and stop (kept)")] = False,
    reuse: Annotated[bool, flag("reuse", "measure the database a --seed-only run left")] = False,
    append: Annotated[bool, flag("append", "add this run to docs/benchmark-office.md")] = False,
    province_only: Annotated[bool, flag("province-only", "only the province's targets (appended)")] = False,
    database: Annotated[str, typer.Option(help="the overview's database; the province's is <name>_province")] = (
        "kc_bench_office"
    ),
) -> None:
    """The county overview over a school year (and the province's targets); writes docs/benchmark-office.md."""
    options = Options(tasks, cases, iterations, units, province, pupils, keep, seed_only, reuse, append,
                      province_only, database)  # fmt: skip
    asyncio.run(run(options))


if __name__ == "__main__":
    app()
