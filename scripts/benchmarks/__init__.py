"""The benchmarks (not tests): `./scripts/bench <name> [options]`, `./scripts/bench --help` lists them.

Each is one module with a typer `app`: its configuration and the measurements specific to it. What they
share (databases, seeding, servers, the load client, the report) is in harness/. A new benchmark is a
module here and a line in BENCHMARKS.
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
