"""Benchmark databases: created fresh beside the others on the PostgreSQL server, migrated, given the county's
policy, dropped afterwards."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence

import asyncpg

from scripts.benchmarks.harness.http import Stats

ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def database_url(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


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


async def recreate_database(admin_url: str, name: str) -> str:
    """A fresh, empty database `name`; returns its URL."""
    await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return database_url(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    await admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate_and_load_policy(url: str, *, demo: bool = False) -> None:
    """Our migrations and the county's policy file (its units, ladder and 2026-2027 calendar); with `demo`,
    the demo policy's units and people too."""
    from config import settings
    from models.db import apply_migrations, connected
    from tasks.policy.load import load_policy

    await apply_migrations(url)
    policy = settings().policy_file
    async with connected(url):
        await load_policy([policy, policy.with_name("hutubi-demo.yaml")] if demo else [policy])


async def fetchval(url: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def count_rows(url: str, tables: dict[str, str]) -> dict[str, int]:
    """`count(*)` of each table, by the name given to it."""
    conn = await asyncpg.connect(url)
    try:
        return {name: int(await conn.fetchval(f"SELECT count(*) FROM {table}")) for name, table in tables.items()}
    finally:
        await conn.close()


async def last_id(url: str, table: str) -> int:
    return int(await fetchval(url, f"SELECT coalesce(max(id), 0) FROM {table}"))  # type: ignore[arg-type]


async def time_statement(
    conn: asyncpg.Connection,
    sql: str,
    args: Callable[[int], Sequence[object]],
    iterations: int,
    warmup: int,
    problem: Callable[[int, list[asyncpg.Record]], str | None],
) -> Stats:
    """One prepared statement run `warmup` times, then timed `iterations` times with the i-th arguments; the
    rows of each timed run are vetted by `problem` (a problem stops the benchmark)."""
    statement = await conn.prepare(sql)
    for i in range(warmup):
        await statement.fetch(*args(i))
    samples: list[float] = []
    for i in range(iterations):
        t0 = time.perf_counter()
        rows = await statement.fetch(*args(i))
        samples.append((time.perf_counter() - t0) * 1000)
        found = problem(i, rows)
        if found:
            raise RuntimeError(f"raw SQL: {found}")
    return Stats.of(samples)
