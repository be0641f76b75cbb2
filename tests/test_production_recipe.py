"""The README's production recipe, word for word, on a fresh PostgreSQL: the county's data, never the demo."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import POSTGRES_ADMIN_URL
from tests.processes import (
    ROOT,
    environment,
    free_port,
    manage,
    redis_args,
    redis_ready,
    running,
    wait_http,
    wait_until,
)
from tests.test_e2e_ladder import Api

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

UNITS = """query($after: String) {
  units(first: 100, after: $after) { nodes { code isDemo } pageInfo { hasNextPage endCursor } }
}"""


def recipe() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Running with PostgreSQL and Redis (production)", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the README's production recipe"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.split("#", 1)[0].strip()]


async def test_the_production_recipe_loads_the_county_and_no_demo(tmp_path: Path) -> None:
    name = f"kc_recipe_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    # What the recipe asks the DBA for first: the role that will own the audit trail.
    await admin.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kongchuo_audit') THEN "
        "CREATE ROLE kongchuo_audit NOLOGIN; END IF; END $$"
    )
    await admin.close()
    database = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    redis_port, port = free_port(), free_port()
    try:
        lines = recipe()
        exported = shlex.split(lines[0])
        assert exported[0] == "export" and {e.split("=")[0] for e in exported[1:]} == {"DATABASE_URL", "REDIS_URL"}
        env = environment(DATABASE_URL=database, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", PORT=str(port))
        env.pop("DEMO_DATA", None)
        with running("redis", redis_args(redis_port, tmp_path), env, tmp_path):
            wait_until(lambda: redis_ready(redis_port), "redis")
            steps = lines[1:]
            assert len(steps) == 3, steps
            done = await asyncio.to_thread(
                subprocess.run, ["bash", "-c", steps[0]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stdout + done.stderr
            with (
                running("serve", ["bash", "-c", steps[1]], env, tmp_path) as server,
                running("worker", ["bash", "-c", steps[2]], env, tmp_path) as worker,
            ):
                wait_http(f"http://127.0.0.1:{port}/healthz", server, timeout=180)
                token = manage(env, "user", "create", "--unit", "education", "--role", "office", "--name", "运维")
                api = Api(f"http://127.0.0.1:{port}/graphql")
                codes, after = [], None
                while True:
                    page = (await api.call(token.strip().splitlines()[-1], UNITS, after=after))["units"]
                    codes += page["nodes"]
                    if not page["pageInfo"]["hasNextPage"]:
                        break
                    after = page["pageInfo"]["endCursor"]
                wait_until(lambda: "worker started" in worker.output(), "the worker's start line", timeout=60)
        present = {u["code"] for u in codes}
        assert {"leading-group-office", "education-section", "supervision", "dafeng", "hutubi-town"} <= present
        assert [u for u in codes if u["isDemo"] or u["code"].startswith("demo-")] == []
        db = await asyncpg.connect(database)
        try:
            assert await db.fetchval("SELECT COUNT(*) FROM student") == 0
            assert await db.fetchval("SELECT COUNT(*) FROM unit WHERE is_demo") == 0
            assert await db.fetchval("SELECT COUNT(*) FROM duty") > 0
        finally:
            await db.close()
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
