"""What scripts/bench_province.py measures on a seeded database: raw SQL, one client, rounds of 20.

Both servers are asked the same logical page by the same load client; every answer is checked
(HTTP 200, no errors, as many edges as the unit's page holds) and, once per unit, the task ids of
both pages are compared with the raw SQL's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from scripts.province_http import (
    Run,
    Server,
    Stats,
    Target,
    closed_loop,
    cpu_seconds,
    memory_sampler,
    one_client,
    stop_server,
    wait_ready,
)
from scripts.province_seed import CODE_PREFIX
from scripts.province_servers import (
    PAGE,
    SQL_PAGE,
    Caller,
    OurConfig,
    TheirConfig,
    answers_graphql,
    ids_ours,
    ids_theirs,
    ours_target,
    page_ids,
    start_ours,
    start_theirs,
    theirs_target,
)

Say = Callable[[str], None]


# ---------------------------------------------------------------- who asks


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


async def liaisons(url: str, unit_ids: Sequence[int]) -> dict[int, str]:
    """A liaison and a bearer token for each unit, made as `manage user create` makes them."""
    from models.accounts import create_user, issue_token
    from models.db import connected
    from models.units import Unit
    from models.users import UserRole

    tokens: dict[int, str] = {}
    async with connected(url):
        for unit in await Unit.filter(id__in=list(unit_ids)):
            tokens[unit.id] = await issue_token(await create_user(unit, UserRole.LIAISON, "压测联络员"))
    return tokens


async def callers_for(url: str, count: int) -> list[Caller]:
    units = await sample_units(url, count)
    expected = await expected_edges(url, units)
    tokens = await liaisons(url, units)
    return [Caller(u, tokens[u], expected[u]) for u in units]


# ---------------------------------------------------------------- raw SQL


async def sql_ids(url: str, unit_id: int) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        return [r["id"] for r in await conn.fetch(SQL_PAGE, unit_id)]
    finally:
        await conn.close()


async def measure_sql(url: str, callers: Sequence[Caller], iterations: int, warmup: int) -> Stats:
    """The page as one prepared asyncpg statement, rotating over the units."""
    conn = await asyncpg.connect(url)
    try:
        statement = await conn.prepare(SQL_PAGE)
        for i in range(warmup):
            await statement.fetch(callers[i % len(callers)].unit_id)
        samples: list[float] = []
        for i in range(iterations):
            caller = callers[i % len(callers)]
            t0 = time.perf_counter()
            rows = await statement.fetch(caller.unit_id)
            samples.append((time.perf_counter() - t0) * 1000)
            if len(rows) != caller.expected:
                raise RuntimeError(f"raw SQL: unit {caller.unit_id} has {len(rows)} rows, expected {caller.expected}")
        return Stats.of(samples)
    finally:
        await conn.close()


# ---------------------------------------------------------------- servers under load


@dataclass
class LoadFigures:
    """A server under closed-loop load: rounds merged, with its CPU, the database's CPU and peak memory."""

    label: str
    run: Run = field(default_factory=Run)
    rounds: list[float] = field(default_factory=list)  # req/s of each round
    server_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    peak_rss_kib: int = 0

    def add(self, run: Run, server_cpu_s: float, db_cpu_s: float) -> None:
        self.run.merge(run)
        self.rounds.append(run.throughput)
        self.server_cpu_s += server_cpu_s
        self.db_cpu_s += db_cpu_s

    def per_request_ms(self, seconds: float) -> float:
        return seconds * 1000 / max(1, len(self.run.latencies_ms))


