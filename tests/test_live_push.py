"""A change's live event is published by the process that committed it, right after the commit, and again by
the outbox's drain; a subscriber hears it once, never before the commit, never for a change rolled back; the
subscribers of a unit woken together read the database once. One process (the embedded bus), both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from tortoise.transactions import in_transaction

from api.app import create_app
from api.ids import global_id
from api.live import hub
from models import clock
from models.outbox import OutboxEvent
from models.tasks import Task
from models.units import Unit
from tasks.live import bus, committed
from tasks.live import events as live_events
from tasks.machinery import dispatch, jobs
from tasks.queue.workflow import create_task
from tests.security_support import AsgiWebSocket
from tests.support import count_queries, sign_in

QUEUE = "subscription { taskQueueCounts { openCount changedTasks { id version } } }"
COMMENT = """mutation($id: ID!, $text: String!) { taskComment(id: $id, input: {text: $text}) {
  task { id version } userErrors { code } } }"""


@pytest.fixture
async def live_hub(database: str) -> AsyncIterator[None]:
    await hub.start()
    yield
    await hub.stop()


@pytest.fixture
def no_drain(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The outbox is not drained after a nudge (as if the worker were slow): only the committing process publishes."""
    nudges: list[int] = []

    async def held() -> None:
        nudges.append(1)

    monkeypatch.setattr(dispatch, "_run_local", held)
    return nudges


async def _police_task(title: str) -> Task:
    police = await Unit.get(code="police")
    task, _ = await create_task(title=title, unit=police, due=clock.today() + timedelta(days=10))
    await jobs.process_outbox()  # its creation is old news before anyone subscribes
    return task


async def _subscribed(stack: AsyncExitStack, database: str, token: str) -> AsgiWebSocket:
    socket = await stack.enter_async_context(AsgiWebSocket(create_app(database)))
    assert (await socket.receive())["type"] == "websocket.accept"
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await socket.receive_message())["type"] == "connection_ack"
    await socket.send({"id": "1", "type": "subscribe", "payload": {"query": QUEUE}})
    first = await _update(socket)
    assert first["changedTasks"] == []
    return socket


async def _update(socket: AsgiWebSocket, seconds: float = 10) -> dict[str, Any]:
    message = await socket.receive_message(seconds)
    assert message["type"] == "next", message
    return message["payload"]["data"]["taskQueueCounts"]


async def _nothing_more(socket: AsgiWebSocket, seconds: float = 1.0) -> bool:
    try:
        message = await socket.receive(seconds)
    except TimeoutError:
        return True
    print("unexpected:", message)
    return False


