"""`./scripts/manage crosscheck run`, as the operator runs it, against its own SQLite database."""

from __future__ import annotations

import os
from datetime import date

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


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    path = tmp_path_factory.mktemp("crosscheck-cli") / "county.sqlite3"
    leaked = ("REDIS_URL", "CLOCK_AS_OF", "CLOCK_SOURCE", "DATABASE_URL", "TIMEZONE", "USE_TZ")
    env = {k: v for k, v in os.environ.items() if k not in leaked}
    env["DATABASE_URL"] = f"sqlite://{path}"
    cli = Cli(path=path, env=env)
    cli.ok("migrate")
    cli.ok("seed")
    return cli


def test_a_run_finds_a_child_on_no_roll_once_and_refuses_a_future_date(county: Cli) -> None:
    township = county.rows("SELECT id FROM unit WHERE code = 'dafeng'")[0][0]
    born = date(2018, 5, 1)
    county.rows(
        "INSERT INTO resident (citizen_id, name, gender, birth_date, ethnicity, township_id, registered_address, "
        "actual_address, living_here, guardian_name, guardian_phone, source, as_of, version, is_demo, created_at, "
        "updated_at) VALUES (?, '居民', 'MALE', ?, '', ?, '', '', 1, '', '', 'police', '2026-07-31', 1, 0, "
        "'2026-08-01 00:00:00+00:00', '2026-08-01 00:00:00+00:00')",
        make("659903", born, 1),
        born.isoformat(),
        township,
    )

    first = county.ok("crosscheck", "run", "--as-of", "2026-08-31")
    assert first[0].startswith("cross-check run 1 as of 2026-08-31")
    assert "  opened  NOT_ENROLLED 1" in first
    again = county.ok("crosscheck", "run", "--as-of", "2026-08-31")
    assert "  opened  -" in again and "  closed  -" in again

    future = county.run("crosscheck", "run", "--as-of", "2999-08-31")
    assert future.returncode == 2
    assert "比对日期不能晚于今天" in future.stderr
