"""The operator's command line, run as the operator runs it: ./scripts/manage against its own database."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import socket
import sqlite3
import struct
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "scripts" / "manage"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("TEST_DATABASE") == "postgres",
        reason="the command line does not depend on the backend; it runs in the SQLite pass only",
    ),
]


@dataclass
class Cli:
    path: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MANAGE), *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120, check=False
        )

    def ok(self, *args: str) -> list[str]:
        done = self.run(*args)
        assert done.returncode == 0, f"manage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout.strip().splitlines()

    def rows(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.path) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    path = tmp_path_factory.mktemp("cli") / "county.sqlite3"
    # TIMEZONE and USE_TZ: Tortoise.init writes them into this test process's environment (TIMEZONE=UTC);
    # the county's zone is COUNTY_TIMEZONE, so they must not matter (test_an_inherited_tortoise_timezone...).
    leaked = ("REDIS_URL", "CLOCK_AS_OF", "CLOCK_SOURCE", "DATABASE_URL", "TIMEZONE", "USE_TZ")
    env = {k: v for k, v in os.environ.items() if k not in leaked}
    env["DATABASE_URL"] = f"sqlite://{path}"
    return Cli(path=path, env=env)


@pytest.fixture(scope="module")
def seeded(cli: Cli) -> dict[str, list[str]]:
    return {"migrate": cli.ok("migrate"), "seed": cli.ok("seed")}


def test_help_lists_the_commands(cli: Cli) -> None:
    text = "\n".join(cli.ok("--help"))

    for command in ("migrate", "seed", "user", "token", "task", "export-schema"):
        assert command in text


def test_migrate_creates_the_database_and_is_safe_to_repeat(cli: Cli, seeded) -> None:
    assert seeded["migrate"][-1] == "migrations: database is current"
    assert any("applied" in line for line in seeded["migrate"])
    assert cli.path.exists()

    again = cli.ok("migrate")

    assert again == ["migrations: database is current"]


def test_seed_loads_the_county_and_a_second_seed_changes_nothing(cli: Cli, seeded) -> None:
    first = seeded["seed"][-1]
    assert re.search(r"units \+[1-9]\d*", first), first
    assert "already up to date" not in first
    units = cli.rows("SELECT COUNT(*) FROM unit")[0][0]

    second = cli.ok("seed")[-1]

    assert "already up to date" in second, second
    assert cli.rows("SELECT COUNT(*) FROM unit")[0][0] == units
    assert cli.rows("SELECT name FROM unit WHERE code = 'education-section'") == [("县教育局教育股",)]


def test_user_create_prints_the_token_alone_on_the_last_line(cli: Cli, seeded) -> None:
    lines = cli.ok("user", "create", "--unit", "education", "--role", "liaison", "--name", "张老师")

    token = lines[-1]
    assert re.fullmatch(r"[A-Za-z0-9_\-]{30,}", token), lines
    assert "张老师" in "\n".join(lines[:-1])
    users = cli.rows("SELECT u.name, u.role, un.code FROM app_user u JOIN unit un ON un.id = u.unit_id")
    assert ("张老师", "LIAISON", "education") in users
    stored = cli.rows("SELECT * FROM token")
    assert token not in str(stored), "the token must be stored hashed"
    assert cli.rows("SELECT COUNT(*) FROM token WHERE token_hash = ?", hashlib.sha256(token.encode()).hexdigest()) == [
        (1,)
    ]


def test_an_office_user_can_be_created(cli: Cli, seeded) -> None:
    lines = cli.ok("user", "create", "--unit", "leading-group-office", "--role", "office", "--name", "陈丽华")

    assert re.fullmatch(r"[A-Za-z0-9_\-]{30,}", lines[-1])
    assert ("陈丽华", "OFFICE") in cli.rows("SELECT name, role FROM app_user")


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["user", "create", "--unit", "no-such-unit", "--role", "liaison", "--name", "X"], "no-such-unit"),
        (["user", "create", "--unit", "education", "--role", "emperor", "--name", "X"], "emperor"),
        (["user", "create", "--unit", "education", "--role", "liaison", "--name", "  "], "name"),
        (["task", "create", "--unit", "no-such-unit", "--title", "T", "--due", "2026-09-01"], "no-such-unit"),
        (["task", "create", "--unit", "education", "--title", "T", "--due", "next week"], "next week"),
        (["task", "create", "--unit", "education", "--title", "T", "--due", "2026-09-01", "--duty", "nope"], "nope"),
        (["token", "revoke", "kc_not-a-token-of-ours-at-all-1234567890"], "token"),
    ],
)
def test_a_mistake_exits_non_zero_with_a_message(cli: Cli, seeded, args: list[str], mentions: str) -> None:
    users, tasks = cli.rows("SELECT COUNT(*) FROM app_user")[0][0], cli.rows("SELECT COUNT(*) FROM task")[0][0]

    done = cli.run(*args)

    assert done.returncode != 0
    assert mentions in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert cli.rows("SELECT COUNT(*) FROM app_user")[0][0] == users
    assert cli.rows("SELECT COUNT(*) FROM task")[0][0] == tasks


def test_task_create_prints_the_global_id_last(cli: Cli, seeded) -> None:
    lines = cli.ok("task", "create", "--unit", "education", "--title", "核查九月入学名单", "--due", "2026-09-01")

    global_id = lines[-1]
    kind, _, pk = base64.b64decode(global_id + "=" * (-len(global_id) % 4)).decode().partition(":")
    assert kind == "Task"
    rows = cli.rows(
        "SELECT t.title, t.status, t.due_at, u.code FROM task t JOIN unit u ON u.id = t.assignee_unit_id"
        " WHERE t.id = ?",
        int(pk),
    )
    assert len(rows) == 1
    title, status, due_at, unit = rows[0]
    assert (title, status, unit) == ("核查九月入学名单", "OPEN", "education")
    assert due_at.startswith("2026-09-01 15:59:59"), due_at  # the end of 1 September in Hutubi, in UTC


def test_an_inherited_tortoise_timezone_does_not_move_deadlines(cli: Cli, seeded) -> None:
    inherited = Cli(path=cli.path, env={**cli.env, "TIMEZONE": "UTC", "USE_TZ": "True"})

    lines = inherited.ok("task", "create", "--unit", "education", "--title", "继承时区", "--due", "2026-09-01")

    pk = int(base64.b64decode(lines[-1] + "=" * (-len(lines[-1]) % 4)).decode().split(":")[1])
    assert cli.rows("SELECT due_at FROM task WHERE id = ?", pk)[0][0].startswith("2026-09-01 15:59:59")


def test_task_create_with_cooperators_and_a_duty(cli: Cli, seeded) -> None:
    lines = cli.ok(
        "task",
        "create",
        "--unit",
        "police",
        "--title",
        "提供0-18周岁户籍信息",
        "--due",
        "2026-07-31",
        "--cooperator",
        "education",
        "--duty",
        "census-population-data",
    )

    pk = int(base64.b64decode(lines[-1] + "=" * (-len(lines[-1]) % 4)).decode().split(":")[1])
    assert cli.rows("SELECT u.code FROM task_cooperator c JOIN unit u ON u.id = c.unit_id WHERE c.task_id = ?", pk) == [
        ("education",)
    ]
    assert cli.rows("SELECT d.code FROM task t JOIN duty d ON d.id = t.duty_id WHERE t.id = ?", pk) == [
        ("census-population-data",)
    ]


@pytest.mark.parametrize("by", ["token", "prefix"])
def test_token_revoke(cli: Cli, seeded, by: str) -> None:
    token = cli.ok("user", "create", "--unit", "police", "--role", "liaison", "--name", f"撤销{by}")[-1]
    digest = hashlib.sha256(token.encode()).hexdigest()

    lines = cli.ok("token", "revoke", token if by == "token" else token[:10])

    assert lines[-1] == "revoked 1 token(s)"
    assert cli.rows("SELECT revoked_at IS NOT NULL FROM token WHERE token_hash = ?", digest) == [(1,)]
    again = cli.run("token", "revoke", token)
    assert again.returncode != 0
    assert "no live token" in again.stderr


def test_export_schema_prints_the_published_contract(cli: Cli) -> None:
    done = cli.run("export-schema")

    assert done.returncode == 0, done.stderr
    assert done.stdout == (ROOT / "schema.graphql").read_text(encoding="utf-8")


class RefusingPostgres:
    """A server speaking just enough of PostgreSQL's protocol to refuse a password (SQLSTATE 28P01), as a
    server with password authentication does; the local test server trusts everyone, so it cannot."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection, contextlib.suppress(OSError):
                self.refuse(connection)

    @staticmethod
    def refuse(connection: socket.socket) -> None:
        while True:
            length = struct.unpack("!I", connection.recv(4))[0]
            body = connection.recv(length - 4)
            if struct.unpack("!I", body[:4])[0] == 80877103:  # SSLRequest: no SSL here
                connection.sendall(b"N")
                continue
            break
        connection.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
        connection.recv(4096)  # the password
        fields = b"".join(
            kind + text + b"\0"
            for kind, text in (
                (b"S", b"FATAL"),
                (b"V", b"FATAL"),
                (b"C", b"28P01"),
                (b"M", b'password authentication failed for user "kongchuo"'),
            )
        )
        connection.sendall(b"E" + struct.pack("!I", len(fields) + 5) + fields + b"\0")

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def refusing_postgres() -> Iterator[RefusingPostgres]:
    server = RefusingPostgres()
    yield server
    server.close()


