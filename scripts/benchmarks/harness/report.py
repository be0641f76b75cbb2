"""The report: progress lines, the machine, Markdown tables, and sections replaced in docs/benchmark-*.md."""

from __future__ import annotations

import math
import os
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import typer


def say(message: str) -> None:
    """A progress line, on standard error (standard output keeps the figures)."""
    typer.echo(message, err=True)


def say_timed(message: str) -> None:
    say(f"[{datetime.now():%H:%M:%S}] {message}")


def command_line(name: str) -> str:
    """The command that ran benchmark `name`, as typed, for the report: `./scripts/bench [NAME] ...` or
    `./scripts/bench-province ...`; run as `python -m scripts.benchmarks.NAME`, its `./scripts/bench` form."""
    started_as = Path(sys.argv[0])
    if started_as.name == "__main__.py" and started_as.parent.name == "benchmarks":
        prefix = ["./scripts/bench"]
    elif started_as.name == "__main__.py" and started_as.parent.name == "province":
        prefix = ["./scripts/bench-province"]
    else:
        prefix = ["./scripts/bench", name]
    return shlex.join([*prefix, *sys.argv[1:]])


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine(*, node: bool = False) -> dict[str, str]:
    """CPUs, memory, OS, Python (and Node) of this machine, and its load average now."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
    models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
              if "model name" in line]  # fmt: skip
    found = {
        "cpus": str(os.cpu_count()),
        "cpu": models[0] if models else platform.processor() or "unknown",
        "memory": f"{total_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": load_average(),
    }
    if node:
        found["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return found


async def with_postgres(url: str, found: dict[str, str], *, buffers: bool = False) -> dict[str, str]:
    """`found` with the PostgreSQL server's version (and shared_buffers)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        if buffers:
            version += f" (shared_buffers {await conn.fetchval('SHOW shared_buffers')})"
    finally:
        await conn.close()
    return {**found, "postgres": version}


def verdict(met: bool, missed: str = "**missed**") -> str:
    return "met" if met else missed


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f} ms"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> list[str]:
    """A Markdown table; `align` as between the pipes of its second line (default: first column left)."""
    align = align or "|".join(["---"] + ["---:"] * (len(header) - 1))
    return ["| " + " | ".join(header) + " |", f"|{align}|", *("| " + " | ".join(r) + " |" for r in rows)]


# ---------------------------------------------------------------- sections of a document


def section_of(text: str, heading: str) -> str:
    """The section under `heading`, up to the next level-2 heading (exclusive), or ''."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading), None)
    if start is None:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[start:end])


def with_section(text: str, heading: str, body: str) -> str:
    """`text` with the section under `heading` replaced by `body` (a whole section), or `body` appended."""
    body = body.rstrip("\n") + "\n"
    old = section_of(text, heading)
    if not old:
        return f"{text.rstrip()}\n\n{body}" if text.strip() else body
    before, after = text.split(old, 1)
    return before + body + (f"\n{after}" if after else "")


def with_marked(text: str, begin: str, end: str, section: str) -> str:
    """`text` with everything from `begin` to `end` (markers included) replaced by `section`, which carries
    its own markers; or `section` appended."""
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end) + r"\n?", re.S)
    section = section.rstrip("\n") + "\n"
    if pattern.search(text):
        return pattern.sub(lambda _: section, text, count=1)
    return text.rstrip("\n") + "\n\n" + section


def replace_section(path: Path, heading: str, body: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(with_section(text, heading, body), encoding="utf-8")


def replace_marked(path: Path, begin: str, end: str, section: str, title: str) -> None:
    """Replace the marked section of `path`; a new document starts with `title`."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"{title}\n"
    path.write_text(with_marked(text, begin, end, section), encoding="utf-8")
