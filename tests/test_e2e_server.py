"""The real server process (uvicorn) on PostgreSQL, spoken to over HTTP by a real GraphQL client (gql)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import IO

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

from api.ids import global_id
from models import clock
from models.accounts import create_user, issue_token
from models.units import Unit
from models.users import UserRole
from tasks.queue.workflow import create_task

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

QUEUE = """
query Queue($first: Int) {
  viewer {
    user { name role }
    unit { code name }
    taskQueue(first: $first) {
      totalCount
      nodes { id title status version overdue dueDate assigneeUnit { code } assignee { name } }
    }
  }
}
"""

START = """
mutation Start($id: ID!, $version: Int) {
  taskStart(id: $id, input: {expectedVersion: $version}) {
    task { id status version assignee { name } }
    userErrors { field message code }
  }
}
"""

COMPLETE = """
mutation Complete($id: ID!, $outcome: String!, $version: Int) {
  taskComplete(id: $id, input: {outcome: $outcome, expectedVersion: $version}) {
    task { id status version outcome history { action actor { name } } }
    userErrors { field message code }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(database: str, port: int, log: IO[str]) -> subprocess.Popen[bytes]:
    # TIMEZONE and USE_TZ are what Tortoise.init wrote into this process's environment; kept out for tidiness
    # (the county's zone is COUNTY_TIMEZONE, see tests/test_cli.py).
    leaked = ("REDIS_URL", "CLOCK_AS_OF", "CLOCK_SOURCE", "DATABASE_URL", "TIMEZONE", "USE_TZ")
    env = {k: v for k, v in os.environ.items() if k not in leaked}
    env.update(DATABASE_URL=database, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture(scope="module")
async def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """uvicorn serving the test database, one for the module's tests; its URL. Migrations and the county are already
    in that database."""
    tmp_path: Path = tmp_path_factory.mktemp("e2e-server")
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    process = _start(database, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(150):
                if process.poll() is not None:
                    pytest.fail(f"the server exited early:\n{(tmp_path / 'server.log').read_text()}")
                try:
                    if (await http.get(f"{base}/healthz", timeout=1)).json() == {"status": "ok"}:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"the server did not answer /healthz:\n{(tmp_path / 'server.log').read_text()}")
        yield base
    finally:
        _stop(process)
        log.close()


def _client(base: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(transport=HTTPXAsyncTransport(url=f"{base}/graphql", headers=headers, timeout=10))


async def test_a_liaison_works_a_task_over_http(server: str) -> None:
    education = await Unit.get(code="education")
    token = await issue_token(await create_user(education, UserRole.LIAISON, "教育局联络员"))
    due_day = clock.today() + timedelta(days=3)
    # 00:30 in Hutubi is still the day before in UTC: the server must count days in county time.
    due = datetime.combine(due_day, time(0, 30), clock.COUNTY_TZ)
    task, _ = await create_task(title="发放入学通知书核查", unit=education, due=due)
    task_id = global_id("Task", task.id)

    async with _client(server, token) as session:
        queue = (await session.execute(GraphQLRequest(QUEUE, variable_values={"first": 50})))["viewer"]
        started = (await session.execute(GraphQLRequest(START, variable_values={"id": task_id, "version": 1})))[
            "taskStart"
        ]
        stale = (
            await session.execute(
                GraphQLRequest(COMPLETE, variable_values={"id": task_id, "outcome": "已核查", "version": 1})
            )
        )["taskComplete"]
        done = (
            await session.execute(
                GraphQLRequest(COMPLETE, variable_values={"id": task_id, "outcome": "已核查 312 户", "version": 2})
            )
        )["taskComplete"]
        # The queue's document was answered once: now its plan answers, with the data as it is now.
        after = (await session.execute(GraphQLRequest(QUEUE, variable_values={"first": 50})))["viewer"]

    assert queue["user"] == {"name": "教育局联络员", "role": "LIAISON"}
    assert queue["unit"] == {"code": "education", "name": "县教育局"}
    mine = [n for n in queue["taskQueue"]["nodes"] if n["id"] == task_id]
    assert mine == [
        {
            "id": task_id,
            "title": "发放入学通知书核查",
            "status": "OPEN",
            "version": 1,
            "overdue": False,
            "dueDate": due_day.isoformat(),
            "assigneeUnit": {"code": "education"},
            "assignee": None,
        }
    ]
    assert started == {
        "task": {"id": task_id, "status": "IN_PROGRESS", "version": 2, "assignee": {"name": "教育局联络员"}},
        "userErrors": [],
    }
    assert stale["task"] is None
    assert [e["code"] for e in stale["userErrors"]] == ["STALE_VERSION"]
    assert done["userErrors"] == []
    assert done["task"]["status"] == "DONE"
    assert done["task"]["outcome"] == "已核查 312 户"
    assert done["task"]["version"] == 3
    assert [e["action"] for e in done["task"]["history"]] == ["CREATED", "STARTED", "COMPLETED"]
    assert done["task"]["history"][-1]["actor"] == {"name": "教育局联络员"}
    assert {k: v for k, v in after.items() if k != "taskQueue"} == {k: v for k, v in queue.items() if k != "taskQueue"}
    assert task_id not in [n["id"] for n in after["taskQueue"]["nodes"]]


async def test_without_a_token_the_server_answers_an_authentication_error(server: str) -> None:
    async with _client(server, None) as session:
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(GraphQLRequest(QUEUE))

    assert refused.value.data is None
    assert [e["extensions"]["code"] for e in refused.value.errors or []] == ["UNAUTHENTICATED"]