EVERY_COMMAND = [
    ["migrate"],
    ["seed"],
    ["demo"],
    ["user", "create", "--unit", "education", "--role", "liaison", "--name", "张老师"],
    ["token", "issue", "--user-id", "1"],
    ["token", "revoke", "kc_0123456789"],
    ["task", "create", "--unit", "education", "--title", "T", "--due", "2026-09-01"],
    ["tick", "--here"],
    ["calendar", "generate", "--school-year", "2026-2027"],
    ["worker"],
]
DATABASE_FAILURES = {
    "database missing": ("postgres://postgres@127.0.0.1:5432/kc_no_such_db", "不存在 (database does not exist)"),
    "role missing": ("postgres://kongchuo@127.0.0.1:5432/postgres", "role does not exist"),
    "password wrong": ("postgres://kongchuo:wrong@127.0.0.1:{port}/kongchuo", "password authentication failed"),
    "nothing listening": ("postgres://postgres@127.0.0.1:{closed}/kongchuo", "cannot reach PostgreSQL"),
}


def one_clear_line(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert says in errors[0], errors[0]


@pytest.mark.parametrize("failure", list(DATABASE_FAILURES))
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: " ".join(c[:2]))
def test_a_database_failure_is_one_line_and_a_non_zero_exit(
    cli: Cli, refusing_postgres: RefusingPostgres, failure: str, command: list[str]
) -> None:
    if failure in ("password wrong", "nothing listening") and command[0] not in ("migrate", "seed", "worker", "tick"):
        pytest.skip("the same connection step as migrate; once per failure is enough")
    url, says = DATABASE_FAILURES[failure]
    env = {
        **cli.env,
        "DATABASE_URL": url.format(port=refusing_postgres.port, closed=free_port()),
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0") if command == ["worker"] else "",
    }

    done = Cli(cli.path, env).run(*command)

    one_clear_line(done, says)


