"""Seeding a province with COPY, for scripts/bench_province.py.

Townships with villages, schools, students each with a household, open and closed
suspected-dropout cases with the ladder's first tasks, and unrelated tasks filling the task
table to the planned size. Rows are generated in Python in chunks and written with asyncpg's
binary COPY; foreign-key triggers are off while copying (the rows are made consistent here), and
the secondary indexes of the big tables are dropped first and rebuilt afterwards, as a bulk load
does. Then VACUUM ANALYZE.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

COUNTY_TZ = ZoneInfo("Asia/Shanghai")
CHUNK = 50_000
CODE_PREFIX = "prov-"
SURNAMES = "王李张刘陈杨赵黄周吴马孙胡朱高林何郭罗"
GIVEN = ("子涵", "欣怡", "浩然", "梓萱", "宇轩", "雨桐", "俊杰", "诗涵", "阿依古丽", "买买提", "古丽娜", "艾力")
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
# Unrelated tasks: most work is done; about a third is open, due from a week ago to two months ahead.
STATUS_WEIGHTS = {"OPEN": 25, "IN_PROGRESS": 10, "DONE": 55, "CANCELLED": 10}
CASE_STEPS = (  # (ladder step code, school days after the first absence, title, role, village cooperates)
    ("day1-head-teacher", 0, "第1天：班主任电话或上门随访{s}，填写劝学记录表，当日报告教务处", "HEAD_TEACHER", False),
    ("day2-register", 1, "第2天：教务处登记{s}缺勤，通知分管领导", "SCHOOL_OFFICE", False),
    ("day3-collective-visit", 2, "第3天：学校与村委会（社区）集体家访{s}", "PRINCIPAL", True),
)
BIG_TABLES = ("household", "student", "dropout_case", "absence", "task", "task_cooperator")

UNIT_COLUMNS = ("id", "code", "name", "kind", "school_level", "is_demo", "position", "parent_id")
HOUSEHOLD_COLUMNS = (
    "id",
    "township_id",
    "village_id",
    "registration_place",
    "home_address",
    "family_situation",
    "created_at",
    "head_name",
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
    "head_teacher_name",
    "household_id",
    "is_demo",
    "created_at",
    "roll_status",
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
    "returned_on",
    "opened_at",
    "closed_at",
    "version",
)
ABSENCE_COLUMNS = ("student_id", "case_id", "day", "note", "recorded_at")
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
    "assignee_unit_id",
    "assignee_role",
    "case_id",
    "escalation_level",
)

Say = Callable[[str], None]


@dataclass(frozen=True)
class ProvincePlan:
    """How big the province is. `scaled(0.1)` is the same province ten times smaller."""

    townships: int = 100
    villages_per_township: int = 10
    schools: int = 2_000
    students: int = 1_000_000
    open_cases: int = 20_000
    closed_cases: int = 80_000
    tasks: int = 2_000_000
    cooperating_share: float = 0.10
    day: date = date(2026, 9, 3)  # "today" of the data: the county day the mixed load runs on
    seed: int = 20260903

    def scaled(self, factor: float) -> ProvincePlan:
        def n(value: int) -> int:
            return max(1, round(value * factor))

        return ProvincePlan(
            townships=n(self.townships),
            villages_per_township=self.villages_per_township,
            schools=n(self.schools),
            students=n(self.students),
            open_cases=n(self.open_cases),
            closed_cases=n(self.closed_cases),
            tasks=n(self.tasks),
            cooperating_share=self.cooperating_share,
            day=self.day,
            seed=self.seed,
        )

    @property
    def villages(self) -> int:
        return self.townships * self.villages_per_township

    @property
    def case_tasks(self) -> int:
        return (self.open_cases + self.closed_cases) * len(CASE_STEPS)

    @property
    def other_tasks(self) -> int:
        return max(0, self.tasks - self.case_tasks)

    def describe(self) -> str:
        return (
            f"{self.townships:,} townships, {self.villages:,} villages, {self.schools:,} schools, "
            f"{self.students:,} students, {self.open_cases:,} open cases, {self.tasks:,} tasks"
        )


@dataclass(frozen=True)
class Units:
    """The bench units by kind; a school's township; a township's villages."""

    townships: list[int]
    villages: dict[int, list[int]]
    schools: list[int]
    school_township: dict[int, int]

    @property
    def all(self) -> list[int]:
        return [*self.townships, *(v for vs in self.villages.values() for v in vs), *self.schools]


@dataclass
class Counter:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + n


def local(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, dtime(hour), COUNTY_TZ)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, dtime(23, 59, 59), COUNTY_TZ)


def student_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


# ---------------------------------------------------------------- units


def unit_rows(plan: ProvincePlan, first_id: int, county_id: int | None) -> tuple[list[tuple[Any, ...]], Units]:
    rows: list[tuple[Any, ...]] = []
    townships = [first_id + i for i in range(plan.townships)]
    for i, unit_id in enumerate(townships, 1):
        rows.append((unit_id, f"{CODE_PREFIX}township-{i:04d}", f"【压测】第{i:04d}乡镇", "TOWNSHIP", None, True,
                     500_000 + i, county_id))  # fmt: skip
    next_id = first_id + plan.townships
    villages: dict[int, list[int]] = {}
    for t, township_id in enumerate(townships, 1):
        for v in range(1, plan.villages_per_township + 1):
            villages.setdefault(township_id, []).append(next_id)
            rows.append((next_id, f"{CODE_PREFIX}village-{t:04d}-{v:02d}", f"【压测】第{t:04d}乡镇第{v:02d}村",
                         "VILLAGE", None, True, 600_000 + t * 100 + v, township_id))  # fmt: skip
            next_id += 1
    schools: list[int] = []
    school_township: dict[int, int] = {}
    for s in range(1, plan.schools + 1):
        township_id = townships[(s - 1) % len(townships)]
        schools.append(next_id)
        school_township[next_id] = township_id
        rows.append((next_id, f"{CODE_PREFIX}school-{s:04d}", f"【压测】第{s:04d}小学", "SCHOOL", "NINE_YEAR", True,
                     800_000 + s, township_id))  # fmt: skip
        next_id += 1
    return rows, Units(townships, villages, schools, school_township)


# ---------------------------------------------------------------- students and households


def school_of(n: int, units: Units) -> int:
    """Student n goes to school n mod schools: open cases (students 0..k) spread over every school."""
    return units.schools[n % len(units.schools)]


def student_chunk(
    numbers: range, units: Units, first: dict[str, int], rng: random.Random, plan: ProvincePlan
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    households: list[tuple[Any, ...]] = []
    students: list[tuple[Any, ...]] = []
    created = local(plan.day - timedelta(days=400))
    for n in numbers:
        school_id = school_of(n, units)
        township_id = units.school_township[school_id]
        village_id = rng.choice(units.villages[township_id])
        household_id, student_id = first["household"] + n, first["student"] + n
        grade = 1 + n % 9
        households.append((household_id, township_id, village_id, f"【压测】{township_id}乡", f"【压测】{n}号", "",
                           created, ""))  # fmt: skip
        birth = date(plan.day.year - 6 - grade, 1 + n % 12, 1 + n % 28)
        students.append((student_id, student_name(n), "MALE" if n % 2 else "FEMALE", birth, f"652323{n:012d}",
                         f"PROV{n:012d}", school_id, grade, f"{1 + (n // 9) % 6}班", "压测班主任", household_id, True,
                         created, "ENROLLED"))  # fmt: skip
    return households, students


# ---------------------------------------------------------------- cases and their tasks


@dataclass
class CaseRows:
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    absences: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    cooperators: list[tuple[int, int]] = field(default_factory=list)


def case_row(
    case_id: int, n: int, units: Units, first: dict[str, int], absent_since: date, closed: bool
) -> tuple[Any, ...]:
    school_id = school_of(n, units)
    student_id = first["student"] + n
    opened = local(absent_since)
    returned = absent_since + timedelta(days=7) if closed else None
    return (
        case_id,
        student_id,
        "ABSENT_WITHOUT_REASON",
        "CLOSED" if closed else "OPEN",
        "RETURNED" if closed else "COLLECTIVE_VISIT",
        None if closed else f"{student_id}:ABSENT_WITHOUT_REASON",
        1,
        school_id,
        units.school_township[school_id],
        absent_since,
        0,
        returned,
        opened,
        local(returned, 17) if returned else None,
        4,
    )


def add_case_tasks(out: CaseRows, task_id: int, case: tuple[Any, ...], n: int, village_id: int, today: date) -> int:
    """The ladder's first three steps (keys as tasks.ladder.steps.task_key makes them); returns the next task id."""
    case_id, school_id, absent_since, closed = case[0], case[7], case[9], case[3] == "CLOSED"
    for step, offset, title, role, with_village in CASE_STEPS:
        due = absent_since + timedelta(days=offset)
        if closed or due < today - timedelta(days=3):
            status = "DONE"
        else:
            status = "IN_PROGRESS" if (n + offset) % 3 == 0 else "OPEN"
        done = status == "DONE"
        created = local(due, 6)
        out.tasks.append((task_id, title.format(s=student_name(n)), "", "CASE_STEP", status, end_of_day(due),
                          "已办结" if done else None, f"case:{case_id}:1:{step}", 3 if done else 1, created, created,
                          school_id, role, case_id, 0))  # fmt: skip
        if with_village:
            out.cooperators.append((task_id, village_id))
        task_id += 1
    return task_id