async def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to this database (the server runs here), by pid."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    finally:
        await conn.close()
    return {r["pid"]: cpu_seconds(r["pid"]) for r in rows}


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """What the backends alive at the end spent since `before` (a backend that closed meanwhile, e.g. an idle one of
    the other server's pool, is left out rather than counted as negative)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


async def loaded_round(
    server: Server, target: Target, url: str, clients: int, seconds: float, offset: int
) -> tuple[Run, float, float]:
    cpu0, db0 = server.cpu_s(), await database_cpu(url)
    run = await closed_loop(target, clients, seconds, offset)
    return run, server.cpu_s() - cpu0, cpu_since(db0, await database_cpu(url))


@dataclass(frozen=True)
class Contender:
    server: Server
    target: Target
    figures: LoadFigures


async def alternate(
    contenders: Sequence[Contender], url: str, rounds: int, seconds: float, clients: int, say: Say
) -> None:
    """Rounds A B A B ...: each contender in turn, so that drift on a shared machine averages out."""
    async with memory_sampler([c.server for c in contenders]):
        for r in range(rounds):
            for c in contenders:
                run, cpu, db = await loaded_round(c.server, c.target, url, clients, seconds, offset=r * 7919)
                c.figures.add(run, cpu, db)
                say(f"  round {r + 1}/{rounds} {c.figures.label}: {run.throughput:,.0f} req/s, "
                    f"p50 {run.stats.median:.1f} ms, p99 {run.stats.p99:.1f} ms, {run.errors} errors")  # fmt: skip
                if run.first_error:
                    say(f"    first error: {run.first_error}")
    for c in contenders:
        c.figures.peak_rss_kib = c.server.peak_rss_kib


@dataclass(frozen=True)
class SweepRow:
    label: str
    throughput: float
    stats: Stats
    errors: int
    peak_rss_kib: int
    server_cpu_ms: float
    one_client_ms: float  # median of 200 requests from one client


async def try_config(server: Server, target: Target, url: str, clients: int, seconds: float) -> SweepRow:
    await wait_ready(server, lambda: answers_graphql(server))
    one = await one_client(target, 200, 30)  # also warms caches and pools
    async with memory_sampler([server]):
        run, cpu, _ = await loaded_round(server, target, url, clients, seconds, 0)
    return SweepRow(
        server.name,
        run.throughput,
        run.stats,
        run.errors + one.errors,
        server.peak_rss_kib,
        cpu * 1000 / max(1, len(run.latencies_ms)),
        one.stats.median,
    )


async def sweep_ours(
    configs: Sequence[OurConfig], url: str, redis_url: str, callers: Sequence[Caller], log_dir: Path, seconds: float,
    clients: int, say: Say,
) -> list[tuple[OurConfig, SweepRow]]:  # fmt: skip
    rows: list[tuple[OurConfig, SweepRow]] = []
    for config in configs:
        if not config.available:
            say(f"  {config.label}: not installed, skipped")
            continue
        server = start_ours(config, url, redis_url, log_dir)
        server.name = config.label
        try:
            row = await try_config(server, ours_target(server, callers), url, clients, seconds)
        finally:
            stop_server(server)
        say(
            f"  {row.label}: {row.throughput:,.0f} req/s, p50 {row.stats.median:.1f} ms, p99 {row.stats.p99:.1f} ms, "
            f"one client {row.one_client_ms:.1f} ms"
        )
        rows.append((config, row))
    return rows


async def sweep_theirs(
    configs: Sequence[TheirConfig], url: str, cache: Path, callers: Sequence[Caller], log_dir: Path, seconds: float,
    clients: int, say: Say,
) -> list[tuple[TheirConfig, SweepRow]]:  # fmt: skip
    rows: list[tuple[TheirConfig, SweepRow]] = []
    for config in configs:
        server = start_theirs(config, url, cache, log_dir)
        server.name = config.label
        try:
            row = await try_config(server, theirs_target(server, callers), url, clients, seconds)
        finally:
            stop_server(server)
        say(
            f"  {row.label}: {row.throughput:,.0f} req/s, p50 {row.stats.median:.1f} ms, p99 {row.stats.p99:.1f} ms, "
            f"one client {row.one_client_ms:.1f} ms"
        )
        rows.append((config, row))
    return rows


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
