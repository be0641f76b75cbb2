"""A task that falls overdue by the clock alone is announced once, within the minute: its unit's queue
subscribers see the overdue count move, and a webhook endpoint that asked for TASK_OVERDUE gets it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest

from api.app import create_app
from api.ids import global_id
from api.live import hub
from models import clock
from models.live import WebhookDelivery, WebhookEndpoint
from models.outbox import OutboxEvent
from models.tasks import Task, TaskStatus
from models.units import Unit
from tasks.live import falling_due
from tasks.machinery import jobs
from tasks.queue.workflow import create_task
from tests.security_support import AsgiWebSocket
from tests.support import sign_in

QUEUE = "subscription { taskQueueCounts { openCount overdueCount changedTasks { id } } }"


@pytest.fixture
async def live_hub(database: str) -> AsyncIterator[None]:
    await hub.start()
    yield
    await hub.stop()


async def _task(title: str, unit_code: str, due_at, cooperators: tuple[str, ...] = ()) -> Task:
    unit = await Unit.get(code=unit_code)
    helpers = [await Unit.get(code=code) for code in cooperators]
    task, _ = await create_task(title=title, unit=unit, due=clock.today() + timedelta(days=10), cooperators=helpers)
    await Task.filter(id=task.id).update(due_at=due_at)
    return task


async def _announced() -> list[dict]:
    return [e.payload for e in await OutboxEvent.filter(topic="task.overdue").order_by("id")]


async def test_each_deadline_is_announced_once_with_its_units_and_never_a_closed_task(database: str) -> None:
    start = clock.now().replace(microsecond=0)
    with clock.as_of(start):
        assert await falling_due.announce_overdue() == 0  # the first run: nothing fell due in the last minutes
    due = start + timedelta(seconds=30)
    shared = await _task("到期：公安局牵头", "police", due, cooperators=("education",))
    done = await _task("到期：已办结", "police", due)
    await Task.filter(id=done.id).update(status=TaskStatus.DONE)
    later = await _task("到期：明天", "police", start + timedelta(days=1))
    await jobs.process_outbox()  # their creation is old news

    with clock.as_of(start + timedelta(seconds=20)):
        assert await falling_due.announce_overdue() == 0  # not yet due
    with clock.as_of(start + timedelta(seconds=60)):
        assert await falling_due.announce_overdue() == 1
    with clock.as_of(start + timedelta(seconds=120)):
        assert await falling_due.announce_overdue() == 0  # announced once, whatever the window
    with clock.as_of(start + timedelta(seconds=90)):
        assert await falling_due.announce_overdue() == 0  # a clock set back announces nothing again

    police, education = await Unit.get(code="police"), await Unit.get(code="education")
    assert await _announced() == [
        {"task_ids": [shared.id], "unit_ids": sorted([police.id, education.id]), "case_ids": []}
    ]
    with clock.as_of(start + timedelta(days=2)):  # after a pause (the worker was down), none is skipped
        assert await falling_due.announce_overdue() == 1
    assert (await _announced())[-1]["task_ids"] == [later.id]


async def test_a_subscriber_sees_the_overdue_count_move_when_a_deadline_passes(database: str, live_hub: None) -> None:
    task = await _task("到期：推送", "police", clock.now() + timedelta(seconds=1.5))
    await jobs.process_outbox()
    token = await sign_in("police")
    async with AsyncExitStack() as stack:
        socket = await stack.enter_async_context(AsgiWebSocket(create_app(database)))
        assert (await socket.receive())["type"] == "websocket.accept"
        await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert (await socket.receive_message())["type"] == "connection_ack"
        await socket.send({"id": "1", "type": "subscribe", "payload": {"query": QUEUE}})
        first = (await socket.receive_message(10))["payload"]["data"]["taskQueueCounts"]
        assert first["overdueCount"] == 0 and first["openCount"] >= 1

        await asyncio.sleep(2)  # the deadline passes: no change of the task's own
        assert await jobs.announce_overdue() == 1  # what the worker runs every minute
        message = await socket.receive_message(10)
        assert message["type"] == "next", message
        pushed = message["payload"]["data"]["taskQueueCounts"]
        assert pushed["overdueCount"] == 1
        assert pushed["changedTasks"] == [{"id": global_id("Task", task.id)}]


async def test_an_endpoint_that_asked_for_it_gets_the_deadline_without_personal_data(database: str) -> None:
    police = await Unit.get(code="police")
    endpoint = await WebhookEndpoint.create(
        url="http://127.0.0.1:9/hook", event_kinds=["task.overdue"], secret="whsec_" + "A" * 32, unit=police
    )
    task = await _task("到期：通知外部系统", "police", clock.now() - timedelta(seconds=5))
    await jobs.process_outbox()
    assert await jobs.announce_overdue() == 1
    deliveries = await WebhookDelivery.filter(endpoint_id=endpoint.id)
    assert [d.event_kind for d in deliveries] == ["task.overdue"]
    payload = deliveries[0].payload
    assert payload["type"] == "task.overdue"
    assert payload["data"]["taskIds"] == [global_id("Task", task.id)]
    assert "到期" not in str(payload)  # ids and times, not the task's words
