"""The imports benchmark: the police population extract at 10,000 and 100,000 rows, CSV and XLSX.

    ./scripts/bench imports [--sizes 10000,100000] [--formats csv,xlsx] [--no-doc]

On a fresh PostgreSQL database (created and dropped here) with the county's policy and demo units,
each file is uploaded as the command line does (stored, an ImportRun recorded, the worker nudged
through Redis) and imported by a real arq worker process (`manage worker`), a fresh one per file so
its peak memory (VmHWM of /proc/<pid>/status) belongs to that file alone. Beside each, the same CSV
is loaded with a raw `COPY` into a plain table of text columns: the floor of what any import costs.
Goals (issue 11): 100,000 rows in under 60 s; peak memory at 100,000 within 1.3x of that at 10,000.
The figures go into docs/benchmark-registers.md between the `<!-- imports -->` markers.
"""

from __future__ import annotations

import asyncio
import csv
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
import xlsxwriter

from config import ROOT
from scripts.benchmarks.harness.database import (
    ADMIN_URL,
    drop_database,
    migrate_and_load_policy,
    recreate_database,
    unique_name,
)
from scripts.benchmarks.harness.report import replace_marked, say
from scripts.benchmarks.harness.servers import peak_rss_mb, start_worker, stop_worker

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
REPORT = ROOT / "docs" / "benchmark-registers.md"
MARKER, END = "<!-- imports -->", "<!-- /imports -->"  # as the cross-check's section beside it
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
HEADER = ["姓名", "性别", "公民身份号码", "出生日期", "民族", "户籍地址", "现住址", "乡镇", "村（社区）", "村民小组",
          "户号", "户主", "监护人", "联系电话"]  # fmt: skip
