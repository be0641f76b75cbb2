"""Working a task over GraphQL: claim, start, complete, comment, reassign, cancel, reopen.

Every refusal is a userError with a code, and leaves the task and its history as they were.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from api.ids import global_id, parse_global_id
from models import clock
from models.tasks import Task
from models.units import Unit
from models.users import UserRole
from tasks.queue.workflow import create_task
from tests.support import data_of, gql, sign_in

TASK = """
  id title status version outcome
  assigneeUnit { code }
  assignee { name }
  cooperatingUnits { code }
  history { action comment actor { name role } changes { field before after } }
"""

INPUTS = {
    "taskClaim": "TaskClaimInput",
    "taskStart": "TaskStartInput",
    "taskComplete": "TaskCompleteInput!",
    "taskComment": "TaskCommentInput!",
    "taskReassign": "TaskReassignInput!",
    "taskCancel": "TaskCancelInput!",
    "taskReopen": "TaskReopenInput!",
}


async def act(client, token: str, mutation: str, task_id: str, **input: Any) -> dict[str, Any]:
    query = (
        f"mutation($id: ID!, $input: {INPUTS[mutation]}) {{ {mutation}(id: $id, input: $input) "
        f"{{ task {{ {TASK} }} userErrors {{ field message code }} }} }}"
    )
    return data_of(await gql(client, query, {"id": task_id, "input": input or None}, token=token))[mutation]


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload["task"]


def refused(payload: dict[str, Any], code: str, field: str | None = "id") -> None:
    assert payload["task"] is None, payload
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)], payload["userErrors"]
    assert all(e["message"] for e in payload["userErrors"])


async def unit_id(code: str) -> str:
    return global_id("Unit", (await Unit.get(code=code)).id)


class Desk:
    """The people of this file: two education liaisons, a police liaison, the office."""

    def __init__(self, edu: str, edu2: str, police: str, office: str) -> None:
        self.edu, self.edu2, self.police, self.office = edu, edu2, police, office


@pytest.fixture
async def desk(database) -> Desk:
    return Desk(
        edu=await sign_in("education", name="教育局联络员甲"),
        edu2=await sign_in("education", name="教育局联络员乙"),
        police=await sign_in("police", name="公安局联络员"),
        office=await sign_in("leading-group-office", UserRole.OFFICE, name="办公室主任"),
    )


async def new_task(owner: str = "education", cooperators: tuple[str, ...] = ()) -> str:
    units = [await Unit.get(code=c) for c in cooperators]
    task, _ = await create_task(
        title="核查大丰镇适龄儿童入学情况",
        unit=await Unit.get(code=owner),
        due=clock.today() + timedelta(days=7),
        cooperators=units,
    )
    return global_id("Task", task.id)


@pytest.fixture
async def task_id(database) -> str:
    return await new_task()


async def snapshot(client, desk: Desk, task_id: str) -> dict[str, Any]:
    """The task as the office sees it, to show that a refusal changed nothing."""
    node = data_of(
        await gql(
            client,
            f"query($id: ID!) {{ node(id: $id) {{ ... on Task {{ {TASK} updatedAt }} }} }}",
            {"id": task_id},
            token=desk.office,
        )
    )["node"]
    assert node is not None
    return node


# -- the happy path ---------------------------------------------------------------------------


async def test_a_new_task_is_open_and_unclaimed_with_its_creation_in_history(client, desk, task_id) -> None:
    task = await snapshot(client, desk, task_id)

    assert task["status"] == "OPEN"
    assert task["version"] == 1
    assert task["assignee"] is None
    assert task["outcome"] is None
    assert task["history"] == [
        {
            "action": "CREATED",
            "comment": None,
            "actor": None,
            "changes": [
                {"field": "status", "before": None, "after": "OPEN"},
                {"field": "assigneeUnit", "before": None, "after": "education"},
            ],
        }
    ]


async def test_claim_start_complete(client, desk, task_id) -> None:
    claimed = ok(await act(client, desk.edu, "taskClaim", task_id))
    assert claimed["status"] == "OPEN"
    assert claimed["assignee"] == {"name": "教育局联络员甲"}
    assert claimed["version"] == 2
    assert claimed["history"][-1] == {
        "action": "CLAIMED",
        "comment": None,
        "actor": {"name": "教育局联络员甲", "role": "LIAISON"},
        "changes": [{"field": "assignee", "before": None, "after": "教育局联络员甲"}],
    }

    started = ok(await act(client, desk.edu, "taskStart", task_id, expectedVersion=2))
    assert started["status"] == "IN_PROGRESS"
    assert started["version"] == 3
    assert started["history"][-1]["action"] == "STARTED"
    assert started["history"][-1]["changes"] == [{"field": "status", "before": "OPEN", "after": "IN_PROGRESS"}]

    done = ok(
        await act(client, desk.edu, "taskComplete", task_id, outcome="已发放入学通知书 120 份", expectedVersion=3)
    )
    assert done["status"] == "DONE"
    assert done["outcome"] == "已发放入学通知书 120 份"
    assert done["version"] == 4
    assert done["assignee"] == {"name": "教育局联络员甲"}
    assert done["history"][-1] == {
        "action": "COMPLETED",
        "comment": "已发放入学通知书 120 份",
        "actor": {"name": "教育局联络员甲", "role": "LIAISON"},
        "changes": [
            {"field": "status", "before": "IN_PROGRESS", "after": "DONE"},
            {"field": "outcome", "before": None, "after": "已发放入学通知书 120 份"},
        ],
    }
    assert [e["action"] for e in done["history"]] == ["CREATED", "CLAIMED", "STARTED", "COMPLETED"]
    stored = await snapshot(client, desk, task_id)
    stored.pop("updatedAt")
    assert stored == done


async def test_start_claims_an_unclaimed_task(client, desk, task_id) -> None:
    started = ok(await act(client, desk.edu2, "taskStart", task_id))

    assert started["status"] == "IN_PROGRESS"
    assert started["assignee"] == {"name": "教育局联络员乙"}
    assert started["version"] == 2
    assert {c["field"] for c in started["history"][-1]["changes"]} == {"status", "assignee"}


async def test_complete_without_claiming_makes_you_the_assignee(client, desk, task_id) -> None:
    done = ok(await act(client, desk.edu2, "taskComplete", task_id, outcome="  已完成  "))

    assert done["status"] == "DONE"
    assert done["outcome"] == "已完成"
    assert done["assignee"] == {"name": "教育局联络员乙"}


async def test_comment_is_kept_in_history(client, desk, task_id) -> None:
    task = ok(await act(client, desk.edu, "taskComment", task_id, text="已电话联系家长"))

    assert task["status"] == "OPEN"
    assert task["history"][-1] == {
        "action": "COMMENTED",
        "comment": "已电话联系家长",
        "actor": {"name": "教育局联络员甲", "role": "LIAISON"},
        "changes": [],
    }


async def test_reassign_hands_the_task_to_another_unit(client, desk, task_id) -> None:
    ok(await act(client, desk.edu, "taskStart", task_id))

    moved = ok(
        await act(client, desk.edu, "taskReassign", task_id, unitId=await unit_id("police"), reason="需核对户籍信息")
    )

    assert moved["assigneeUnit"] == {"code": "police"}
    assert moved["assignee"] is None
    assert moved["status"] == "OPEN"
    assert moved["version"] == 3
    last = moved["history"][-1]
    assert last["action"] == "REASSIGNED"
    assert last["comment"] == "需核对户籍信息"
    assert last["actor"] == {"name": "教育局联络员甲", "role": "LIAISON"}
    assert {c["field"]: (c["before"], c["after"]) for c in last["changes"]} == {
        "assigneeUnit": ("education", "police"),
        "assignee": ("教育局联络员甲", None),
        "status": ("IN_PROGRESS", "OPEN"),
    }
    # The task has left education's desk and arrived on the police's.
    see = "query($id: ID!) { node(id: $id) { id } }"
    assert data_of(await gql(client, see, {"id": task_id}, token=desk.edu))["node"] is None
    assert data_of(await gql(client, see, {"id": task_id}, token=desk.police))["node"] == {"id": task_id}
    ok(await act(client, desk.police, "taskClaim", task_id))


async def test_office_cancels_and_reopens(client, desk, task_id) -> None:
    ok(await act(client, desk.edu, "taskClaim", task_id))

    cancelled = ok(await act(client, desk.office, "taskCancel", task_id, reason="重复任务", expectedVersion=2))
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["version"] == 3
    assert cancelled["history"][-1]["action"] == "CANCELLED"
    assert cancelled["history"][-1]["comment"] == "重复任务"
    assert cancelled["history"][-1]["actor"] == {"name": "办公室主任", "role": "OFFICE"}
    assert cancelled["history"][-1]["changes"] == [{"field": "status", "before": "OPEN", "after": "CANCELLED"}]

    reopened = ok(await act(client, desk.office, "taskReopen", task_id, reason="并非重复"))
    assert reopened["status"] == "OPEN"
    assert reopened["version"] == 4
    assert reopened["history"][-1]["action"] == "REOPENED"
    assert reopened["history"][-1]["changes"] == [{"field": "status", "before": "CANCELLED", "after": "OPEN"}]
    ok(await act(client, desk.edu, "taskComplete", task_id, outcome="办结"))


async def test_office_reopens_a_done_task_and_clears_its_outcome(client, desk, task_id) -> None:
    ok(await act(client, desk.edu, "taskComplete", task_id, outcome="已办结"))

    reopened = ok(await act(client, desk.office, "taskReopen", task_id, reason="材料不全"))

    assert reopened["status"] == "OPEN"
    assert reopened["outcome"] is None
    assert {c["field"]: (c["before"], c["after"]) for c in reopened["history"][-1]["changes"]} == {
        "status": ("DONE", "OPEN"),
        "outcome": ("已办结", None),
    }


async def test_a_cooperator_sees_and_comments_on_a_shared_task(client, desk) -> None:
    shared = await new_task("education", cooperators=("police",))

    task = ok(await act(client, desk.police, "taskComment", shared, text="户籍信息已提供"))

    assert task["cooperatingUnits"] == [{"code": "police"}]
    assert task["history"][-1]["actor"] == {"name": "公安局联络员", "role": "LIAISON"}


# -- refusals ---------------------------------------------------------------------------------


async def assert_unchanged(client, desk, task_id: str, attempt) -> dict[str, Any]:
    before = await snapshot(client, desk, task_id)
    payload = await attempt()
    assert await snapshot(client, desk, task_id) == before
    return payload


async def test_completing_a_cancelled_task_is_an_invalid_transition(client, desk, task_id) -> None:
    ok(await act(client, desk.office, "taskCancel", task_id, reason="不再需要"))

    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.edu, "taskComplete", task_id, outcome="已完成")
    )

    refused(payload, "INVALID_TRANSITION")


@pytest.mark.parametrize(
    ("mutation", "input"),
    [
        ("taskStart", {}),
        ("taskClaim", {}),
        ("taskComplete", {"outcome": "再次办结"}),
        ("taskCancel", {"reason": "取消"}),
    ],
)
async def test_a_done_task_refuses_further_work(client, desk, task_id, mutation: str, input: dict) -> None:
    ok(await act(client, desk.edu, "taskComplete", task_id, outcome="已完成"))
    token = desk.office if mutation == "taskCancel" else desk.edu

    payload = await assert_unchanged(client, desk, task_id, lambda: act(client, token, mutation, task_id, **input))

    refused(payload, "INVALID_TRANSITION")


async def test_starting_a_task_in_progress_is_an_invalid_transition(client, desk, task_id) -> None:
    ok(await act(client, desk.edu, "taskStart", task_id))

    payload = await assert_unchanged(client, desk, task_id, lambda: act(client, desk.edu, "taskStart", task_id))

    refused(payload, "INVALID_TRANSITION")


async def test_reopening_an_open_task_is_an_invalid_transition(client, desk, task_id) -> None:
    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.office, "taskReopen", task_id, reason="重开")
    )

    refused(payload, "INVALID_TRANSITION")


@pytest.mark.parametrize(
    ("mutation", "input"),
    [
        ("taskClaim", {}),
        ("taskStart", {}),
        ("taskComplete", {"outcome": "已完成"}),
        ("taskComment", {"text": "看看"}),
        ("taskReassign", {"unitId": "police", "reason": "转办"}),
    ],
)
async def test_another_units_task_is_not_found(client, desk, task_id, mutation: str, input: dict) -> None:
    if "unitId" in input:
        input = {**input, "unitId": await unit_id(input["unitId"])}

    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.police, mutation, task_id, **input)
    )

    refused(payload, "NOT_FOUND")


@pytest.mark.parametrize(
    ("mutation", "input"),
    [
        ("taskClaim", {}),
        ("taskStart", {}),
        ("taskComplete", {"outcome": "已完成"}),
        ("taskReassign", {"unitId": "police", "reason": "转给自己"}),
    ],
)
async def test_a_cooperator_may_not_work_the_owners_task(client, desk, mutation: str, input: dict) -> None:
    shared = await new_task("education", cooperators=("police",))
    if "unitId" in input:
        input = {**input, "unitId": await unit_id(input["unitId"])}

    payload = await assert_unchanged(client, desk, shared, lambda: act(client, desk.police, mutation, shared, **input))

    refused(payload, "FORBIDDEN")


async def test_a_stale_expected_version_is_refused(client, desk, task_id) -> None:
    ok(await act(client, desk.edu, "taskClaim", task_id))  # version 2 now

    payload = await assert_unchanged(
        client,
        desk,
        task_id,
        lambda: act(client, desk.edu, "taskComplete", task_id, outcome="已完成", expectedVersion=1),
    )

    refused(payload, "STALE_VERSION", "expectedVersion")


@pytest.mark.parametrize(
    ("mutation", "input", "field", "who"),
    [
        ("taskComplete", {"outcome": ""}, "outcome", "edu"),
        ("taskComplete", {"outcome": "   \n "}, "outcome", "edu"),
        ("taskComment", {"text": " "}, "text", "edu"),
        ("taskReassign", {"unitId": "police", "reason": ""}, "reason", "edu"),
        ("taskCancel", {"reason": "  "}, "reason", "office"),
    ],
)
async def test_an_empty_text_is_required(
    client, desk, task_id, mutation: str, input: dict, field: str, who: str
) -> None:
    if "unitId" in input:
        input = {**input, "unitId": await unit_id(input["unitId"])}
    token = getattr(desk, who)

    payload = await assert_unchanged(client, desk, task_id, lambda: act(client, token, mutation, task_id, **input))

    refused(payload, "REQUIRED", field)


async def test_reopen_needs_a_reason(client, desk, task_id) -> None:
    ok(await act(client, desk.office, "taskCancel", task_id, reason="取消"))

    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.office, "taskReopen", task_id, reason="")
    )

    refused(payload, "REQUIRED", "reason")


async def test_an_outcome_too_long_is_refused(client, desk, task_id) -> None:
    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.edu, "taskComplete", task_id, outcome="长" * 2001)
    )

    refused(payload, "TOO_LONG", "outcome")


async def test_a_liaison_may_not_cancel(client, desk, task_id) -> None:
    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.edu, "taskCancel", task_id, reason="不想做")
    )

    refused(payload, "FORBIDDEN")


async def test_a_liaison_may_not_reopen(client, desk, task_id) -> None:
    ok(await act(client, desk.edu, "taskComplete", task_id, outcome="已完成"))

    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.edu, "taskReopen", task_id, reason="还要改")
    )

    refused(payload, "FORBIDDEN")


async def test_reassigning_to_the_same_unit_is_refused(client, desk, task_id) -> None:
    education = await unit_id("education")

    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.edu, "taskReassign", task_id, unitId=education, reason="转办")
    )

    refused(payload, "SAME_UNIT", "unitId")


@pytest.mark.parametrize("target", [global_id("Unit", 999_999), "not-an-id", global_id("Task", 1)])
async def test_reassigning_to_no_unit_is_not_found(client, desk, task_id, target: str) -> None:
    payload = await assert_unchanged(
        client, desk, task_id, lambda: act(client, desk.edu, "taskReassign", task_id, unitId=target, reason="转办")
    )

    refused(payload, "NOT_FOUND", "unitId")


@pytest.mark.parametrize("mutation", ["taskClaim", "taskStart"])
async def test_a_task_claimed_by_a_colleague_is_already_claimed(client, desk, task_id, mutation: str) -> None:
    ok(await act(client, desk.edu, "taskClaim", task_id))

    payload = await assert_unchanged(client, desk, task_id, lambda: act(client, desk.edu2, mutation, task_id))

    refused(payload, "ALREADY_CLAIMED")


@pytest.mark.parametrize("bad_id", ["", "garbage", "VGFzazo", global_id("Task", 999_999), global_id("Unit", 1)])
async def test_a_malformed_or_unknown_id_is_not_found(client, desk, bad_id: str) -> None:
    payload = await act(client, desk.office, "taskComplete", bad_id, outcome="已完成")

    refused(payload, "NOT_FOUND")


async def test_a_failed_mutation_writes_nothing_to_the_database(client, desk, task_id) -> None:
    ok(await act(client, desk.office, "taskCancel", task_id, reason="取消"))
    row = await Task.get(id=parse_global_id(task_id, "Task")[1])
    events = await row.events.all().count()

    refused(await act(client, desk.edu, "taskComplete", task_id, outcome="已完成"), "INVALID_TRANSITION")

    again = await Task.get(id=row.id)
    assert (again.status, again.version, again.updated_at, again.outcome) == (
        row.status,
        row.version,
        row.updated_at,
        row.outcome,
    )
    assert await again.events.all().count() == events


async def test_two_completions_on_the_same_version_one_wins(client, desk, task_id) -> None:
    first, second = await asyncio.gather(
        act(client, desk.edu, "taskComplete", task_id, outcome="甲办结", expectedVersion=1),
        act(client, desk.edu2, "taskComplete", task_id, outcome="乙办结", expectedVersion=1),
    )

    outcomes = sorted([first, second], key=lambda p: bool(p["userErrors"]))
    winner = ok(outcomes[0])
    refused(outcomes[1], "STALE_VERSION", "expectedVersion")
    task = await snapshot(client, desk, task_id)
    assert task["version"] == 2
    assert task["outcome"] == winner["outcome"]
    assert [e["action"] for e in task["history"]] == ["CREATED", "COMPLETED"]


async def test_reassigning_to_a_cooperator_makes_it_the_owner_not_its_own_partner(client, desk) -> None:
    shared = await new_task("education", cooperators=("police", "justice"))

    moved = ok(
        await act(client, desk.edu, "taskReassign", shared, unitId=await unit_id("police"), reason="由公安局牵头")
    )

    assert moved["assigneeUnit"] == {"code": "police"}
    assert moved["cooperatingUnits"] == [{"code": "justice"}]
