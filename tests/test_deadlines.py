"""Deadlines that are kept: a reminder before, escalation after, one digest per unit per day."""

from __future__ import annotations

from datetime import date

from api.ids import global_id
from models.rules import Digest
from models.units import Unit
from models.users import UserRole
from tasks.queue.workflow import create_task
from tests.ladder_support import run, tick
from tests.support import sign_in

DIGEST = """query($day: Date!) { digest(day: $day) { day unit { code } reminders { title } escalations { title } } }"""
TASK = """query($id: ID!) { node(id: $id) { ... on Task { escalationLevel whyMine
  history { action comment changes { field before after } } } } }"""


async def _task(code: str, title: str, due: date) -> str:
    task, _ = await create_task(title=title, unit=await Unit.get(code=code), due=due)
    return global_id("Task", task.id)


async def test_a_reminder_arrives_in_the_days_before_the_deadline(client) -> None:
    await _task("police", "提供0-18周岁户籍信息", date(2026, 9, 10))
    liaison = await sign_in("police")
    await tick(date(2026, 9, 7))
    assert (await run(client, liaison, date(2026, 9, 7), DIGEST, day="2026-09-07"))["digest"] is None
    await tick(date(2026, 9, 8))
    digest = (await run(client, liaison, date(2026, 9, 8), DIGEST, day="2026-09-08"))["digest"]
    assert digest["reminders"] == [{"title": "提供0-18周岁户籍信息"}]
    assert digest["escalations"] == []


async def test_overdue_tasks_escalate_to_the_leader_then_the_office_once_each(client) -> None:
    task_id = await _task("police", "提供0-18周岁户籍信息", date(2026, 9, 10))
    await _task("finance", "已办结的任务", date(2026, 9, 10))
    liaison = await sign_in("police")
    office = await sign_in("leading-group-office", UserRole.OFFICE)

    await tick(date(2026, 9, 10))
    assert (await run(client, liaison, date(2026, 9, 10), TASK, id=task_id))["node"]["escalationLevel"] == 0
    await tick(date(2026, 9, 11))
    await tick(date(2026, 9, 11))
    first = (await run(client, liaison, date(2026, 9, 11), TASK, id=task_id))["node"]
    assert first["escalationLevel"] == 1
    assert [h["comment"] for h in first["history"] if h["action"] == "ESCALATED"] == ["逾期1天，升级至本单位负责人"]
    assert "已逾期升级（第1级）" in first["whyMine"]
    police_digest = (await run(client, liaison, date(2026, 9, 11), DIGEST, day="2026-09-11"))["digest"]
    assert police_digest["escalations"] == [{"title": "提供0-18周岁户籍信息"}]

    await tick(date(2026, 9, 13))
    second = (await run(client, liaison, date(2026, 9, 13), TASK, id=task_id))["node"]
    assert second["escalationLevel"] == 2
    assert [h["changes"][0]["after"] for h in second["history"] if h["action"] == "ESCALATED"] == ["1", "2"]
    office_digest = (await run(client, office, date(2026, 9, 13), DIGEST, day="2026-09-13"))["digest"]
    assert office_digest["unit"]["code"] == "leading-group-office"
    assert {"title": "提供0-18周岁户籍信息"} in office_digest["escalations"]

    escalated = await run(
        client, office, date(2026, 9, 13), "{ tasks(filter: {escalated: true}) { totalCount nodes { title } } }"
    )
    assert escalated["tasks"]["totalCount"] == 2  # the police's and the finance bureau's
    assert await Digest.filter(day=date(2026, 9, 11)).count() == len(
        set(await Digest.filter(day=date(2026, 9, 11)).values_list("unit_id", flat=True))
    )


async def test_done_tasks_are_never_escalated(client) -> None:
    task_id = await _task("finance", "保障经费", date(2026, 9, 10))
    liaison = await sign_in("finance")
    done = await run(
        client,
        liaison,
        date(2026, 9, 9),
        'mutation($id: ID!) { taskComplete(id: $id, input: {outcome: "已拨付"}) { task { status } } }',
        id=task_id,
    )
    assert done["taskComplete"]["task"]["status"] == "DONE"
    await tick(date(2026, 9, 20))
    assert (await run(client, liaison, date(2026, 9, 20), TASK, id=task_id))["node"]["escalationLevel"] == 0