@pytest.mark.parametrize("command", [["tick", "--as-of", "2026-09-03"], ["worker"]], ids=["tick", "worker"])
def test_redis_out_of_reach_is_one_line(cli: Cli, seeded, command: list[str]) -> None:
    env = {**cli.env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}

    done = Cli(cli.path, env).run(*command)

    one_clear_line(done, "cannot reach Redis")


def test_serve_with_a_missing_database_says_so_in_one_line(cli: Cli) -> None:
    env = {**cli.env, "DATABASE_URL": DATABASE_FAILURES["database missing"][0], "PORT": str(free_port())}

    done = subprocess.run(
        [str(ROOT / "scripts" / "serve")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    one_clear_line(done, "database does not exist")


def test_serve_with_a_broken_policy_file_names_the_mistake(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "county.yaml"
    broken.write_text("units: [\n  - {code: x\n", encoding="utf-8")
    env = {**cli.env, "DATABASE_URL": f"sqlite://{tmp_path / 'c.sqlite3'}", "POLICY_FILE": str(broken)}

    done = subprocess.run(
        [str(ROOT / "scripts" / "serve")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "line 2" in done.stderr and "nothing changed" in done.stderr, done.stderr


def test_user_create_help_lists_every_role(cli: Cli) -> None:
    from models.users import UserRole

    text = " ".join(cli.ok("user", "create", "--help"))

    assert all(role.value.lower() in text for role in UserRole), text
    assert len(UserRole) == 8


def _wheel(folder: Path, name: str, version: str, module: str, text: str) -> Path:
    """A tiny pure-Python wheel, made here: the wheelhouse of an offline install."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{module}.py": f"OK = {text!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(body.encode()).digest()).rstrip(b'=').decode()},"
        f"{len(body.encode())}"
        for path, body in files.items()
    ]
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, body in files.items():
            archive.writestr(path, body)
    return wheel


def test_the_first_run_installs_from_a_wheelhouse_and_says_how_when_it_cannot(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "_env.sh").write_text((ROOT / "scripts" / "_env.sh").read_text())
    probe = repo / "scripts" / "probe"
    probe.write_text(
        '#!/usr/bin/env bash\nsource "$(dirname "$0")/_env.sh"\n"$PY" -c "import kc_probe; print(kc_probe.OK)"\n'
    )
    probe.chmod(0o755)
    (repo / "requirements.lock").write_text("kc-probe==1.0\n")
    empty, wheelhouse = tmp_path / "empty", repo / "wheelhouse-offline"
    empty.mkdir()
    wheelhouse.mkdir()
    _wheel(wheelhouse, "kc-probe", "1.0", "kc_probe", "离线安装成功")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(probe)], cwd=repo, env={**env, **extra}, capture_output=True, text=True, timeout=300, check=False
        )

    cannot = run(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(empty))
    offline = run(PIP_NO_INDEX="1", PIP_FIND_LINKS="wheelhouse-offline")  # relative, as the README writes it

    assert cannot.returncode != 0
    assert "package index" in cannot.stderr and "PIP_NO_INDEX=1 PIP_FIND_LINKS=wheelhouse" in cannot.stderr
    assert "pip download -r requirements.lock -d wheelhouse" in cannot.stderr
    assert offline.returncode == 0, offline.stderr
    assert "installing from the wheelhouse" in offline.stderr and "(no index)" in offline.stderr
    assert offline.stdout.strip() == "离线安装成功"
