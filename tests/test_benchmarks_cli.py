"""The benchmarks' command line, as an engineer runs it: `./scripts/bench --help` lists every benchmark and
each one's options answer (the benchmarks themselves take minutes and are not tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE") == "postgres",
    reason="the command line does not depend on the backend; it runs in the SQLite pass only",
)


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "scripts.benchmarks", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_help_lists_every_benchmark_with_the_document_it_writes() -> None:
    done = bench("--help")
    assert done.returncode == 0, done.stderr
    for name, doc in (("queue", "docs/benchmark.md"), ("sweep", "docs/benchmark.md"), ("calendar", "benchmark.md"),
                      ("province", "docs/benchmark-province.md"), ("reads", "docs/benchmark-reads.md"),
                      ("imports", "docs/benchmark-registers.md"), ("crosscheck", "docs/benchmark-registers.md"),
                      ("office", "docs/benchmark-office.md"), ("live", "docs/benchmark-live.md")):  # fmt: skip
        line = next((line for line in done.stdout.splitlines() if line.strip().startswith(f"{name} ")), "")
        assert doc in line, f"{name}: {line!r}"


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (("queue",), ("--units", "--tasks", "--clients", "--reuse", "--output")),
        (("sweep",), ("--cases", "--as-of", "--seeded-through")),
        (("calendar",), ("--townships", "--schools", "--keep")),
        (("province",), ("--scale", "--rounds", "--faults", "--readme")),
        (("reads",), ("--seed", "--scale", "--sample")),
        (("imports",), ("--sizes", "--formats", "--no-doc")),
        (("crosscheck",), ("--residents", "--pupils", "--no-doc")),
        (("office",), ("--province", "--pupils", "--seed-only", "--append", "--province-only")),
        (("live",), ("--subscribers", "--idle-seconds", "--load-seconds")),
    ],
)
def test_each_benchmark_answers_help_with_its_options(args: tuple[str, ...], options: tuple[str, ...]) -> None:
    done = bench(*args, "--help")
    assert done.returncode == 0, done.stderr
    for option in options:
        assert option in done.stdout, f"{args}: {option} missing from\n{done.stdout}"


def test_options_without_a_name_go_to_the_queue_page() -> None:
    done = bench("--units", "many")
    assert done.returncode == 2
    assert "./scripts/bench queue" in done.stderr and "--units" in done.stderr


def test_an_unknown_benchmark_is_one_line_and_a_non_zero_exit() -> None:
    done = bench("nosuch")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == "error: no benchmark named 'nosuch'"
