"""The benchmarks (not tests): `./scripts/bench <name> [options]`, `./scripts/bench --help` lists them.

Each is one module with a typer `app`: its configuration and the measurements specific to it. What they
share (databases, seeding, servers, the load client, the report) is in harness/. A new benchmark is a
module here and a line in BENCHMARKS, e.g.:

    app = typer.Typer(add_completion=False)

    @app.command()
    def main(units: int = 2000, keep: bool = False) -> None:
        asyncio.run(run(units, keep))

    async def run(units: int, keep: bool) -> None:
        url = await recreate_database(ADMIN_URL, "kc_bench_mine")                # harness.database
        await migrate_and_load_policy(url)
        conn = await asyncpg.connect(url)
        await seed_queue_county(conn, SeedPlan(units, 20_000), say)             # harness.seeding
        await conn.close()
        with running_server(url, "redis://127.0.0.1:6379/12") as server:        # harness.servers
            run = await one_client(Target("ours", server.host, server.port, ask), 500, 50)  # harness.http
        replace_section(DOC, "## Mine", "\n".join(table(("p50", "p99"), [...])))  # harness.report
        if not keep:
            await drop_database(ADMIN_URL, "kc_bench_mine")
"""

# name: (module under scripts.benchmarks, what it measures, the document it writes)
BENCHMARKS: dict[str, tuple[str, str, str]] = {
    "queue": ("queue_page", "a liaison's 50-task queue page: raw SQL, GraphQL with 1 and 20 clients", "benchmark.md"),
    "sweep": ("sweep", "the daily ladder sweep at 2,000 and 20,000 open cases", "benchmark.md (its section)"),
    "calendar": (
        "duty_calendar",
        "a school year's duty calendar for 100 townships and 2,000 schools",
        "benchmark.md (its section)",
    ),
    "province": (
        "province.run",
        "the liaison page beside PostGraphile at province scale, load and faults",
        "benchmark-province.md, README.md",
    ),
    "reads": ("reads", "four reads beside PostGraphile and raw SQL", "benchmark-reads.md"),
    "imports": (
        "imports",
        "the police extract imported through a real worker, CSV and XLSX",
        "benchmark-registers.md (its section)",
    ),
    "crosscheck": (
        "crosscheck",
        "the cross-check over 100,000 residents and 80,000 pupils",
        "benchmark-registers.md (its section)",
    ),
    "office": ("office", "the office's county overview (and the province's targets)", "benchmark-office.md"),
    "live": ("live", "subscriptions idle and under load, pushes, webhooks", "benchmark-live.md"),
}
