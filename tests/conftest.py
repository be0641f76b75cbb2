"""One suite, two databases: TEST_DATABASE=sqlite (default) or postgres, each fresh per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from tortoise import Tortoise, connections

from models.db import apply_migrations, tortoise_config

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
# Every test signs in from 127.0.0.1 within a few minutes: the trail's cap on failed sign-ins per address
# would make lines of one test depend on the others. Tests of the cap set it themselves.
os.environ.setdefault("AUDIT_FAILED_SIGN_INS_PER_MINUTE", "0")
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
MUTABLE_TABLES = [
    "import_change",
    "import_conflict",
    "import_run",
    "accountability_cause",
    "accountability_measure",
    "office_report",
    "ledger_entry",
    "handover_line",
    "graduate_handover",
    "roll_movement",
    "webhook_delivery",
    "webhook_endpoint",
    "idempotency_key",
    "digest",
    "report_routing",
    "dropout_report",
    "persuasion_record",
    "absence",
    "case_event",
    "task_event",
    "task_cooperator",
    "task",
    "fact",
    "crosscheck_finding",
    "crosscheck_run",
    "dropout_case",
    "outbox_event",
    "system_clock",
    "clock_mark",
    "token",
    "app_user",
    "census_line",
    "census_page",
    "census_book",
    "resident_version",
    "resident",
    "village_group",
]
# Rows a module-scoped fixture keeps for all its module's tests: table -> the first id kept. The cleaning after each
# test deletes only the rows below it; the fixture deletes its rows, and its entries here, when the module is done.
KEPT_FROM: dict[str, int] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND != "postgres":
        skip = pytest.mark.skip(reason="PostgreSQL pass only (TEST_DATABASE=postgres)")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {BACKEND}"


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    if BACKEND == "postgres":
        name = f"kc_test_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    else:
        path: Path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        yield f"sqlite://{path}"


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[str]:
    """Migrated, with the Hutubi policy and its demo units loaded once for the session."""
    from config import settings
    from tasks.policy.load import load_policy

    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    policy = settings().policy_file
    await load_policy([policy, policy.with_name("hutubi-demo.yaml")])
    yield database_url
    await Tortoise.close_connections()


@pytest.fixture(autouse=True)
async def _clean_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    if "database" not in request.fixturenames:
        yield
        return
    yield
    connection = connections.get("default")
    for table in MUTABLE_TABLES:  # DELETE, not TRUNCATE ... CASCADE: that would empty student via app_user
        kept = f' WHERE "id" < {KEPT_FROM[table]}' if table in KEPT_FROM else ""
        await connection.execute_script(f"DELETE FROM {table}{kept}")


@pytest.fixture
async def client(database: str) -> AsyncIterator[httpx.AsyncClient]:
    from api.app import create_app

    transport = httpx.ASGITransport(app=create_app(database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
