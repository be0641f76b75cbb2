"""The province benchmark's report: docs/benchmark-province.md and README.md's summary.

Everything above the section "## Tuning notes" is rewritten on each run; that section is written
by hand (what helped, what did not) and kept.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

from scripts.benchmarks.harness.http import Stats
from scripts.benchmarks.harness.report import ms, section_of, table, verdict
from scripts.benchmarks.province.figures import Comparison, Mixed, Outcome, Size
from scripts.benchmarks.province.mixed import Outcome as Outcome_
from scripts.benchmarks.province.mixed import Recovery
from scripts.benchmarks.province.page import OURS_QUERY, SQL_PAGE, THEIRS_QUERY

NOTES = "## Tuning notes"
README_MARK = "<!-- bench-province -->"
GOAL_THROUGHPUT = 0.6
GOAL_RATIO = 5.0
GOAL_TAIL = 2.0
GOAL_GROWTH = 1.5


# ---------------------------------------------------------------- figures and goals


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def throughput_ratio(c: Comparison) -> float:
    return c.ours.run.throughput / c.theirs.run.throughput if c.theirs.run.throughput else math.nan


def goals(o: Outcome) -> list[tuple[str, str, str]]:
    province, tenth = o.sizes
    c = o.comparison
    ratio = throughput_ratio(c)
    vs_sql = province.ours_one.median / province.sql.median
    tail = province.ours_one.p99 / province.ours_one.median
    growth = province.ours_one.median / tenth.ours_one.median
    rows = [
        (
            f"throughput ≥ {GOAL_THROUGHPUT:g}× PostGraphile's (best configuration of each)",
            f"{ratio:.2f}×",
            verdict(ratio >= GOAL_THROUGHPUT),
        ),
        (
            f"one client: our median ≤ {GOAL_RATIO:g}× the raw SQL median",
            f"{vs_sql:.1f}×",
            verdict(vs_sql <= GOAL_RATIO),
        ),
        (f"one client: our p99 ≤ {GOAL_TAIL:g}× our median", f"{tail:.2f}×", verdict(tail <= GOAL_TAIL)),
        (f"ten times the data: our median grows < {GOAL_GROWTH:g}×", f"{growth:.2f}×", verdict(growth < GOAL_GROWTH)),
    ]
    if o.mixed is not None:
        rows.append(mixed_goal(o.mixed))
    if o.faults is not None:
        rows += fault_goals(o.faults)
    return rows


def mixed_goal(m: Mixed) -> tuple[str, str, str]:
    k = m.counts
    errors = len(m.ledger.failures())
    figure = (
        f"{errors} errors, {k.pending} events unprocessed, {k.without_day1} cases without their day-1 task, "
        f"{k.duplicate_keys} duplicate keys"
    )
    met = errors == 0 and k.pending == 0 and k.without_day1 == 0 and k.duplicate_keys == 0 and k.duplicate_steps == 0
    return (
        f"mixed load {m.seconds / 60:g} min, 20 clients, worker: zero errors, lost events, duplicates",
        figure,
        verdict(met),
    )


def fault_goals(m: Mixed) -> list[tuple[str, str, str]]:
    pg, redis = [*m.faults, None, None][:2]
    rows: list[tuple[str, str, str]] = []
    if pg is not None:
        back = "never answered well again" if pg.recovered_s is None else f"answered well again {pg.recovered_s:.1f} s"
        rows.append(
            (
                "PostgreSQL restarted: the API answers coded errors meanwhile and recovers by itself",
                f"{back} after the restart began; {pg.errors:,} errors meanwhile, {pg.uncoded} without a code "
                f"({codes_of(pg)}); slowest answer {pg.slowest_ms / 1000:.1f} s",
                verdict(pg.recovered_s is not None and pg.uncoded == 0),
            )
        )
    k = m.counts
    catch_up = "never" if m.redis_catch_up_s is None else f"{m.redis_catch_up_s:.1f} s after Redis was back"
    api = f"API: {redis.errors} errors meanwhile; " if redis is not None else ""
    rows.append(
        (
            "Redis restarted: the worker recovers by itself and the sweep catches up; nothing lost or doubled",
            f"{api}worker {'still running' if m.worker_alive else '**exited**'}; events written while Redis was "
            f"down processed {catch_up}; afterwards {k.pending} events unprocessed, {k.without_day1} cases without "
            f"their day-1 task, {k.duplicate_keys} duplicate keys",
            verdict(
                m.worker_alive
                and m.redis_catch_up_s is not None
                and k.pending == 0
                and k.without_day1 == 0
                and k.duplicate_keys == 0
                and (redis is None or redis.uncoded == 0)
            ),
        )
    )
    return rows


def codes_of(r: Recovery) -> str:
    return ", ".join(f"{code} {n:,}" for code, n in sorted(r.codes.items())) or "none"


# ---------------------------------------------------------------- tables


def head_to_head(o: Outcome) -> list[tuple[str, str, str, str]]:
    c = o.comparison
    province = o.sizes[0]
    a, b = c.ours, c.theirs

    def pair(x: float, y: float, fmt: str = "{:.2f}") -> tuple[str, str, str]:
        return fmt.format(x), fmt.format(y), f"{x / y:.2f}×" if y else "n/a"

    sa, sb = a.run.stats, b.run.stats
    return [
        ("configuration", c.ours_config.label, c.theirs_config.label, ""),
        ("throughput, req/s (all rounds)", *pair(a.run.throughput, b.run.throughput, "{:,.0f}")),
        (
            "throughput per round, req/s",
            " / ".join(f"{x:,.0f}" for x in a.rounds),
            " / ".join(f"{x:,.0f}" for x in b.rounds),
            "",
        ),
        ("p50 latency, ms", *pair(sa.median, sb.median)),
        ("p99 latency, ms", *pair(sa.p99, sb.p99)),
        (
            "requests answered / errors",
            f"{len(a.run.latencies_ms):,} / {a.run.errors}",
            f"{len(b.run.latencies_ms):,} / {b.run.errors}",
            "",
        ),
        (
            "peak memory (RSS summed over the server's processes)",
            mib(a.peak_rss_kib),
            mib(b.peak_rss_kib),
            f"{a.peak_rss_kib / max(1, b.peak_rss_kib):.2f}×",
        ),
        ("server CPU per request, ms", *pair(a.per_request_ms(a.server_cpu_s), b.per_request_ms(b.server_cpu_s))),
        ("PostgreSQL CPU per request, ms", *pair(a.per_request_ms(a.db_cpu_s), b.per_request_ms(b.db_cpu_s))),
        ("one client: median, ms", *pair(province.ours_one.median, province.theirs_one.median)),
        ("one client: p99, ms", *pair(province.ours_one.p99, province.theirs_one.p99)),
        (
            "one client: p99 / median",
            f"{province.ours_one.p99 / province.ours_one.median:.2f}×",
            f"{province.theirs_one.p99 / province.theirs_one.median:.2f}×",
            "",
        ),
        (
            "one client: median / raw SQL median",
            f"{province.ours_one.median / province.sql.median:.1f}×",
            f"{province.theirs_one.median / province.sql.median:.1f}×",
            "",
        ),
    ]


def growth_rows(o: Outcome) -> list[tuple[str, str, str, str]]:
    province, tenth = o.sizes

    def row(label: str, big: Stats, small: Stats) -> tuple[str, str, str, str]:
        return label, ms(small.median), ms(big.median), f"{big.median / small.median:.2f}×"

    return [
        row("raw SQL (asyncpg, prepared), median", province.sql, tenth.sql),
        row("ours, one client, median", province.ours_one, tenth.ours_one),
        row("PostGraphile, one client, median", province.theirs_one, tenth.theirs_one),
    ]


def data_line(size: Size) -> str:
    d = size.data
    seeded = f"; seeded with COPY in {size.seed_s:.0f} s" if size.seed_s else " (reused)"
    return (
        f"`{size.database}`: {d['townships']:,} townships, {d['schools']:,} schools, {d['units']:,} units in all, "
        f"{d['students']:,} students and {d['households']:,} households, {d['open_cases']:,} open cases "
        f"({d['cases']:,} in all), {d['tasks']:,} tasks ({d['open_tasks']:,} open, {d['case_tasks']:,} linked to "
        f"cases), {d['cooperators']:,} cooperator links, {d['bytes'] / 1024**3:.1f} GiB{seeded}"
    )


def sweep_rows(c: Comparison) -> list[tuple[str, ...]]:
    rows = [*(r for _, r in c.sweep_ours), *(r for _, r in c.sweep_theirs)]
    return [
        (
            r.label,
            f"{r.throughput:,.0f}",
            f"{r.stats.median:.1f}",
            f"{r.stats.p99:.1f}",
            f"{r.one_client_ms:.1f}",
            str(r.errors),
            mib(r.peak_rss_kib),
            f"{r.server_cpu_ms:.2f}",
        )
        for r in rows
    ]


def mixed_rows(m: Mixed) -> list[tuple[str, str]]:
    k, ledger = m.counts, m.ledger
    failures = ledger.failures()
    total = len(ledger.outcomes)

    def op(name: str) -> str:
        s = ledger.stats(name)
        n = ledger.count(name)
        share = f"{n / max(1, total) * 100:.0f} %"
        return f"{n:,} ({share}); p50 {s.median:.1f} ms, p99 {s.p99:.1f} ms" if s.count else f"{n:,}"

    drain = "did not drain within 180 s" if m.drain_s is None else f"{m.drain_s:.1f} s"
    return [
        ("requests", f"{total:,} in {m.seconds:.0f} s ({total / m.seconds:,.0f} req/s)"),
        ("queue reads", op("read")),
        ("task updates (taskStart, taskComplete, taskComment)", op("update")),
        ("absences (absenceRecord, each opens a case)", op("absence")),
        ("errors (HTTP, GraphQL or userErrors)", f"{len(failures)}" + first_problem(failures)),
        ("outbox events written / unprocessed / retried", f"{k.events:,} / {k.pending} / {k.failed_attempts}"),
        ("worker caught up after the load", drain),
        (
            "cases opened / absences / cases without their day-1 task",
            f"{k.new_cases:,} / {k.absences:,} / {k.without_day1}",
        ),
        (
            "duplicate unique keys (whole task table) / duplicate steps of new cases",
            f"{k.duplicate_keys} / {k.duplicate_steps}",
        ),
    ]


def first_problem(failures: Sequence[Outcome_]) -> str:
    return f"; first: {failures[0].problem} ({failures[0].code})" if failures else ""


def fault_rows(m: Mixed) -> list[tuple[str, ...]]:
    rows = []
    for w, r in zip(m.windows, m.faults, strict=False):
        codes = codes_of(r)
        recovered = "no" if r.recovered_s is None else f"{r.recovered_s:.1f} s"
        rows.append(
            (
                r.fault,
                f"{w.injected_at:.0f} s",
                f"{w.command_s:.1f} s",
                str(r.errors),
                codes,
                str(r.uncoded),
                f"{r.slowest_ms / 1000:.1f} s",
                recovered,
            )
        )
    return rows


# ---------------------------------------------------------------- the documents


def markdown(o: Outcome, kept_notes: str = "") -> str:
    province, tenth = o.sizes
    m = o.machine
    lines = [
        "# Benchmark: the liaison's page at province scale, beside PostGraphile, under load and faults",
        "",
        f"Written by `scripts/benchmarks/province/` (`./scripts/bench-province --help`); each run rewrites everything "
        f"above `{NOTES}`, which is written by hand.",
        "",
        f"- **Date:** {o.started:%Y-%m-%d %H:%M %Z}",
        f"- **Machine:** {m['cpus']} CPUs ({m['cpu']}), {m['memory']}, {m['os']}; Python {m['python']}, "
        f"Node {m['node']}, PostgreSQL {m['postgres']}, all on this one machine with the load client; "
        f"load average (1/5/15 min) at the start {o.load_at_start}, at the end {m['load']} (other engineers' test "
        "runs share the machine)",
        f"- **Command:** `{o.command}`",
        f"- **Data:** {data_line(province)}. Ten times smaller: {data_line(tenth)}.",
        f"- **PostGraphile:** {o.postgraphile}, installed by the benchmark from npm into a cache outside the "
        "repository.",
        "",
        "## Goals",
        "",
        *table(("goal", "figure", "result"), goals(o), "---|---|---"),
        "",
        "## Side by side (the province)",
        "",
        *table(("measure", "ours", "PostGraphile", "ours / theirs"), head_to_head(o), "---|---:|---:|---:"),
        "",
        *method_lines(o),
        "",
        "## Ten times the data",
        "",
        *table(("median", tenth.label, province.label, "growth"), growth_rows(o)),
        "",
        "Each unit's queue is about as deep at both sizes (the tenth has a tenth of the units as well as of the "
        "tasks), so the growth is what bigger tables and indexes cost, not longer queues.",
        "",
        "## Configurations tried (the province, one run each)",
        "",
        *table(
            ("server", "req/s", "p50 ms", "p99 ms", "one client p50 ms", "errors", "peak RSS", "server CPU ms/req"),
            sweep_rows(o.comparison),
            "---|---:|---:|---:|---:|---:|---:|---:",
        ),
        "",
        f"{o.settings.sweep_seconds:g} s at {o.settings.clients} clients each, after 200 requests from one client. "
        "The best of each (most requests per second, without errors, one client within 2× the quickest) is the one "
        "compared above.",
        "",
        *mixed_lines(o),
        *fault_lines(o),
    ]
    text = "\n".join(lines) + "\n"
    return text + ("\n" + kept_notes if kept_notes else "")


def method_lines(o: Outcome) -> list[str]:
    c = o.comparison
    return [
        "- **The page:** a liaison's 50 open tasks (own and shared with the unit), soonest due first, each with "
        "its owner unit's name and the case's subject (the student's name).",
        f"- **Ours** is asked, with the bearer token of a liaison of the unit (the unit comes from the token): "
        f"`{OURS_QUERY}`",
        f"- **PostGraphile** is asked, the unit id as a variable (no authentication: PostGraphile's own JWT is not "
        f"set up): `{THEIRS_QUERY}` — through `liaison_queue(unit)`, a SQL function the benchmark adds to the "
        "benchmark database only (not to our migrations), since PostGraphile's `condition` cannot say "
        "`status IN (OPEN, IN_PROGRESS)` nor join the shared tasks. It returns `dueAt` in UTC, ours in county time.",
        "- **Raw SQL:** one prepared asyncpg statement, the same two lists with the unit and the student:",
        "",
        "  ```sql",
        *(f"  {line}" for line in SQL_PAGE.strip().splitlines()),
        "  ```",
        "",
        f"- **Same answers:** before the rounds, each of the {len(o.sizes[0].callers)} units' page was asked of "
        f"both servers and of the raw SQL: the same task ids in the same order for {c.matched} of them"
        + (f" (differences: {'; '.join(c.id_problems[:3])})" if c.id_problems else "")
        + ". Every answer under load is checked too: HTTP 200, no `errors`, as many edges as the unit's page holds.",
        "- **Load client:** one Python process (uvloop), raw asyncio sockets, HTTP/1.1 keep-alive, one "
        "connection per client; requests rotate over the units; rounds alternate ours, PostGraphile, ours, ... "
        "so that drift on the shared machine averages out. Its CPU comes from the same 2 cores as the servers "
        "and PostgreSQL.",
        "- **CPU per request:** user+system time of the server's processes and of the PostgreSQL backends "
        "connected to the database, over the rounds, per answered request.",
        "- **Ours runs as in production:** REDIS_URL set (jobs go to the worker, none run inside the measured "
        "server), GraphiQL off, the rate limit and cost limit on; PostGraphile with NODE_ENV=production, "
        "`--disable-query-log`, no GraphiQL.",
    ]


def mixed_lines(o: Outcome) -> list[str]:
    if o.mixed is None:
        return []
    m = o.mixed
    return [
        f"## Mixed load ({m.seconds / 60:g} minutes, {o.comparison.ours_config.label}, the arq worker running)",
        "",
        "20 clients, each with its own liaisons (units) and school offices, so none touches another's tasks: "
        "80 % queue reads, 15 % task updates on the liaison's own page (taskStart on open tasks, taskComplete on "
        "started ones, taskComment on any), 5 % absences recorded by a school office on a student with no case "
        f"(each opens a case; the worker gives it its day-1 task). County clock: the database clock "
        f"(CLOCK_SOURCE=database) at {o.sizes[0].plan.day}, a school day. Counted in the database afterwards.",
        "",
        *table(("measure", "result"), mixed_rows(m), "---|---"),
        "",
    ]


def fault_lines(o: Outcome) -> list[str]:
    if o.faults is None:
        return []
    m = o.faults
    catch_up = "did not catch up" if m.redis_catch_up_s is None else f"{m.redis_catch_up_s:.1f} s"
    return [
        f"## Faults ({m.seconds:.0f} s of the same mixed load)",
        "",
        "PostgreSQL restarted at a quarter of the run (`pg_ctlcluster --skip-systemctl-redirect 15 main restart`); "
        "Redis shut down at half of it (`redis-cli shutdown nosave`) and started again 10 s later with the "
        "machine's start command. Errors are counted from the fault until the service is back and answers are "
        "good again; a code is `extensions.code` of a GraphQL error or of a userError.",
        "",
        *table(
            ("fault", "at", "command took", "errors", "codes", "without code", "slowest answer", "recovered"),
            fault_rows(m),
            "---|---:|---:|---:|---|---:|---:|---:",
        ),
        "",
        f"- Events written while Redis was down were processed {catch_up} after it came back "
        f"(the worker drains the outbox as soon as Redis answers again); the API answered as usual meanwhile (nudges "
        f"that cannot reach Redis are dropped; the outbox keeps the events); worker process "
        f"{'alive' if m.worker_alive else 'EXITED'} at the end.",
        "",
        *table(("measure", "result"), mixed_rows(m), "---|---"),
        "",
    ]


def console(o: Outcome) -> str:
    rows = [*goals(o)]
    width = max(len(name) for name, _, _ in rows)
    return "\n" + "\n".join(f"{name:<{width}}  {value}  [{result.replace('**', '')}]" for name, value, result in rows)


def write(output: Path, o: Outcome) -> None:
    kept = section_of(output.read_text(encoding="utf-8"), NOTES) if output.exists() else ""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown(o, kept), encoding="utf-8")


def summary(o: Outcome, link: str) -> str:
    c, (province, tenth) = o.comparison, o.sizes
    parts = [
        f"`./scripts/bench-province` compares our liaison page with PostGraphile v4 on a province "
        f"({province.data['students']:,} students, {province.data['tasks']:,} tasks) and on a tenth of it, under a "
        f"mixed load and with PostgreSQL and Redis restarted; figures, machine and command in [{link}]({link}). "
        f"Latest run ({o.started:%Y-%m-%d}), best configuration of each on this 2-core machine "
        f"({c.ours_config.label}; {c.theirs_config.label}): {c.ours.run.throughput:,.0f} against "
        f"{c.theirs.run.throughput:,.0f} req/s at 20 clients ({throughput_ratio(c):.2f}×, goal ≥ 0.6×); one client "
        f"median {province.ours_one.median:.1f} ms, {province.ours_one.median / province.sql.median:.1f}× the raw "
        f"SQL (goal ≤ 5×), p99/median {province.ours_one.p99 / province.ours_one.median:.2f}× (goal ≤ 2×); ten times "
        f"the data: median ×{province.ours_one.median / tenth.ours_one.median:.2f} (goal < 1.5×).",
    ]
    if o.mixed is not None:
        parts.append(f"Mixed load: {mixed_goal(o.mixed)[1]}.")
    if o.faults is not None:
        parts.append("Faults: " + "; ".join(f"{goal.split(':')[0]}: {figure} ({result})" for goal, figure, result in
                                            fault_goals(o.faults)) + ".")  # fmt: skip
    text = textwrap.fill(" ".join(parts), width=100, break_on_hyphens=False, break_long_words=False)
    return f"{README_MARK}\n{text}\n{README_MARK}"


def update_readme(readme: Path, o: Outcome, output: Path) -> None:
    """Replace (or add) our paragraph in the Benchmark section; the rest of the section stays as it is."""
    text = readme.read_text(encoding="utf-8")
    link = output.resolve().relative_to(readme.resolve().parent).as_posix()
    paragraph = summary(o, link)
    pattern = re.compile(re.escape(README_MARK) + ".*?" + re.escape(README_MARK), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: paragraph, text)
    else:
        section = section_of(text, "## Benchmark")
        if not section:
            text = text.rstrip() + "\n\n## Benchmark\n\n" + paragraph + "\n"
        else:
            text = text.replace(
                section, section.rstrip() + "\n\n" + paragraph + "\n" + ("\n" if text.split(section, 1)[1] else ""), 1
            )
    readme.write_text(text, encoding="utf-8")
