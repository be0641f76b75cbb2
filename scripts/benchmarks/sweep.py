"""The daily ladder sweep: `./scripts/bench sweep` seeds open suspected-dropout cases at two sizes (2,000 and
20,000) next to 200,000 tasks and times the daily ladder sweep (`tasks.machinery.jobs.ladder_sweep`) twice at each
size: the sweep that creates the steps fallen due, then a steady-state sweep that must create nothing. It
replaces only the "## Daily ladder sweep" section of docs/benchmark.md.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import orjson
import typer

from config import ROOT
from scripts.benchmarks.harness.database import database_url, drop_database, migrate_and_load_policy, recreate_database
from scripts.benchmarks.harness.report import command_line, machine, replace_section, say, verdict, with_postgres
from scripts.benchmarks.harness.seeding import (
    EVENT_COLUMNS,
    HOUSEHOLD_COLUMNS,
    TASK_COLUMNS,
    UNIT_COLUMNS,
    SeedPlan,
    columns,
    copy_tasks,
    next_id,
    reset_sequence,
    reset_sequences,
)
from scripts.benchmarks.harness.servers import own_cpu_seconds, postgres_cpu, postgres_cpu_since

if TYPE_CHECKING:
    from tasks.ladder.steps import Planned
    from tasks.policy.county import CountyPolicy
    from tasks.school_days import SchoolDays

DEFAULT_OUTPUT = ROOT / "docs" / "benchmark.md"
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

SWEEP_SECTION = "## Daily ladder sweep"
SWEEP_GOAL_S = 10.0
SWEEP_GOAL_CASES = 20_000
SWEEP_LINEAR_SLACK = 1.2  # "linear": per-case time at the larger size at most 20 % above the smaller size's
SWEEP_SIZES = (2_000, 20_000)
SWEEP_CHUNK = 5_000
STUDENT_COLUMNS = columns(
    "id name gender birth_date citizen_id student_number school_id grade class_name head_teacher_id "
    "head_teacher_name household_id is_demo created_at roll_status"
)
CASE_COLUMNS = columns(
    "id student_id kind status stage open_key episode school_id township_id absent_since escalation_level "
    "opened_at version"
)
CASE_EVENT_COLUMNS = ("case_id", "at", "actor_id", "action", "detail")
LADDER_TASK_COLUMNS = (*TASK_COLUMNS, "assignee_role", "case_id", "rule_id")
SWEEP_TABLES = ("unit", "household", "student", "dropout_case", "task", "task_cooperator", "task_event", "case_event")
SURNAMES = "王李张刘陈杨赵黄周吴马"
GIVEN_NAMES = ("子涵", "欣怡", "浩然", "梓萱", "宇轩", "雨桐", "俊杰", "诗涵", "阿依古丽", "买买提")


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
                (household_id, township_id, village_id, f"【压测】第{n}户", f"【压测】{n}号", "", opened_at, "")
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
                    "ENROLLED",
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
        await seed_other_tasks(conn, rng, units, task_id, plan.tasks - (task_id - first_task), counts)
        await reset_sequences(conn, SWEEP_TABLES)
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
    rng: random.Random,
    units: Sequence[tuple[Any, ...]],
    first: int,
    count: int,
    counts: dict[str, int],
) -> None:
    """Unrelated tasks (manual and duty) spread over the bench units, to fill the task table to plan.tasks."""

    def progress(tasks: int, cooperators: int, events: int) -> None:
        counts["other tasks"] += tasks
        counts["cooperators"] += cooperators
        counts["task events"] += events
        say(f"  other tasks  {counts['other tasks']:>9,} / {count:,}")

    await copy_tasks(conn, SeedPlan(units=len(units), tasks=count), rng, range(first, first + count), units, progress)


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


@app.command()
def main(
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
    command = command_line("sweep")
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
    replace_section(output, SWEEP_SECTION, sweep_markdown(report))
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
            await migrate_and_load_policy(url, demo=True)
            say(f"seeding {plan.cases:,} open cases and {plan.tasks:,} tasks with COPY")
            seed = await seed_sweep(url, plan)
            info = await with_postgres(url, machine())
            sizes.append(await measure_sweep(url, plan, seed))
        finally:
            if not (keep and last):
                await drop_database(admin_url, database)
                say(f"dropped database {database}")
    return SweepReport(started, command, info, sizes)


if __name__ == "__main__":
    app()
