"""Bulk seeding with binary COPY: generic helpers (ids, sequences, indexes, chunks, progress) and the queue's
county (bench townships and schools with their tasks, cooperators and history), which the queue page, the
ladder sweep and the office's overview all seed.

Rows are generated in Python with explicit ids; each table's id sequence is moved past them afterwards.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

Say = Callable[[str], None]


def columns(names: str) -> tuple[str, ...]:
    """A table's columns in COPY order, written as one string."""
    return tuple(names.split())


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
UNIT_COLUMNS = ("id", "code", "name", "kind", "school_level", "is_demo", "position", "parent_id")
HOUSEHOLD_COLUMNS = columns(
    "id township_id village_id registration_place home_address family_situation created_at head_name"
)


# ---------------------------------------------------------------- generic helpers


async def next_id(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))


async def reset_sequence(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
    )


async def reset_sequences(conn: asyncpg.Connection, tables: Sequence[str]) -> None:
    for table in tables:
        await reset_sequence(conn, table)


class Copier:
    """COPY rows given as dicts (their keys are the columns) into a table, moving its id sequence past them."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def next_id(self, table: str) -> int:
        return await next_id(self.conn, table)

    async def copy(self, table: str, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        columns = list(rows[0])
        await self.conn.copy_records_to_table(
            table, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
        )
        await reset_sequence(self.conn, table)
        return len(rows)


@dataclass
class Loader:
    """Binary COPY of row tuples, counted per table, with progress lines."""

    conn: asyncpg.Connection
    say: Say
    counts: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    async def copy(self, table: str, rows: Sequence[tuple[Any, ...]], columns: Sequence[str]) -> None:
        if rows:
            await self.conn.copy_records_to_table(table, records=rows, columns=columns)
            self.counts[table] = self.counts.get(table, 0) + len(rows)

    def progress(self, what: str, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.started
        self.say(f"  {what:<10} {done:>10,} / {total:,}   ({elapsed:6.1f} s)")


def chunks(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


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


# ---------------------------------------------------------------- the queue's county


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


TASK_COLUMNS = columns(
    "id title description kind status due_at outcome unique_key version created_at updated_at assignee_id "
    "assignee_unit_id duty_id escalation_level"
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


async def copy_tasks(
    conn: asyncpg.Connection,
    plan: SeedPlan,
    rng: random.Random,
    ids: range,
    units: Sequence[tuple[Any, ...]],
    progress: Callable[[int, int, int], None],
    chunk: int = 20_000,
) -> None:
    """Tasks numbered `ids` over `units` (their rows), with cooperators and history, in chunks of COPY;
    `progress(tasks, cooperators, events)` after each chunk."""
    unit_ids = [row[0] for row in units]
    unit_codes = {row[0]: row[1] for row in units}
    duty_ids = [r["id"] for r in await conn.fetch("SELECT id FROM duty ORDER BY id")]
    now = datetime.now(UTC)
    for start in range(ids.start, ids.stop, chunk):
        part = range(start, min(start + chunk, ids.stop))
        tasks, cooperators, events = task_rows(plan, rng, part, unit_ids, unit_codes, duty_ids, now)
        async with conn.transaction():
            await conn.copy_records_to_table("task", records=tasks, columns=TASK_COLUMNS)
            await conn.copy_records_to_table("task_cooperator", records=cooperators, columns=("task_id", "unit_id"))
            if events:
                await conn.copy_records_to_table("task_event", records=events, columns=EVENT_COLUMNS)
        progress(len(tasks), len(cooperators), len(events))


async def seed_queue_county(conn: asyncpg.Connection, plan: SeedPlan, say: Say) -> dict[str, int]:
    """Bench townships and schools under the county government, tasks spread over them, with COPY."""
    rng = random.Random(plan.seed)
    county_id = await conn.fetchval("SELECT id FROM unit WHERE code = 'county-gov'")
    units = unit_rows(plan, await next_id(conn, "unit"), county_id)
    await conn.copy_records_to_table("unit", records=units, columns=UNIT_COLUMNS)
    await reset_sequence(conn, "unit")
    say(f"  units     {len(units):>9,}  ({plan.townships} townships, {plan.schools} schools)")
    totals = {"units": len(units), "tasks": 0, "cooperators": 0, "events": 0}
    started = time.perf_counter()

    def progress(tasks: int, cooperators: int, events: int) -> None:
        totals["tasks"] += tasks
        totals["cooperators"] += cooperators
        totals["events"] += events
        rate = totals["tasks"] / (time.perf_counter() - started)
        say(f"  tasks     {totals['tasks']:>9,} / {plan.tasks:,}  ({rate:,.0f} rows/s)")

    first = await next_id(conn, "task")
    await copy_tasks(conn, plan, rng, range(first, first + plan.tasks), units, progress)
    await reset_sequences(conn, ("task", "task_cooperator", "task_event"))
    say("  VACUUM ANALYZE (statistics and visibility map, as autovacuum would leave them)")
    await conn.execute("VACUUM (ANALYZE) unit, task, task_cooperator, task_event")
    return totals
