"""One service, many processes: two API processes, a worker and a private Redis, driven by real clients
over HTTP and WebSocket. A change on one process reaches a subscriber on the other; a revoked token
closes its sockets on both; the rate limit and the socket cap count once across them; a webhook
receiver that fails for a while then gets every event exactly as recorded; a retried mutation with an
Idempotency-Key runs once, whichever process the retry reaches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from websockets.exceptions import ConnectionClosed

from api.ids import global_id
from models import clock
from models.live import DeliveryStatus, WebhookDelivery
from models.tasks import Task, TaskEvent
from models.units import Unit
from models.users import UserRole
from tasks.queue.workflow import create_task
from tests.live_support import webhook_receiver
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
from tests.support import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL
QUEUE = GraphQLRequest("subscription { taskQueueCounts { openCount overdueCount changedTasks { id title status } } }")
COMMENT = """mutation($id: ID!, $text: String!) { taskComment(id: $id, input: {text: $text}) {
  task { id } userErrors { code } } }"""
RATE_LIMIT = 40
CREATE_ENDPOINT = """mutation($input: WebhookEndpointCreateInput!) { webhookEndpointCreate(input: $input) {
  endpoint { id } secret userErrors { code message } } }"""


@pytest.fixture(scope="module")
def cluster(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("live-cluster")
    redis_port, port_a, port_b = free_port(), free_port(), free_port()
    env = environment(
        DATABASE_URL=database,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
        WS_MAX_SOCKETS_PER_TOKEN="2",
        WS_MAX_SUBSCRIPTIONS_PER_SOCKET="3",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_BACKOFF_SECONDS="0.5",
        WEBHOOK_DISABLE_AFTER_FAILURES="1000",
        WEBHOOK_MAX_ATTEMPTS="50",
    )
    with running("redis", redis_args(redis_port, tmp), env, tmp):
        wait_until(lambda: redis_ready(redis_port), "redis")
        with (
            running("server-a", server_args(port_a), env, tmp) as a,
            running("server-b", server_args(port_b), env, tmp) as b,
            running("worker", worker_args(), env, tmp),
        ):
            wait_http(f"http://127.0.0.1:{port_a}/healthz", a)
            wait_http(f"http://127.0.0.1:{port_b}/healthz", b)
            yield {"env": env, "a": f"127.0.0.1:{port_a}", "b": f"127.0.0.1:{port_b}"}


async def call(address: str, token: str, query: str, key: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"http://{address}/graphql", json={"query": query, "variables": variables},
                               headers=headers)  # fmt: skip


def subscriber(address: str, token: str) -> Client:
    transport = WebsocketsTransport(
        url=f"ws://{address}/graphql", subprotocols=[TRANSPORT_WS], init_payload={"Authorization": f"Bearer {token}"},
        connect_timeout=10, ack_timeout=10,
    )  # fmt: skip
    return Client(transport=transport)


async def eventually(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


async def _task(unit_code: str, title: str) -> Task:
    unit = await Unit.get(code=unit_code)
    task, _ = await create_task(title=title, unit=unit, due=clock.today() + timedelta(days=5))
    return task


async def test_a_change_on_one_process_reaches_a_subscriber_on_the_other(cluster: dict[str, Any]) -> None:
    token = await sign_in("education")
    task = await _task("education", "推送：另一进程")
    async with subscriber(cluster["b"], token) as session:
        updates = session.subscribe(QUEUE)
        first = (await asyncio.wait_for(anext(updates), 10))["taskQueueCounts"]
        assert first["openCount"] >= 1 and first["changedTasks"] == []  # the state first

        started = time.monotonic()
        answer = await call(cluster["a"], token, COMMENT, id=global_id("Task", task.id), text="已电话联系家长")
        assert answer.json()["data"]["taskComment"]["userErrors"] == []
        update = (await asyncio.wait_for(anext(updates), 10))["taskQueueCounts"]
        while not update["changedTasks"]:  # the task's creation may come first, in its own message
            update = (await asyncio.wait_for(anext(updates), 10))["taskQueueCounts"]
        assert time.monotonic() - started < 5
        assert update["changedTasks"] == [
            {"id": global_id("Task", task.id), "title": "推送：另一进程", "status": "OPEN"}
        ]


def text(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


async def _open_socket(address: str, token: str) -> websockets.ClientConnection:
    socket = await websockets.connect(f"ws://{address}/graphql", subprotocols=[TRANSPORT_WS])
    await socket.send(text({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    return socket


async def _closed_with(socket: websockets.ClientConnection, seconds: float) -> int | None:
    try:
        while True:
            await asyncio.wait_for(socket.recv(), seconds)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


async def test_a_revoked_token_closes_its_sockets_on_both_processes(cluster: dict[str, Any]) -> None:
    token = await sign_in("education")
    sockets = [await _open_socket(cluster["a"], token), await _open_socket(cluster["b"], token)]
    for n, socket in enumerate(sockets):
        assert b"connection_ack" in (await asyncio.wait_for(socket.recv(), 10)).encode()
        query = "subscription { taskQueueCounts { openCount } }"
        await socket.send(text({"id": str(n), "type": "subscribe", "payload": {"query": query}}))
        assert '"next"' in await asyncio.wait_for(socket.recv(), 10)

    await asyncio.to_thread(manage, cluster["env"], "token", "revoke", token)  # another process: the command line
    started = time.monotonic()
    codes = await asyncio.gather(*(_closed_with(s, 2.0) for s in sockets))

    assert codes == [4403, 4403] and time.monotonic() - started < 2.0


async def test_sockets_per_token_and_subscriptions_per_socket_are_capped(cluster: dict[str, Any]) -> None:
    token = await sign_in("education")
    first, second = await _open_socket(cluster["a"], token), await _open_socket(cluster["b"], token)
    for socket in (first, second):
        assert "connection_ack" in await asyncio.wait_for(socket.recv(), 10)
    third = await _open_socket(cluster["a"], token)  # two are open already, one on each process
    assert await _closed_with(third, 10) == 4429

    answers = []
    for n in range(4):
        query = "subscription { taskQueueCounts { openCount } }"
        await first.send(text({"id": str(n), "type": "subscribe", "payload": {"query": query}}))
    while len(answers) < 4:
        answers.append(orjson.loads(await asyncio.wait_for(first.recv(), 10)))
    refused = [a for a in answers if a["type"] == "error"]
    assert len(refused) == 1 and refused[0]["id"] == "3"
    await second.close()
    fourth = await _open_socket(cluster["b"], token)  # a socket closed frees its place
    assert "connection_ack" in await asyncio.wait_for(fourth.recv(), 10)
    for socket in (first, fourth):
        await socket.close()


async def test_the_rate_limit_is_counted_once_across_both_processes(cluster: dict[str, Any]) -> None:
    token = await sign_in("education", name="限流联络员")
    query = '{ unit(code: "education") { name } }'
    statuses = [(await call(cluster["a" if n % 2 else "b"], token, query)).status_code for n in range(RATE_LIMIT)]
    assert statuses == [200] * RATE_LIMIT

    assert (await call(cluster["a"], token, query)).status_code == 429
    refused = await call(cluster["b"], token, query)
    assert refused.status_code == 429 and refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    other = await sign_in("education", name="另一位")
    assert (await call(cluster["b"], other, query)).status_code == 200

    socket = await _open_socket(cluster["a"], token)  # a WebSocket message counts too
    assert "connection_ack" in await asyncio.wait_for(socket.recv(), 10)
    query = "subscription { taskQueueCounts { openCount } }"
    await socket.send(text({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    assert await _closed_with(socket, 10) == 4429


async def test_a_retried_mutation_runs_once_whichever_process_the_retry_reaches(cluster: dict[str, Any]) -> None:
    token = await sign_in("education")
    task = await _task("education", "幂等：两个进程")
    variables = {"id": global_id("Task", task.id), "text": "重试"}
    first = await call(cluster["a"], token, COMMENT, key="flaky-1", **variables)
    again = await call(cluster["b"], token, COMMENT, key="flaky-1", **variables)

    assert first.status_code == again.status_code == 200 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await TaskEvent.filter(task_id=task.id, action="COMMENTED").count() == 1


async def test_a_failing_receiver_later_gets_every_event_exactly_as_recorded(cluster: dict[str, Any]) -> None:
    admin = await sign_in("leading-group-office", UserRole.ADMIN, "管理员")
    token = await sign_in("education")
    with webhook_receiver() as receiver:
        receiver.failing = True
        hook = {"url": receiver.url, "eventKinds": ["TASK_CREATED", "TASK_CHANGED"]}
        made = (await call(cluster["a"], admin, CREATE_ENDPOINT, input=hook)).json()["data"]["webhookEndpointCreate"]
        receiver.secret = made["secret"]
        tasks = [await _task("education", f"回调：{n}") for n in range(3)]
        for n, task in enumerate(tasks):
            address = cluster["a" if n % 2 else "b"]
            answer = await call(address, token, COMMENT, id=global_id("Task", task.id), text=f"第{n}次")
            assert answer.json()["data"]["taskComment"]["userErrors"] == []

        async def failed_twice() -> bool:
            deliveries = await WebhookDelivery.all()
            return len(deliveries) == 6 and all(d.attempts >= 2 for d in deliveries)

        await eventually(failed_twice, "two failed attempts of each of the six deliveries")
        receiver.failing = False

        async def all_delivered() -> bool:
            return await WebhookDelivery.filter(status=DeliveryStatus.DELIVERED).count() == 6

        await eventually(all_delivered, "every delivery delivered")
        await asyncio.sleep(1.5)  # a little longer: nothing is sent again
        accepted = receiver.accepted()

    recorded = {f"msg_{d.id}": d for d in await WebhookDelivery.all()}
    assert sorted(r.message_id for r in accepted) == sorted(recorded)  # every event once, none twice
    for received in accepted:
        assert received.verified and received.payload == recorded[received.message_id].payload
    kinds = sorted(d.event_kind for d in recorded.values())
    assert kinds == ["task.changed"] * 3 + ["task.created"] * 3
    assert all(r.verified for r in receiver.received)  # the failed attempts were signed as well


@pytest.fixture(autouse=True)
async def _unused() -> AsyncIterator[None]:
    yield