async def _comment(client: httpx.AsyncClient, token: str, task: Task, text: str, **headers: str) -> int:
    answer = await client.post(
        "/graphql",
        json={"query": COMMENT, "variables": {"id": global_id("Task", task.id), "text": text}},
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    payload = answer.json()["data"]["taskComment"]
    assert payload["userErrors"] == []
    return payload["task"]["version"]


async def test_a_change_reaches_its_subscriber_from_the_committing_process_and_once_only(
    client: httpx.AsyncClient, database: str, live_hub: None, no_drain: list[int]
) -> None:
    task = await _police_task("推送：提交它的进程发布")
    token = await sign_in("police")
    async with AsyncExitStack() as stack:
        socket = await _subscribed(stack, database, token)

        version = await _comment(client, token, task, "第一条")
        pushed = await _update(socket)
        assert pushed["changedTasks"] == [{"id": global_id("Task", task.id), "version": version}]
        assert no_drain  # the worker was nudged, but the push did not wait for its drain
        assert await OutboxEvent.filter(topic="task.changed", processed_at=None).exists()

        assert await jobs.process_outbox() > 0  # the drain publishes the same event again
        assert await _nothing_more(socket)  # heard once

        version = await _comment(client, token, task, "第二条")
        again = await _update(socket)  # and the next change still comes
        assert again["changedTasks"] == [{"id": global_id("Task", task.id), "version": version}]
        assert await _nothing_more(socket)


async def test_a_change_the_committing_process_could_not_publish_comes_through_the_drain(
    client: httpx.AsyncClient, database: str, live_hub: None, no_drain: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def redis_away(message: dict[str, Any]) -> None:
        return None  # the committing process lost the bus (or died) right after its commit

    task = await _police_task("推送：提交后进程退出")
    token = await sign_in("police")
    async with AsyncExitStack() as stack:
        socket = await _subscribed(stack, database, token)
        with monkeypatch.context() as patched:
            patched.setattr(committed.bus, "publish", redis_away)
            version = await _comment(client, token, task, "无人发布")
        assert await _nothing_more(socket, 0.5)

        await jobs.process_outbox()
        pushed = await _update(socket)
        assert pushed["changedTasks"] == [{"id": global_id("Task", task.id), "version": version}]
        assert await _nothing_more(socket)


async def test_a_retried_mutation_with_an_idempotency_key_is_announced_after_its_commit(
    client: httpx.AsyncClient, database: str, live_hub: None, no_drain: list[int]
) -> None:
    task = await _police_task("推送：幂等键")
    token = await sign_in("police")
    async with AsyncExitStack() as stack:
        socket = await _subscribed(stack, database, token)
        version = await _comment(client, token, task, "带键", **{"Idempotency-Key": "push-once-1"})
        pushed = await _update(socket)
        assert pushed["changedTasks"] == [{"id": global_id("Task", task.id), "version": version}]
        assert await _comment(client, token, task, "带键", **{"Idempotency-Key": "push-once-1"}) == version
        await jobs.process_outbox()
        assert await _nothing_more(socket)  # the replay changed nothing; the drain's copy is not heard again


async def test_only_committed_events_are_published_and_only_after_the_commit(database: str) -> None:
    heard: list[dict[str, Any]] = []

    async def hear(message: dict[str, Any]) -> None:
        heard.append(message)

    task = await _police_task("推送：回滚")
    ready = asyncio.Event()
    listener = asyncio.create_task(bus.listen(hear, ready))
    await ready.wait()
    try:
        with committed.collecting():
            with pytest.raises(RuntimeError):
                async with in_transaction():
                    await live_events.tasks_changed(
                        live_events.LiveKind.TASK_CHANGED, [task.id], [task.assignee_unit_id]
                    )
                    raise RuntimeError("rolled back")
            await committed.publish()
            await asyncio.sleep(0.1)
            assert heard == []

            async with in_transaction():
                await live_events.tasks_changed(live_events.LiveKind.TASK_CHANGED, [task.id], [task.assignee_unit_id])
                await committed.publish()  # inside the transaction: not yet
                await asyncio.sleep(0.1)
                assert heard == []
            await committed.publish()
            await asyncio.sleep(0.1)
        kept = await OutboxEvent.filter(topic="task.changed").order_by("-id").first()
        assert kept is not None and kept.payload["task_ids"] == [task.id]  # the rolled-back one left no row
        assert [[e["id"] for e in m["events"]] for m in heard] == [[kept.id]]
        assert heard[0]["events"][0]["task_ids"] == [task.id] and heard[0]["source"] == "api"
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def test_the_subscribers_of_a_unit_woken_together_read_the_database_once(
    client: httpx.AsyncClient, database: str, live_hub: None, no_drain: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many of a unit's liaisons listen, and even when a message about another unit comes in while they
    are being woken, one change costs the same reads as for one subscriber."""

    async def held(message: dict[str, Any]) -> None:
        return None

    task = await _police_task("推送：一次读取")
    other = await Unit.get(code="education")

    async def statements_for(listeners: int, text: str) -> int:
        tokens = [await sign_in("police") for _ in range(listeners)]
        async with AsyncExitStack() as stack:
            sockets = [await _subscribed(stack, database, token) for token in tokens]
            with monkeypatch.context() as patched:
                patched.setattr(committed.bus, "publish", held)
                await _comment(client, tokens[0], task, text)
            event = await OutboxEvent.filter(topic="task.changed").order_by("-id").first()
            assert event is not None
            with count_queries() as counter:
                await bus.publish(live_events.summary([event]) or {})
                await bus.publish({"events": [{"id": -event.id, "unit_ids": [other.id]}]})  # another unit, at once
                for socket in sockets:
                    assert [t["id"] for t in (await _update(socket))["changedTasks"]] == [global_id("Task", task.id)]
            await jobs.process_outbox()
            return len(counter.statements)

    alone = await statements_for(1, "一个人听")
    assert alone > 0
    assert await statements_for(4, "四个人听") == alone
