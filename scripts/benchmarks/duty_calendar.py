"""The duty-calendar benchmark: a school year of recurring duties for a province's units.

`./scripts/bench calendar` seeds 100 townships and 2,000 schools (COPY), then times generating
the 2026-2027 calendar, and generating it again (which must create nothing), and writes the
"## Duty calendar at province scale" section of docs/benchmark.md. Goal (issue 4): under 30 s.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from config import ROOT
from scripts.benchmarks.harness.database import ADMIN_URL, drop_database, migrate_and_load_policy, recreate_database
from scripts.benchmarks.harness.report import machine, replace_section, say, verdict

HEADING = "## Duty calendar at province scale"
OUTPUT = ROOT / "docs" / "benchmark.md"
LEVELS = ("PRIMARY",) * 12 + ("JUNIOR_MIDDLE",) * 5 + ("NINE_YEAR",) * 3  # 60% primary, 25% middle, 15% nine-year


async def seed_units(url: str, townships: int, schools: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        education = await conn.fetchval("SELECT id FROM unit WHERE code = 'education'")
        county = await conn.fetchval("SELECT id FROM unit WHERE code = 'county-gov'")
        rows = [
            (f"prov-township-{i:04d}", f"省级基准乡镇{i:04d}", "TOWNSHIP", county, None, True, 20_000 + i)
            for i in range(townships)
        ]
        rows += [
            (
                f"prov-school-{i:05d}",
                f"省级基准学校{i:05d}",
                "SCHOOL",
                education,
                LEVELS[i % len(LEVELS)],
                True,
                30_000 + i,
            )
            for i in range(schools)
        ]
        await conn.copy_records_to_table(
            "unit",
            records=rows,
            columns=["code", "name", "kind", "parent_id", "school_level", "is_demo", "position"],
        )
        await conn.execute("ANALYZE unit")
    finally:
        await conn.close()


async def timed_generation(url: str, school_year: str) -> tuple[tuple[int, float], tuple[int, float], int]:
    from models.db import connected
    from models.tasks import Task
    from tasks.duties.calendar import generate_school_year

    async with connected(url):
        started = time.perf_counter()
        first = await generate_school_year(school_year)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = await generate_school_year(school_year)
        second_s = time.perf_counter() - started
        total = await Task.all().count()
    return (len(first.new_items), first_s), (len(second.new_items), second_s), total


def markdown(
    when: datetime, machine: dict[str, str], townships: int, schools: int, first: tuple[int, float],
    second: tuple[int, float], total: int, command: str,
) -> str:  # fmt: skip
    met = verdict(first[1] < 30)
    return "\n".join(
        [
            HEADING,
            "",
            f"- **Date:** {when:%Y-%m-%d %H:%M} UTC",
            f"- **Machine:** {machine['cpus']} CPUs ({machine['cpu']}), {machine['memory']}, "
            f"Python {machine['python']}",
            f"- **Units:** the Hutubi county plus {townships:,} townships and {schools:,} compulsory schools "
            "(60% primary, 25% junior middle, 15% nine-year)",
            f"- **Command:** `{command}`",
            "",
            "| run | tasks created | seconds | goal |",
            "|---|---:|---:|---|",
            f"| generate 2026-2027 | {first[0]:,} | {first[1]:.1f} | < 30 s: {met} |",
            f"| generate it again | {second[0]:,} | {second[1]:.1f} | creates nothing: {verdict(second[0] == 0)} |",
            "",
            f"The task table then holds {total:,} tasks. Each task has a unique key (duty, owner, period[, subject]);",
            "new tasks go in with bulk inserts of 1,000, their cooperators and history lines with them.",
            "",
        ]
    )


async def run_calendar_benchmark(
    admin_url: str, name: str, townships: int, schools: int, keep: bool, command: str
) -> str:
    say(f"creating {name}, with migrations and the county policy")
    url = await recreate_database(admin_url, name)
    try:
        await migrate_and_load_policy(url, demo=True)
        say(f"seeding {townships:,} townships and {schools:,} schools")
        await seed_units(url, townships, schools)
        say("generating the 2026-2027 duty calendar, twice")
        first, second, total = await timed_generation(url, "2026-2027")
    finally:
        if not keep:
            await drop_database(admin_url, name)
    return markdown(datetime.now(UTC), machine(), townships, schools, first, second, total, command)


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    admin_url: Annotated[str, typer.Option(envvar="BENCH_POSTGRES_ADMIN_URL")] = ADMIN_URL,
    database: str = "kc_bench_calendar",
    townships: int = 100,
    schools: int = 2000,
    keep: bool = False,
    output: Annotated[Path, typer.Option(help="Markdown report; only its calendar section is replaced")] = OUTPUT,
) -> None:
    """Time a school year's duty calendar for a province (issue 4: under 30 s)."""
    command = (
        "./scripts/bench calendar"
        + (f" --townships {townships}" if townships != 100 else "")
        + (f" --schools {schools}" if schools != 2000 else "")
    )
    section = asyncio.run(run_calendar_benchmark(admin_url, database, townships, schools, keep, command))
    replace_section(output, HEADING, section)
    say(f"wrote {output} ({HEADING})")
    typer.echo(section)


if __name__ == "__main__":
    app()
