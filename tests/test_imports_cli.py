"""`manage import`, run as the operator runs it: a progress bar, the summary, one-line errors."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from models.citizen_id import make
from tests.test_cli import Cli

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("TEST_DATABASE") == "postgres",
        reason="the command line does not depend on the backend; it runs in the SQLite pass only",
    ),
]
HEADER = "姓名,性别,身份证号,出生日期,学校,年级,班级,乡镇\n"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    path = tmp_path_factory.mktemp("cli-imports") / "county.sqlite3"
    leaked = ("REDIS_URL", "CLOCK_AS_OF", "CLOCK_SOURCE", "DATABASE_URL", "TIMEZONE", "USE_TZ")
    env = {k: v for k, v in os.environ.items() if k not in leaked}
    env["DATABASE_URL"] = f"sqlite://{path}"
    env["IMPORT_DIR"] = str(path.parent / "imports")
    made = Cli(path=path, env=env)
    made.ok("migrate")
    made.ok("seed")
    return made


def roll_file(folder: Path, *rows: str) -> Path:
    path = folder / "学籍.csv"
    path.write_text(HEADER + "".join(rows), encoding="gbk")
    return path


def pupil(sequence: int, school: str = "demo-primary-1") -> str:
    citizen_id = make("659002", date(2016, 6, 1), sequence)
    return f"命令行{sequence},,{citizen_id},2016-06-01,{school},3,1班,大丰镇\n"


def test_an_import_shows_progress_and_ends_with_the_summary(cli: Cli, tmp_path: Path) -> None:
    path = roll_file(tmp_path, pupil(1), pupil(2, school="没有的学校"))
    done = cli.run("import", "roll", str(path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "done: 2 row(s); imported 1, updated 0, unchanged 0, ignored 1, 1 conflict(s)"
    assert lines[1].startswith("  line 3 [学校] '没有的学校' UNKNOWN_SCHOOL:")
    assert "2/2" in done.stderr  # the progress bar
    assert cli.rows("SELECT name FROM student WHERE name LIKE '命令行%'") == [("命令行1",)]
    again = cli.ok("import", "roll", str(path))
    assert again[0].startswith("done: 2 row(s); imported 0, updated 0, unchanged 1, ignored 1")


def test_dry_run_and_all_or_nothing(cli: Cli, tmp_path: Path) -> None:
    path = roll_file(tmp_path, pupil(3), pupil(4, school="没有的学校"))
    dry = cli.ok("import", "roll", str(path), "--dry-run")
    assert dry[0].endswith("(dry run: nothing written)") and "would import 1" in dry[0]
    refused = cli.run("import", "roll", str(path), "--all-or-nothing")
    assert refused.returncode == 2
    assert "error: ROWS_REJECTED" in refused.stderr
    assert cli.rows("SELECT COUNT(*) FROM student WHERE name IN ('命令行3', '命令行4')") == [(0,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "grades", "x.csv"), "unknown kind 'grades'"),
        (("import", "roll", "/nonexistent/学籍.csv"), "no such file"),
        (("import", "census", "tests/conftest.py"), "give --unit"),
        (("import", "roll", "tests/conftest.py", "--unit", "nowhere"), "no unit with code 'nowhere'"),
    ],
)
def test_mistakes_are_one_line_without_a_traceback(cli: Cli, args: tuple[str, ...], message: str) -> None:
    done = cli.run(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
