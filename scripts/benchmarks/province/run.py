"""Speed side by side with PostGraphile at province scale, under load and faults: ./scripts/bench-province --help.

One run does the whole comparison of issue 6:

1. seeds two PostgreSQL databases with COPY: a province (100 townships, 2,000 schools, 1,000,000
   students with households, 20,000 open cases, 2,000,000 tasks) and the same ten times smaller;
2. times the liaison's page (50 open tasks of one unit, soonest due, owner unit name, case subject)
   as raw SQL through asyncpg;
3. installs PostGraphile v4 from npm into a cache outside the repository and serves the same
   database; tries each server's configurations, then runs the page through the best of each with
   the same keep-alive HTTP/1.1 client, 20 clients, rounds A B A B, checking both return the same
   task ids as the raw SQL;
4. runs a mixed load (80 % reads, 15 % task updates, 5 % absences that open cases) with the arq
   worker, then counts errors, lost events and duplicate tasks; then the same load with PostgreSQL
   and Redis restarted in the middle, reporting how long each took to recover;
5. writes docs/benchmark-province.md and the summary in README.md's Benchmark section.

Not a test: it takes about 20 minutes and leaves nothing behind unless --keep.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
import uvloop

from config import ROOT
from scripts.benchmarks.harness.database import (
    database_exists,
    drop_database,
    last_id,
    migrate_and_load_policy,
    recreate_database,
)
from scripts.benchmarks.harness.http import Stats, Target, one_client
from scripts.benchmarks.harness.load import Contender, LoadFigures, alternate
from scripts.benchmarks.harness.postgraphile import DEFAULT_CACHE, TheirConfig, install_postgraphile, start_theirs
from scripts.benchmarks.harness.province_data import ProvincePlan, data_size, is_seeded, seed_province
from scripts.benchmarks.harness.report import command_line, load_average, machine, say, with_postgres
from scripts.benchmarks.harness.servers import (
    OurConfig,
    Server,
    our_env,
    start_ours,
    start_worker,
    started,
    stop_server,
    stop_worker,
)
from scripts.benchmarks.province import report
from scripts.benchmarks.province.configs import SweepRow, best, try_configs
from scripts.benchmarks.province.figures import Comparison, Mixed, Outcome, Settings, Size
from scripts.benchmarks.province.mixed import (
    Counts,
    Ledger,
    actors,
    count_after,
    drained,
    mixed_load,
    recovery,
    restart_postgres,
    restart_redis,
    school_offices,
    set_county_day,
)
from scripts.benchmarks.province.page import (
    add_queue_function,
    callers_for,
    measure_sql,
    ours_target,
    same_ids,
    theirs_target,
)

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
DEFAULT_OUTPUT = ROOT / "docs" / "benchmark-province.md"
OUR_CONFIGS = (
    OurConfig("uvicorn", 1),
    OurConfig("uvicorn", 2),
    OurConfig("uvicorn", 1, "asyncio", "h11"),
    OurConfig("uvicorn", 2, "asyncio", "h11"),
    OurConfig("granian", 2),
    OurConfig("hypercorn", 2),
)
THEIR_CONFIGS = (TheirConfig(1), TheirConfig(2))


# ---------------------------------------------------------------- the databases


async def prepare(s: Settings, label: str, name: str, plan: ProvincePlan) -> tuple[float | None, dict[str, int]]:
    url = s.url(name)
    if s.reuse and await database_exists(s.admin_url, name) and await is_seeded(url):
        say(f"[{label}] reusing database {name} as it is (--reuse)")
        await migrate_and_load_policy(url)  # no-ops on a current database
        seconds = None
    else:
        say(f"[{label}] creating {name}: {plan.describe()}")
        await recreate_database(s.admin_url, name)
        await migrate_and_load_policy(url)
        t0 = time.perf_counter()
        conn = await asyncpg.connect(url)
        try:
            await seed_province(conn, plan, say)
        finally:
            await conn.close()
        seconds = time.perf_counter() - t0
        say(f"[{label}] seeded in {seconds:.0f} s")
    await add_queue_function(url)
    conn = await asyncpg.connect(url)
    try:
        return seconds, await data_size(conn)
    finally:
        await conn.close()


async def prepare_size(s: Settings, label: str, name: str, plan: ProvincePlan) -> Size:
    seed_s, data = await prepare(s, label, name, plan)
    callers = await callers_for(s.url(name), s.sample)
    say(f"[{label}] raw SQL: {s.iterations:,} runs over {len(callers)} units")
    sql = await measure_sql(s.url(name), callers, s.iterations, s.warmup)
    say(f"[{label}] raw SQL median {sql.median:.2f} ms, p99 {sql.p99:.2f} ms")
    return Size(label, name, plan, seed_s, data, callers, sql)


# ---------------------------------------------------------------- the comparison


async def compare(s: Settings, size: Size) -> Comparison:
    url = s.url(size.database)
    say(f"[{size.label}] our configurations, {s.sweep_seconds:g} s each at {s.clients} clients")
    ours_rows = await try_configs(
        OUR_CONFIGS, lambda c: c.label, lambda c: start_ours(c, url, s.redis_url, s.log_dir),
        lambda server: ours_target(server, size.callers), url, s.clients, s.sweep_seconds, say,
    )  # fmt: skip
    say(f"[{size.label}] PostGraphile's configurations")
    their_rows = await try_configs(
        THEIR_CONFIGS, lambda c: c.label, lambda c: start_theirs(c, url, s.cache, s.log_dir),
        lambda server: theirs_target(server, size.callers), url, s.clients, s.sweep_seconds, say,
    )  # fmt: skip
    ours_config, theirs_config = best(ours_rows), best(their_rows)
    say(f"[{size.label}] best: {ours_config.label} against {theirs_config.label}")
    ours = await started(start_ours(ours_config, url, s.redis_url, s.log_dir))
    try:
        theirs = await started(start_theirs(theirs_config, url, s.cache, s.log_dir))
        try:
            return await head_to_head(s, size, ours, theirs, (ours_config, theirs_config), (ours_rows, their_rows))
        finally:
            stop_server(theirs)
    finally:
        stop_server(ours)


async def head_to_head(
    s: Settings,
    size: Size,
    ours: Server,
    theirs: Server,
    configs: tuple[OurConfig, TheirConfig],
    rows: tuple[list[tuple[OurConfig, SweepRow]], list[tuple[TheirConfig, SweepRow]]],
) -> Comparison:
    url = s.url(size.database)
    a, b = ours_target(ours, size.callers), theirs_target(theirs, size.callers)
    matched, problems = await same_ids(url, a, b, size.callers)
    say(f"[{size.label}] same task ids, in the same order, for {matched} of {len(size.callers)} units")
    size.ours_one, size.theirs_one = await one_client_pair(a, b, s)
    figures = (LoadFigures(configs[0].label), LoadFigures(configs[1].label))
    say(f"[{size.label}] {s.rounds} rounds of {s.round_seconds:g} s each, A B A B, {s.clients} clients")
    contenders = [Contender(ours, a, figures[0]), Contender(theirs, b, figures[1])]
    await alternate(contenders, url, s.rounds, s.round_seconds, s.clients, say)
    return Comparison(configs[0], configs[1], figures[0], figures[1], matched, problems, rows[0], rows[1])


async def one_client_pair(a: Target, b: Target, s: Settings) -> tuple[Stats, Stats]:
    stats: list[Stats] = []
    for target in (a, b):
        run = await one_client(target, s.iterations, s.warmup)
        if run.errors:
            say(f"  one client, {target.name}: {run.errors} errors, first: {run.first_error}")
        stats.append(run.stats)
        say(f"  one client, {target.name}: median {run.stats.median:.2f} ms, p99 {run.stats.p99:.2f} ms")
    return stats[0], stats[1]


async def one_client_at(s: Settings, size: Size, ours_config: OurConfig, theirs_config: TheirConfig) -> None:
    """The one-client medians on another size of data, with the configurations the comparison chose."""
    url = s.url(size.database)
    ours = await started(start_ours(ours_config, url, s.redis_url, s.log_dir))
    try:
        theirs = await started(start_theirs(theirs_config, url, s.cache, s.log_dir))
        try:
            a, b = ours_target(ours, size.callers), theirs_target(theirs, size.callers)
            size.ours_one, size.theirs_one = await one_client_pair(a, b, s)
        finally:
            stop_server(theirs)
    finally:
        stop_server(ours)


# ---------------------------------------------------------------- the mixed load and the faults


async def mixed(s: Settings, size: Size, config: OurConfig, seconds: float, faults: bool) -> Mixed:
    url = s.url(size.database)
    kinds = await school_ids(url)
    schools = [c.unit_id for c in size.callers if c.unit_id in kinds]
    offices = await school_offices(url, schools, per_school=400)
    teams = actors(size.callers, offices, s.clients)
    await set_county_day(url, s.plan.day)
    cases_before, events_before = await last_id(url, "dropout_case"), await last_id(url, "outbox_event")
    env = our_env(url, s.redis_url, CLOCK_SOURCE="database")
    server = await started(start_ours(config, url, s.redis_url, s.log_dir, CLOCK_SOURCE="database"))
    worker = start_worker(env, s.log_dir / f"worker-{time.monotonic_ns()}.log")
    ledger = Ledger()
    result = Mixed(seconds, ledger, Counts(0, 0, 0, 0, 0, 0, 0, 0), None, True)
    try:
        load = asyncio.create_task(mixed_load(server, teams, s.plan.day, seconds, ledger))
        if faults:
            await inject_faults(s, url, ledger, seconds, result, worker)
        await load
        result.worker_alive = worker.process.poll() is None
        say(f"  load done: {len(ledger.outcomes):,} requests, {len(ledger.failures())} failed; waiting for the worker")
        result.drain_s = await drained(url, 180)
    finally:
        stop_server(server)
        await stop_worker(worker)
    result.counts = await count_after(url, cases_before, events_before)
    return result


async def school_ids(url: str) -> set[int]:
    conn = await asyncpg.connect(url)
    try:
        return {r["id"] for r in await conn.fetch("SELECT id FROM unit WHERE kind = 'SCHOOL'")}
    finally:
        await conn.close()


async def inject_faults(s: Settings, url: str, ledger: Ledger, seconds: float, result: Mixed, worker: Server) -> None:
    """PostGraphile-free part: PostgreSQL restarted at a quarter of the run, Redis at half of it."""
    await asyncio.sleep(seconds * 0.25)
    say("  fault: restarting PostgreSQL")
    pg = await restart_postgres(ledger)
    result.windows.append(pg)
    await asyncio.sleep(max(0.0, seconds * 0.5 - (time.perf_counter() - ledger.started)))
    say("  fault: stopping Redis for 10 s")
    redis = await restart_redis(ledger, down_s=10.0)
    result.windows.append(redis)
    up_to = await last_id(url, "outbox_event")
    result.redis_catch_up_s = await drained(url, 120, up_to=up_to)
    say(f"  Redis back; events from before caught up in {result.redis_catch_up_s or float('nan'):.1f} s")
    end = seconds
    result.faults = [recovery(ledger, pg, redis.injected_at), recovery(ledger, redis, end)]
    result.worker_alive = worker.process.poll() is None


# ---------------------------------------------------------------- the run


async def run(s: Settings, command: str) -> Outcome:
    started_at = datetime.now().astimezone()
    load_at_start = load_average()
    version = install_postgraphile(s.cache, say)
    sizes: list[Size] = []
    try:
        for label, name, plan in s.sizes:
            sizes.append(await prepare_size(s, label, name, plan))
        province, tenth = sizes
        comparison = await compare(s, province)
        say(f"[{tenth.label}] one client on ten times less data")
        await one_client_at(s, tenth, comparison.ours_config, comparison.theirs_config)
        load = fault_run = None
        if s.minutes > 0:
            say(f"[{province.label}] mixed load: {s.minutes:g} min at {s.clients} clients with the worker")
            load = await mixed(s, province, comparison.ours_config, s.minutes * 60, faults=False)
        if s.faults:
            say(f"[{province.label}] the mixed load again, {s.fault_seconds:g} s, with PostgreSQL and Redis restarted")
            fault_run = await mixed(s, province, comparison.ours_config, s.fault_seconds, faults=True)
        info = await with_postgres(s.url(province.database), machine(node=True), buffers=True)
        return Outcome(s, load_at_start, started_at, command, info, version, sizes, comparison, load, fault_run)
    finally:
        if not s.keep:
            for _, name, _ in s.sizes:
                await drop_database(s.admin_url, name)
                say(f"dropped database {name}")


@app.command()
def main(
    database: Annotated[str, typer.Option(help="the province database; the tenth is <name>_tenth")] = "kc_province",
    admin_url: Annotated[
        str, typer.Option(envvar="BENCH_POSTGRES_ADMIN_URL", help="a PostgreSQL URL that may create databases")
    ] = "postgres://postgres@127.0.0.1:5432/postgres",
    redis_url: Annotated[str, typer.Option(help="Redis for the server's nudges and the worker")] = (
        "redis://127.0.0.1:6379/11"
    ),
    scale: Annotated[float, typer.Option(min=0.001, help="size of the province (1 = issue 6's figures)")] = 1.0,
    clients: Annotated[int, typer.Option(min=1, help="concurrent clients")] = 20,
    rounds: Annotated[int, typer.Option(min=1, help="rounds per server, alternating A B A B")] = 4,
    round_seconds: Annotated[float, typer.Option(min=1, help="seconds per round")] = 15.0,
    sweep_seconds: Annotated[float, typer.Option(min=1, help="seconds per configuration tried")] = 10.0,
    iterations: Annotated[int, typer.Option(min=10, help="measured requests, one client / raw SQL")] = 1_000,
    warmup: Annotated[int, typer.Option(min=0, help="unmeasured requests before")] = 100,
    sample: Annotated[int, typer.Option(min=1, help="units (liaisons) the requests rotate over")] = 200,
    minutes: Annotated[float, typer.Option(min=0, help="mixed load, minutes (0: none)")] = 5.0,
    faults: Annotated[bool, typer.Option(help="restart PostgreSQL and Redis during a second mixed load")] = True,
    fault_seconds: Annotated[float, typer.Option(min=30, help="length of the run with faults")] = 120.0,
    reuse: Annotated[bool, typer.Option(help="use the databases of a --keep run as they are")] = False,
    keep: Annotated[bool, typer.Option(help="leave both databases in place afterwards")] = False,
    cache: Annotated[Path, typer.Option(help="where PostGraphile is installed (outside the repo)")] = DEFAULT_CACHE,
    output: Annotated[Path, typer.Option(help="the Markdown report, replaced on each run")] = DEFAULT_OUTPUT,
    readme: Annotated[bool, typer.Option(help="also replace the summary paragraph in README.md")] = True,
) -> None:
    """Seed a province and a tenth of it, then compare our liaison page with PostGraphile's, under load and faults."""
    command = command_line("province")
    with tempfile.TemporaryDirectory(prefix="kc-bench-province-") as logs:
        settings = Settings(database, admin_url, redis_url, ProvincePlan().scaled(scale), cache, clients, rounds,
                            round_seconds, sweep_seconds, iterations, warmup, sample, minutes, faults, fault_seconds,
                            reuse, keep, Path(logs))  # fmt: skip
        outcome = uvloop.run(run(settings, command))
    report.write(output, outcome)
    typer.echo(report.console(outcome))
    typer.echo(f"wrote {output}")
    if readme:
        report.update_readme(ROOT / "README.md", outcome, output)
        typer.echo("updated README.md (Benchmark section)")


if __name__ == "__main__":
    app()
