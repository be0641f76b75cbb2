"""The embedded default, as a newcomer runs it: ./scripts/serve on SQLite with no Redis; the same
jobs run inside the server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.processes import ROOT, environment, free_port, manage, running, wait_http
from tests.test_e2e_ladder import ABSENCE, CASE, Api, eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "postgres", reason="the embedded default is SQLite"),
]


async def test_serve_runs_the_ladder_in_process_without_redis(tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        DATABASE_URL=f"sqlite://{tmp_path / 'county.sqlite3'}",
        PORT=str(port),
        CLOCK_SOURCE="database",
        JOB_INTERVAL_SECONDS="1",
    )
    with running("serve", [str(ROOT / "scripts" / "serve")], env, tmp_path) as server:
        wait_http(f"http://127.0.0.1:{port}/healthz", server, timeout=120)
        token = manage(
            env, "user", "create", "--unit", "demo-primary-1", "--role", "school_office", "--name", "教务主任"
        )
        token = token.strip().splitlines()[-1]
        manage(env, "tick", "--as-of", "2026-09-03")
        api = Api(f"http://127.0.0.1:{port}/graphql")
        students = await api.call(token, '{ students(filter: {name: "张小明"}) { nodes { id } } }')
        student_id = students["students"]["nodes"][0]["id"]

        recorded = await api.call(token, ABSENCE, id=student_id, day="2026-09-03")
        case_id = recorded["absenceRecord"]["case"]["id"]
        await eventually(
            lambda: _task_count(api, token, case_id, 1), "the day-1 task from the in-process job", seconds=15
        )
        manage(env, "tick", "--as-of", "2026-09-04")
        case = (await api.call(token, CASE, id=case_id))["case"]
        assert case["absenceDays"] == 2
        assert len(case["tasks"]) == 3
        assert "GraphiQL" in (await _graphiql(port))


async def _task_count(api: Api, token: str, case_id: str, expected: int) -> bool:
    return len((await api.call(token, CASE, id=case_id))["case"]["tasks"]) == expected


async def _graphiql(port: int) -> str:
    import httpx

    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"})
    return response.text
