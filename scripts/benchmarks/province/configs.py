"""The configurations tried of each server (ASGI servers and processes; PostGraphile's processes), one short
loaded run each; the best of each is the one compared."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from scripts.benchmarks.harness.http import Stats, Target, one_client
from scripts.benchmarks.harness.load import Say, loaded_round
from scripts.benchmarks.harness.servers import Server, answers_graphql, memory_sampler, stop_server, wait_ready

C = TypeVar("C")


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


async def try_configs(
    configs: Sequence[C],
    label: Callable[[C], str],
    start: Callable[[C], Server],
    target_of: Callable[[Server], Target],
    url: str,
    clients: int,
    seconds: float,
    say: Say,
) -> list[tuple[C, SweepRow]]:
    """Each configuration in turn: started, asked by one client then by `clients`, stopped."""
    rows: list[tuple[C, SweepRow]] = []
    for config in configs:
        if not getattr(config, "available", True):
            say(f"  {label(config)}: not installed, skipped")
            continue
        server = start(config)
        server.name = label(config)
        try:
            row = await try_config(server, target_of(server), url, clients, seconds)
        finally:
            stop_server(server)
        say(
            f"  {row.label}: {row.throughput:,.0f} req/s, p50 {row.stats.median:.1f} ms, p99 {row.stats.p99:.1f} ms, "
            f"one client {row.one_client_ms:.1f} ms"
        )
        rows.append((config, row))
    return rows


def best(rows: Sequence[tuple[C, SweepRow]]) -> C:
    """Most requests per second, among configurations without errors whose one client is not held up (within 2× the
    quickest one-client median: Nagle's 40 ms delays on keep-alive would otherwise pass for a choice)."""
    usable = [(config, row) for config, row in rows if row.errors == 0] or list(rows)
    quickest = min(row.one_client_ms for _, row in usable)
    usable = [(config, row) for config, row in usable if row.one_client_ms <= 2 * quickest]
    return max(usable, key=lambda pair: pair[1].throughput)[0]