def case_chunk(
    numbers: range, units: Units, first: dict[str, int], task_id: int, plan: ProvincePlan, rng: random.Random
) -> tuple[CaseRows, int]:
    """Cases numbered `numbers`: the first plan.open_cases are open (students 0..), the rest closed."""
    out = CaseRows()
    for k in numbers:
        closed = k >= plan.open_cases
        if closed:  # last school year, any student
            n = rng.randrange(plan.students)
            absent_since = plan.day - timedelta(days=rng.randint(60, 300))
        else:  # one open case per student; absent since one of the last ten days
            n = k
            absent_since = plan.day - timedelta(days=(k // len(units.schools)) % 10)
        case = case_row(first["case"] + k, n, units, first, absent_since, closed)
        out.cases.append(case)
        if not closed:
            out.absences.append((case[1], case[0], absent_since, "未请假", local(absent_since, 10)))
        village_id = rng.choice(units.villages[units.school_township[case[7]]])
        task_id = add_case_tasks(out, task_id, case, n, village_id, plan.day)
    return out, task_id


# ---------------------------------------------------------------- unrelated tasks


def other_task_chunk(
    ids: range, unit_ids: Sequence[int], rng: random.Random, plan: ProvincePlan
) -> tuple[list[tuple[Any, ...]], list[tuple[int, int]]]:
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    tasks: list[tuple[Any, ...]] = []
    cooperators: list[tuple[int, int]] = []
    for task_id in ids:
        unit_id = unit_ids[task_id % len(unit_ids)]
        status = rng.choices(statuses, weights)[0]
        done = status in ("DONE", "CANCELLED")
        due = plan.day + timedelta(days=rng.randint(-120, 10) if done else rng.randint(-7, 60))
        created = local(due - timedelta(days=rng.randint(3, 30)), 8)
        outcome = "已办结" if status == "DONE" else None
        title = f"{rng.choice(TOPICS)}（{task_id}号）"
        tasks.append((task_id, title, "", "MANUAL", status, end_of_day(due), outcome, None, 3 if done else 1,
                      created, created, unit_id, None, None, 0))  # fmt: skip
        if rng.random() < plan.cooperating_share:
            partner = rng.choice(unit_ids)
            if partner != unit_id:
                cooperators.append((task_id, partner))
    return tasks, cooperators


# ---------------------------------------------------------------- the load


class Loader:
    """Binary COPY in chunks, with progress lines."""

    def __init__(self, conn: asyncpg.Connection, say: Say) -> None:
        self.conn, self.say, self.counter = conn, say, Counter()
        self.started = time.perf_counter()

    async def copy(self, table: str, rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> None:
        if rows:
            await self.conn.copy_records_to_table(table, records=rows, columns=columns)
            self.counter.add(table, len(rows))

    def progress(self, what: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.started
        self.say(f"  {what:<10} {done:>10,} / {total:,}   ({elapsed:6.1f} s)")


async def next_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))


async def reset_sequences(conn: asyncpg.Connection, tables: Sequence[str]) -> None:
    for table in tables:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
        )


async def drop_secondary_indexes(conn: asyncpg.Connection, tables: Sequence[str]) -> list[str]:
    """Drop the plain (not constraint) indexes of `tables`; returns their definitions to rebuild."""
    rows = await conn.fetch(
        """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
           FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
           WHERE t.relname = ANY($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        list(tables),
    )
    for row in rows:
        await conn.execute(f"DROP INDEX {row['name']}")
    return [row["definition"] for row in rows]


def chunks(total: int, size: int = CHUNK) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


async def seed_province(conn: asyncpg.Connection, plan: ProvincePlan, say: Say) -> dict[str, int]:
    """Everything of the plan, with COPY. The database must hold the county's policy already."""
    rng = random.Random(plan.seed)
    load = Loader(conn, say)
    await conn.execute("SET session_replication_role = replica")  # no FK triggers while copying
    indexes = await drop_secondary_indexes(conn, BIG_TABLES)
    county_id = await conn.fetchval("SELECT id FROM unit WHERE code = 'county-gov'")
    units_rows, units = unit_rows(plan, await next_id(conn, "unit"), county_id)
    await load.copy("unit", units_rows, UNIT_COLUMNS)
    say(f"  units      {len(units_rows):>10,}  ({plan.townships} townships, {plan.villages} villages, "
        f"{plan.schools} schools)")  # fmt: skip
    first = {t: await next_id(conn, t) for t in ("household", "student", "dropout_case", "task")}
    first["case"] = first["dropout_case"]
    for numbers in chunks(plan.students):
        households, students = student_chunk(numbers, units, first, rng, plan)
        await load.copy("household", households, HOUSEHOLD_COLUMNS)
        await load.copy("student", students, STUDENT_COLUMNS)
        load.progress("students", numbers.stop, plan.students)
    task_id = first["task"]
    total_cases = plan.open_cases + plan.closed_cases
    for numbers in chunks(total_cases, CHUNK // 4):
        rows, task_id = case_chunk(numbers, units, first, task_id, plan, rng)
        await load.copy("dropout_case", rows.cases, CASE_COLUMNS)
        await load.copy("absence", rows.absences, ABSENCE_COLUMNS)
        await load.copy("task", rows.tasks, TASK_COLUMNS)
        await load.copy("task_cooperator", rows.cooperators, ("task_id", "unit_id"))
        load.progress("cases", numbers.stop, total_cases)
    await seed_other_tasks(load, units, task_id, plan, rng)
    await conn.execute("RESET session_replication_role")
    await rebuild(conn, indexes, say)
    return {"units": len(units_rows), **load.counter.counts}


async def seed_other_tasks(load: Loader, units: Units, first_id: int, plan: ProvincePlan, rng: random.Random) -> None:
    unit_ids = units.all
    for numbers in chunks(plan.other_tasks):
        ids = range(first_id + numbers.start, first_id + numbers.stop)
        tasks, cooperators = other_task_chunk(ids, unit_ids, rng, plan)
        await load.copy("task", tasks, TASK_COLUMNS)
        await load.copy("task_cooperator", cooperators, ("task_id", "unit_id"))
        load.progress("tasks", numbers.stop + plan.case_tasks, plan.tasks)


async def rebuild(conn: asyncpg.Connection, indexes: Sequence[str], say: Say) -> None:
    t0 = time.perf_counter()
    await conn.execute("SET maintenance_work_mem = '512MB'")
    for definition in indexes:
        await conn.execute(definition)
    await reset_sequences(conn, ("unit", *BIG_TABLES))
    say(f"  rebuilt {len(indexes)} indexes in {time.perf_counter() - t0:.1f} s; VACUUM ANALYZE")
    await conn.execute("VACUUM (ANALYZE)")


async def data_size(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        f"""SELECT (SELECT count(*) FROM unit WHERE code LIKE '{CODE_PREFIX}township-%') AS townships,
                  (SELECT count(*) FROM unit WHERE code LIKE '{CODE_PREFIX}school-%') AS schools,
                  (SELECT count(*) FROM unit) AS units,
                  (SELECT count(*) FROM student) AS students,
                  (SELECT count(*) FROM household) AS households,
                  (SELECT count(*) FROM dropout_case WHERE status = 'OPEN') AS open_cases,
                  (SELECT count(*) FROM dropout_case) AS cases,
                  (SELECT count(*) FROM task) AS tasks,
                  (SELECT count(*) FROM task WHERE case_id IS NOT NULL) AS case_tasks,
                  (SELECT count(*) FROM task WHERE status IN ('OPEN', 'IN_PROGRESS')) AS open_tasks,
                  (SELECT count(*) FROM task_cooperator) AS cooperators,
                  pg_database_size(current_database()) AS bytes"""
    )
    return dict(row)


# ---------------------------------------------------------------- databases


def database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def admin_execute(admin_url: str, *statements: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        for statement in statements:
            await admin.execute(statement)
    finally:
        await admin.close()


async def database_exists(admin_url: str, name: str) -> bool:
    admin = await asyncpg.connect(admin_url)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await admin.close()


async def recreate_database(admin_url: str, name: str) -> None:
    await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


async def drop_database(admin_url: str, name: str) -> None:
    await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate_and_load_policy(url: str) -> None:
    """Our migrations and the county's policy file (its units, ladder and 2026-2027 calendar), no demo data."""
    from config import settings
    from models.db import apply_migrations, connected
    from tasks.policy.load import load_policy

    await apply_migrations(url)
    async with connected(url):
        await load_policy([settings().policy_file])


async def is_seeded(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval("SELECT to_regclass('public.unit') IS NOT NULL")
        return bool(found and await conn.fetchval(f"SELECT count(*) FROM unit WHERE code LIKE '{CODE_PREFIX}%'"))
    finally:
        await conn.close()