VILLAGES = [
    ("大丰镇", "【演示】大丰镇第一村"),
    ("大丰镇", "【演示】大丰镇第二村"),
    ("五工台镇", "【演示】五工台镇第一村"),
    ("园户村镇", "【演示】园户村镇第一村"),
    ("二十里店镇", "【演示】二十里店镇第一村"),
    ("雀尔沟镇", "【演示】雀尔沟镇第一村"),
    ("石梯子乡", "【演示】石梯子乡第一村"),
    ("呼图壁镇", "【演示】呼图壁镇第一社区"),
]
GROUPS = ["一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def people(count: int, region: str) -> Iterator[list[str]]:
    """Rows of a police extract: valid, distinct IDs of children born 2008-2025, 4 to a household."""
    from models.citizen_id import make

    first = date(2008, 1, 1)
    for n in range(count):
        born = first + timedelta(days=(n // 900) % 6500)
        citizen_id = make(region, born, n % 900)
        township, village = VILLAGES[n % len(VILLAGES)]
        household = f"{region}-{n // 4:07d}"
        yield [
            f"{SURNAMES[n % len(SURNAMES)]}基准{n}",
            "男" if int(citizen_id[16]) % 2 else "女",
            citizen_id,
            born.isoformat(),
            "汉族",
            f"{township}{village[4:]}{n // 4}号",
            f"{township}{village[4:]}{n // 4}号",
            township,
            village,
            GROUPS[(n // 4) % len(GROUPS)],
            household,
            f"{SURNAMES[(n // 4) % len(SURNAMES)]}户主{n // 4}",
            f"{SURNAMES[(n // 4) % len(SURNAMES)]}家长{n // 4}",
            f"139{n:08d}",
        ]


def write_csv(path: Path, count: int, region: str) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(people(count, region))


def write_xlsx(path: Path, count: int, region: str) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("人口")
    sheet.write_row(0, 0, HEADER)
    for line, row in enumerate(people(count, region), start=1):
        for column, value in enumerate(row):
            sheet.write_string(line, column, value)
    book.close()


@dataclass
class Measured:
    label: str
    rows: int
    seconds: float  # from the nudge to DONE, as the uploader waits
    job_seconds: float  # the worker's own: started_at → finished_at
    peak_rss_mb: float
    imported: int
    conflicts: int
    status: str
    copy_seconds: float | None = None
    check_seconds: float | None = None


def environment(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CLOCK_AS_OF", "CLOCK_SOURCE", "TIMEZONE", "USE_TZ")}
    env.update({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "DEMO_DATA": "true"})
    return env


async def read_and_check(path: Path) -> float:
    """Only the reading and the checks of every row (no writing): the import's own share of the time."""
    from models import clock
    from models.imports import ImportKind
    from tasks.registers.imports.base import RunContext
    from tasks.registers.imports.checks import UnitDirectory
    from tasks.registers.imports.headers import load_header_map
    from tasks.registers.imports.population import PopulationImporter
    from tasks.registers.imports.reading import Cell, rows_of

    context = RunContext(run=None, unit=None, school_scope=None, directory=await UnitDirectory.load(),  # type: ignore[arg-type]
                         today=clock.today())  # fmt: skip
    importer = PopulationImporter(context)
    headers = await load_header_map(ImportKind.POPULATION)
    started = time.perf_counter()
    rows = rows_of(path)
    columns = headers.columns(next(rows).cells)
    for row in rows:
        cells = row.cells

        def value(name: str, cells: list[Cell] = cells) -> Cell:
            place = columns.get(name)
            return cells[place[0]] if place is not None and place[0] < len(cells) else None

        importer.parse(row.line, value)
    return time.perf_counter() - started


async def raw_copy(url: str, path: Path) -> float:
    conn = await asyncpg.connect(url)
    try:
        columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
        await conn.execute(f"DROP TABLE IF EXISTS copy_probe; CREATE TABLE copy_probe ({columns})")
        started = time.perf_counter()
        with path.open("rb") as handle:
            handle.read(3)  # the BOM
            await conn.copy_to_table("copy_probe", source=handle, format="csv", header=True)
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE copy_probe")
        return elapsed
    finally:
        await conn.close()


async def import_through_worker(url: str, path: Path, label: str, rows: int) -> Measured:
    from models.imports import ImportKind, ImportRun, ImportStatus
    from models.units import Unit
    from tasks.machinery import dispatch
    from tasks.registers.imports.run import record_run, store_local_file

    worker = start_worker(environment(url), path.with_suffix(".worker.log"))
    try:
        await asyncio.sleep(2.5)  # the worker connects and sweeps once
        police = await Unit.get(code="police")
        stored = await store_local_file(path)
        run = await record_run(
            ImportKind.POPULATION, file_name=path.name, stored=stored, unit=police, user=None,
            uploaded_by_name="benchmark", dry_run=False, atomic=False,
        )  # fmt: skip
        started = time.perf_counter()
        await dispatch.nudge_import(run.id)
        last = -1
        while True:
            current = await ImportRun.get(id=run.id)
            if current.rows_done != last and current.rows_done % 20_000 < 1_000:
                say(f"    {label}: {current.rows_done:>7,} / {current.rows_total or 0:,} rows")
                last = current.rows_done
            if current.status in (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED):
                break
            if worker.process.poll() is not None:
                raise RuntimeError(f"the worker stopped; see {worker.log_path}")
            await asyncio.sleep(0.2)
        seconds = time.perf_counter() - started
        peak = peak_rss_mb(worker.process.pid)
        job = (current.finished_at - current.started_at).total_seconds() if current.started_at else float("nan")
        return Measured(label, rows, seconds, job, peak, current.imported, current.conflict_count, current.status.value)
    finally:
        await stop_worker(worker)
        await dispatch.close()


def report(results: list[Measured], started: datetime) -> str:
    by = {m.label: m for m in results}
    lines = [
        MARKER,
        "## Imports: the police population extract",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end, shared with other work; Python "
        f"{platform.python_version()}, PostgreSQL on localhost, Redis), with "
        "`./scripts/bench imports`: a fresh database with the county's policy and demo "
        "units; each file uploaded as `manage import` does and read by a real arq worker process started for it "
        "(its peak RSS is that file's). *Reading and checks alone* reads and checks every row in this process "
        "without writing (the importer's own share); `COPY` loads the same CSV into a plain table of text columns.",
        "",
        "| file | rows | imported | conflicts | upload → done | worker's job | rows/s | peak RSS of the worker "
        "| reading and checks alone | raw COPY |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        copy = f"{m.copy_seconds:.2f} s" if m.copy_seconds is not None else "–"
        lines.append(
            f"| {m.label} | {m.rows:,} | {m.imported:,} | {m.conflicts} | {m.seconds:.1f} s | {m.job_seconds:.1f} s | "
            f"{m.rows / m.seconds:,.0f} | {m.peak_rss_mb:.0f} MB | {m.check_seconds or 0:.1f} s | {copy} |"
        )
    lines.append("")
    for fmt in ("CSV", "XLSX"):
        small, large = by.get(f"{fmt} 10k"), by.get(f"{fmt} 100k")
        if small and large:
            ratio = large.peak_rss_mb / small.peak_rss_mb
            lines.append(
                f"- {fmt}: 100,000 rows in {large.seconds:.1f} s "
                f"(goal < 60 s: {'met' if large.seconds < 60 else 'NOT met'}); "
                f"peak memory 100k/10k = {large.peak_rss_mb:.0f}/{small.peak_rss_mb:.0f} MB = {ratio:.2f}x "
                f"(goal <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'})"
                + (f"; raw COPY of the same file {large.copy_seconds:.2f} s ({large.seconds / large.copy_seconds:.0f}x)"
                   if large.copy_seconds else "")
                + "."
            )  # fmt: skip
    lines += [
        "",
        "CSV is read with the csv module a row at a time and written in batches of 1,000 rows (each batch one "
        "transaction with the run's progress); what grows with the file is the set of citizen IDs already seen "
        "(duplicates within the file), about 100 bytes a row. An XLSX sheet is streamed the same way by openpyxl's "
        "read-only mode (its XML parsed as rows are asked for); python-calamine, which opens a sheet whole, reads "
        "only XLS, XLSB and ODS.",
        END,
    ]
    return "\n".join(lines)


async def run(sizes: list[int], formats: list[str], doc: bool) -> None:
    from tortoise import Tortoise

    from config import settings
    from models.db import tortoise_config

    os.environ["REDIS_URL"] = REDIS_URL  # this process nudges the worker through Redis, as the server does
    settings.cache_clear()
    assert settings().redis_url == REDIS_URL

    started = datetime.now(UTC)
    name = unique_name("kc_bench_imports")
    url = await recreate_database(ADMIN_URL, name)
    say(f"database {url.rsplit('/', 1)[1]}; Redis {REDIS_URL}")
    folder = ROOT / "var" / "bench-imports"
    folder.mkdir(parents=True, exist_ok=True)
    results: list[Measured] = []
    try:
        await migrate_and_load_policy(url, demo=True)
        await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
        for index, fmt in enumerate(formats):
            for size in sizes:
                region = f"65{index}{size // 10_000:03d}"[:6]
                path = folder / f"police-{size}.{fmt}"
                t0 = time.perf_counter()
                (write_csv if fmt == "csv" else write_xlsx)(path, size, region)
                label = f"{fmt.upper()} {size // 1000}k"
                say(
                    f"{label}: generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) "
                    f"in {time.perf_counter() - t0:.1f} s"
                )
                measured = await import_through_worker(url, path, label, size)
                measured.check_seconds = await read_and_check(path)
                if fmt == "csv":
                    measured.copy_seconds = await raw_copy(url, path)
                say(
                    f"{label}: {measured.status} in {measured.seconds:.1f} s (job {measured.job_seconds:.1f} s), "
                    f"{measured.imported:,} imported, {measured.conflicts} conflicts, "
                    f"peak RSS {measured.peak_rss_mb:.0f} MB"
                    + (f", raw COPY {measured.copy_seconds:.2f} s" if measured.copy_seconds is not None else "")
                )
                results.append(measured)
        section = report(results, started)
        typer.echo(section)
        if doc:
            replace_marked(REPORT, MARKER, END, section, "# Benchmarks of the registers")
            say(f"\nwritten to {REPORT.relative_to(ROOT)}")
    finally:
        await Tortoise.close_connections()
        await drop_database(ADMIN_URL, name)


@app.command()
def main(
    sizes: Annotated[str, typer.Option(help="rows per file, comma-separated")] = "10000,100000",
    formats: Annotated[str, typer.Option(help="csv, xlsx or both, comma-separated")] = "csv,xlsx",
    no_doc: Annotated[bool, typer.Option("--no-doc", help="do not write docs/benchmark-registers.md")] = False,
) -> None:
    """The police population extract imported through a real worker; writes docs/benchmark-registers.md."""
    asyncio.run(run([int(s) for s in sizes.split(",")], formats.split(","), not no_doc))


if __name__ == "__main__":
    app()
