"""The whole ladder with real processes: uvicorn, the arq worker, Redis and PostgreSQL, through a
real GraphQL client; then a worker killed and Redis stopped mid-way, and nothing lost or doubled."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

from api.ids import global_id
from models.children import Student
from models.tasks import Task
from models.users import UserRole
from tests.processes import (
    environment,
    free_port,
    manage,
    redis_args,
    redis_ready,
    running,
    server_args,
    wait_http,
    wait_until,
    worker_args,
)
from tests.support import sign_in, sign_in_head_teacher

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

QUEUE = "{ viewer { taskQueue(first: 100) { nodes { title assigneeRole case { id } } } } }"
ABSENCE = """mutation($id: ID!, $day: Date) { absenceRecord(id: $id, input: {day: $day}) {
  case { id } userErrors { code message } } }"""
CASE = """query($id: ID!) { case(id: $id) { status stage absenceDays
  tasks { title status assigneeUnit { code } } reports { routing { id receiver { code } } } } }"""


class Api:
    def __init__(self, url: str) -> None:
        self.url = url

    async def call(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        transport = HTTPXAsyncTransport(url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with Client(transport=transport) as session:
            return await session.execute(GraphQLRequest(query, variable_values=variables))


async def eventually(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 20) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


@pytest.fixture
async def stack(database: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    redis_port, api_port = free_port(), free_port()
    env = environment(DATABASE_URL=database, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", CLOCK_SOURCE="database")
    redis = running("redis", redis_args(redis_port, tmp_path), env, tmp_path)
    server = running("server", server_args(api_port), env, tmp_path)
    with redis as redis_process, server as server_process:
        wait_until(lambda: redis_ready(redis_port), "redis")
        wait_http(f"http://127.0.0.1:{api_port}/healthz", server_process)
        yield {
            "env": env,
            "api": Api(f"http://127.0.0.1:{api_port}/graphql"),
            "redis": redis_process,
            "redis_port": redis_port,
            "tmp": tmp_path,
        }


async def _titles(api: Api, token: str, case_id: str) -> list[str]:
    queue = (await api.call(token, QUEUE))["viewer"]["taskQueue"]["nodes"]
    return [t["title"] for t in queue if t["case"] and t["case"]["id"] == case_id]


async def _no_duplicate_tasks() -> None:
    keys = await Task.filter(unique_key__not_isnull=True).values_list("unique_key", flat=True)
    assert len(keys) == len(set(keys))


async def test_ladder_end_to_end_with_worker_and_redis(stack: dict[str, Any]) -> None:
    env, api, tmp = stack["env"], stack["api"], stack["tmp"]
    head_teacher = await sign_in_head_teacher()
    student = await Student.get(citizen_id="652323201503121002")
    manage(env, "tick", "--as-of", "2026-09-03", "--here")  # Thursday; sets the shared clock

    with running("worker", worker_args(), env, tmp) as worker:
        recorded = await api.call(head_teacher, ABSENCE, id=global_id("Student", student.id), day="2026-09-03")
        case_id = recorded["absenceRecord"]["case"]["id"]
        # The nudge reaches the worker through Redis: day 1 appears without any tick.
        titles = await eventually(lambda: _titles(api, head_teacher, case_id), "the day-1 task")
        assert len(titles) == 1 and titles[0].startswith("第1天")

        manage(env, "tick", "--as-of", "2026-09-04")  # Friday, day 2, run by the worker
        manage(env, "tick", "--as-of", "2026-09-06")  # Sunday: nothing new
        case = (await api.call(head_teacher, CASE, id=case_id))["case"]
        assert case["absenceDays"] == 2
        assert len(case["tasks"]) == 3
        manage(env, "tick", "--as-of", "2026-09-04")  # a job run twice creates nothing twice
        assert len((await api.call(head_teacher, CASE, id=case_id))["case"]["tasks"]) == 3
        worker.kill(signal.SIGKILL)  # killed between two steps

    # With no worker running, an absence is still recorded; its event waits in the outbox.
    second = await Student.get(citizen_id="652323201407051016")
    other_case = await api.call(head_teacher, ABSENCE, id=global_id("Student", second.id), day="2026-09-04")
    other_id = other_case["absenceRecord"]["case"]["id"]
    assert await _titles(api, head_teacher, other_id) == []

    with running("worker", worker_args(), env, tmp):
        # A new worker catches up at start-up.
        await eventually(lambda: _titles(api, head_teacher, other_id), "the waiting day-1 task")
        manage(env, "tick", "--as-of", "2026-09-07")  # Monday: day 3 for the first case
        case = (await api.call(head_teacher, CASE, id=case_id))["case"]
        assert case["stage"] == "COLLECTIVE_VISIT" and case["absenceDays"] == 3
        village = [t for t in case["tasks"] if t["title"].startswith("第3天：学校与")]
        assert village, case["tasks"]

    # Redis stopped while an absence is recorded: the API still answers, and nothing is lost.
    stack["redis"].kill(signal.SIGKILL)
    principal = await sign_in("demo-primary-1", UserRole.PRINCIPAL)
    record = """mutation($id: ID!) { persuasionRecordAdd(id: $id, input: {kind: COLLECTIVE_HOME_VISIT,
      result: FAILED, persuaders: "校长、村委会委员", process: "集体家访，家长拒绝"}) { userErrors { code } } }"""
    assert (await api.call(principal, record, id=case_id))["persuasionRecordAdd"]["userErrors"] == []

    with running("redis", redis_args(stack["redis_port"], tmp), env, tmp):
        wait_until(lambda: redis_ready(stack["redis_port"]), "redis again")
        with running("worker", worker_args(), env, tmp):
            await eventually(
                lambda: _has_title(api, principal, case_id, "填报"), "the report task after Redis came back"
            )
            filed = await api.call(
                principal,
                """mutation($id: ID!) { dropoutReportFile(id: $id, input: {situation: "劝学未果",
                  contactPerson: "【演示】校长甲", contactPhone: "0994-0000000"}) {
                  report { routing { receiver { code } } } userErrors { code } } }""",
                id=case_id,
            )
            receivers = sorted(r["receiver"]["code"] for r in filed["dropoutReportFile"]["report"]["routing"])
            assert receivers == ["dafeng", "education-section", "supervision"]
            for code in receivers:
                token = await sign_in(code)
                await eventually(lambda t=token: _has_title(api, t, case_id, "签收"), f"{code}'s receipt task")

            returned = await api.call(
                head_teacher,
                """mutation($id: ID!) { attendanceReturn(id: $id, input: {day: "2026-09-07", evidence: "已到校"}) {
                  case { status tasks { status } } userErrors { code } } }""",
                id=case_id,
            )
            case = returned["attendanceReturn"]["case"]
            assert case["status"] == "CLOSED"
            assert all(t["status"] in ("DONE", "CANCELLED") for t in case["tasks"])
    await _no_duplicate_tasks()


async def _has_title(api: Api, token: str, case_id: str, fragment: str) -> bool:
    return any(fragment in t for t in await _titles(api, token, case_id))
