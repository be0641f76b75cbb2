"""The pushed subscriptions in one process (the embedded bus), on both databases: one case's timeline
and the office's escalations; each first sends the state, then what the drained outbox publishes, and
each shows only what the viewer may see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from api.app import create_app
from api.ids import global_id
from api.live import hub
from models import clock
from models.units import Unit
from models.users import UserRole
from tasks.machinery import jobs
from tasks.queue.workflow import create_task
from tests.ladder_support import demo_student, record_absence
from tests.security_support import AsgiWebSocket, office_token
from tests.support import sign_in, sign_in_head_teacher

TIMELINE = "subscription($id: ID!) { caseTimeline(id: $id) { case { id absenceDays timeline { action } } } }"
ESCALATIONS = "subscription { officeEscalations { escalatedCount escalatedTasks { id title escalationLevel } } }"


@pytest.fixture
async def live_hub(database: str) -> AsyncIterator[None]:
    await hub.start()
    yield
    await hub.stop()


async def _signed_in(socket: AsgiWebSocket, token: str) -> None:
    assert (await socket.receive())["type"] == "websocket.accept"
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await socket.receive_message())["type"] == "connection_ack"


async def _subscribe(socket: AsgiWebSocket, query: str, **variables: object) -> None:
    await socket.send({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})


def _codes(message: dict) -> list[str]:
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors", [])
    return [e["extensions"]["code"] for e in errors]


async def test_a_case_timeline_is_sent_first_then_pushed_at_each_change(client, database: str, live_hub) -> None:
    teacher = await sign_in_head_teacher()
    student = await demo_student()
    first_day = date(2026, 9, 3)
    case_id = (await record_absence(client, teacher, student, first_day))["case"]["id"]

    async with AsgiWebSocket(create_app(database)) as socket:
        await _signed_in(socket, teacher)
        await _subscribe(socket, TIMELINE, id=case_id)
        first = (await socket.receive_message(10))["payload"]["data"]["caseTimeline"]["case"]
        assert first["id"] == case_id and first["timeline"]

        await record_absence(client, teacher, student, first_day + timedelta(days=1))  # drained here: published
        pushed = (await socket.receive_message(10))["payload"]["data"]["caseTimeline"]["case"]
        assert len(pushed["timeline"]) > len(first["timeline"])

    stranger = await sign_in("police")
    async with AsgiWebSocket(create_app(database)) as socket:
        await _signed_in(socket, stranger)
        await _subscribe(socket, TIMELINE, id=case_id)
        refused = await socket.receive_message(10)
    assert _codes(refused) == ["BAD_USER_INPUT"]  # not theirs: the same answer as a case that does not exist


async def test_the_office_hears_of_each_escalation_and_no_one_else_may_listen(client, database, live_hub) -> None:
    office = await office_token()
    async with AsgiWebSocket(create_app(database)) as socket:
        await _signed_in(socket, office)
        await _subscribe(socket, ESCALATIONS)
        first = (await socket.receive_message(10))["payload"]["data"]["officeEscalations"]
        assert first["escalatedTasks"] == []

        police = await Unit.get(code="police")
        task, _ = await create_task(title="逾期很久的任务", unit=police, due=clock.today() - timedelta(days=60))
        await jobs.tick(clock.today())  # the deadline sweep escalates it; the drained outbox publishes
        await jobs.process_outbox()
        pushed = (await socket.receive_message(10))["payload"]["data"]["officeEscalations"]
        while not pushed["escalatedTasks"]:
            pushed = (await socket.receive_message(10))["payload"]["data"]["officeEscalations"]
    assert pushed["escalatedCount"] == first["escalatedCount"] + 1
    assert pushed["escalatedTasks"] == [
        {"id": global_id("Task", task.id), "title": "逾期很久的任务", "escalationLevel": 2}
    ]

    liaison = await sign_in("police", UserRole.LIAISON)
    async with AsgiWebSocket(create_app(database)) as socket:
        await _signed_in(socket, liaison)
        await _subscribe(socket, ESCALATIONS)
        refused = await socket.receive_message(10)
    codes = [
        e["extensions"]["code"]
        for e in (refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"])
    ]
    assert codes == ["FORBIDDEN"]
