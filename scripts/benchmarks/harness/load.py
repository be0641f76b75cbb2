"""Closed-loop load against running servers: rounds alternating between contenders (A B A B), each round's
requests per second, the CPU the server and the database's backends spent, and the servers' peak memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from scripts.benchmarks.harness.http import Run, Target, closed_loop
from scripts.benchmarks.harness.servers import Server, cpu_seconds, memory_sampler

Say = Callable[[str], None]


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
