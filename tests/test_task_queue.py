"""Who sees which tasks, in what order, filtered how, a page at a time."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import orjson
import pytest

from api.ids import global_id
from models import clock
from models.duties import Duty
from models.tasks import Task
from models.units import Unit
from models.users import User, UserRole
from tasks.queue.workflow import cancel_task, complete_task, create_task
from tests.support import data_of, error_codes, gql, sign_in

TASK = "id title status dueAt dueDate overdue version updatedAt assigneeUnit { code } cooperatingUnits { code }"

QUEUE = f"""
query($filter: TaskFilter, $first: Int, $after: String, $orderBy: TaskOrder! = DUE_SOONEST) {{
  viewer {{
    taskQueue(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {{
      totalCount
      edges {{ cursor node {{ {TASK} }} }}
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    }}
  }}
}}
"""

TASKS = f"""
query($filter: TaskFilter, $first: Int, $after: String, $orderBy: TaskOrder! = DUE_SOONEST) {{
  tasks(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {{
    totalCount
    edges {{ cursor node {{ {TASK} }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}
"""

UNIT_TASKS = f"""
query($code: String!, $filter: TaskFilter) {{
  unit(code: $code) {{ tasks(filter: $filter, first: 100) {{ totalCount nodes {{ {TASK} }} }} }}
}}
"""


async def queue(client, token: str, **variables: Any) -> dict[str, Any]:
    return data_of(await gql(client, QUEUE, variables, token=token))["viewer"]["taskQueue"]


async def tasks(client, token: str, **variables: Any) -> dict[str, Any]:
    return data_of(await gql(client, TASKS, variables, token=token))["tasks"]


def titles(connection: dict[str, Any]) -> list[str]:
    nodes = [e["node"] for e in connection["edges"]] if "edges" in connection else connection["nodes"]
    return [n["title"] for n in nodes]


async def unit(code: str) -> Unit:
    return await Unit.get(code=code)


async def make(
    title: str, owner: str, due: date | datetime, cooperators: tuple[str, ...] = (), duty: str | None = None
) -> Task:
    task, _ = await create_task(
        title=title,
        unit=await unit(owner),
        due=due,
        cooperators=[await unit(c) for c in cooperators],
        duty=await Duty.get(code=duty) if duty else None,
    )
    return task


@dataclass
class World:
    today: date
    edu: str
    police: str
    office: str
    ids: dict[str, str]


@pytest.fixture
async def world(database) -> World:
    """Education's desk, a police task shared with education, and work that is none of education's business."""
    today = clock.today()
    day = lambda n: today + timedelta(days=n)  # noqa: E731
    rows = {
        "教育局-已逾期": await make("教育局-已逾期", "education", day(-2)),
        "教育局-明天": await make("教育局-明天", "education", day(1), duty="quarterly-notice"),
        "教育局-十天后": await make("教育局-十天后", "education", day(10), duty="quarterly-notice"),
        "教育局-已办结": await make("教育局-已办结", "education", day(3)),
        "教育局-已取消": await make("教育局-已取消", "education", day(4)),
        "公安局-协办": await make("公安局-协办", "police", day(2), cooperators=("education", "justice")),
        "公安局-协办已办结": await make("公安局-协办已办结", "police", day(5), cooperators=("education",)),
        "公安局-自办": await make("公安局-自办", "police", day(1)),
        "大丰镇-自办": await make("大丰镇-自办", "dafeng", day(0)),
        "教育股-自办": await make("教育股-自办", "education-section", day(1)),
    }
    worker = await User.create(unit=await unit("education"), role=UserRole.LIAISON, name="办结人")
    police_worker = await User.create(unit=await unit("police"), role=UserRole.LIAISON, name="公安办结人")
    office_user = await User.create(unit=await unit("leading-group-office"), role=UserRole.OFFICE, name="办公室")
    await complete_task(worker, rows["教育局-已办结"].id, "已办结")
    await complete_task(police_worker, rows["公安局-协办已办结"].id, "已办结")
    await cancel_task(office_user, rows["教育局-已取消"].id, "重复")
    return World(
        today=today,
        edu=await sign_in("education"),
        police=await sign_in("police"),
        office=await sign_in("leading-group-office", UserRole.OFFICE),
        ids={title: global_id("Task", row.id) for title, row in rows.items()},
    )


EDU_QUEUE = ["教育局-已逾期", "教育局-明天", "公安局-协办", "教育局-十天后"]
EDU_VISIBLE = {*EDU_QUEUE, "教育局-已办结", "教育局-已取消", "公安局-协办已办结"}


# -- the liaison's queue -----------------------------------------------------------------------


async def test_the_queue_holds_own_and_shared_open_work_soonest_first(client, world) -> None:
    page = await queue(client, world.edu)

    assert titles(page) == EDU_QUEUE
    assert page["totalCount"] == 4
    assert {e["node"]["status"] for e in page["edges"]} == {"OPEN"}
    shared = next(e["node"] for e in page["edges"] if e["node"]["title"] == "公安局-协办")
    assert shared["assigneeUnit"] == {"code": "police"}
    assert {u["code"] for u in shared["cooperatingUnits"]} == {"education", "justice"}
    due = [datetime.fromisoformat(e["node"]["dueAt"]) for e in page["edges"]]
    assert due == sorted(due)


async def test_a_cooperator_finds_the_shared_task_in_its_queue_too(client, world) -> None:
    justice = await sign_in("justice")

    assert titles(await queue(client, justice)) == ["公安局-协办"]
    assert titles(await queue(client, world.police)) == ["公安局-自办", "公安局-协办"]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["DONE"], ["教育局-已办结", "公安局-协办已办结"]),
        (["CANCELLED"], ["教育局-已取消"]),
        (["IN_PROGRESS"], []),
        (["OPEN", "IN_PROGRESS", "DONE", "CANCELLED"], sorted(EDU_VISIBLE)),
    ],
)
async def test_the_queue_filters_by_status(client, world, statuses: list[str], expected: list[str]) -> None:
    page = await queue(client, world.edu, filter={"status": statuses})

    got = titles(page)
    assert (sorted(got) if len(statuses) > 1 else got) == expected
    assert page["totalCount"] == len(expected)


async def test_the_queue_filters_by_duty(client, world) -> None:
    duty = global_id("Duty", (await Duty.get(code="quarterly-notice")).id)

    page = await queue(client, world.edu, filter={"dutyId": duty})

    assert titles(page) == ["教育局-明天", "教育局-十天后"]
    assert page["totalCount"] == 2


async def test_the_queue_filters_by_overdue(client, world) -> None:
    assert titles(await queue(client, world.edu, filter={"overdue": True})) == ["教育局-已逾期"]
    assert titles(await queue(client, world.edu, filter={"overdue": False})) == EDU_QUEUE[1:]
    page = await queue(client, world.edu)
    assert [e["node"]["overdue"] for e in page["edges"]] == [True, False, False, False]


async def test_the_queue_filters_by_due_date_inclusive(client, world) -> None:
    day = lambda n: (world.today + timedelta(days=n)).isoformat()  # noqa: E731

    assert titles(await queue(client, world.edu, filter={"dueBefore": day(1)})) == ["教育局-已逾期", "教育局-明天"]
    assert titles(await queue(client, world.edu, filter={"dueAfter": day(2)})) == ["公安局-协办", "教育局-十天后"]
    assert titles(await queue(client, world.edu, filter={"dueAfter": day(1), "dueBefore": day(2)})) == [
        "教育局-明天",
        "公安局-协办",
    ]
    assert titles(await queue(client, world.edu, filter={"dueAfter": day(11)})) == []


async def test_due_days_are_county_days(client, world) -> None:
    """Due 23:30 in Hutubi is still that day; 00:30 the next morning is the next, whatever UTC says."""
    tz = clock.COUNTY_TZ
    late = await make("深夜到期", "education", datetime.combine(date(2030, 3, 1), time(23, 30), tz))
    early = await make("凌晨到期", "education", datetime.combine(date(2030, 3, 2), time(0, 30), tz))

    on_first = await queue(client, world.edu, filter={"dueAfter": "2030-03-01", "dueBefore": "2030-03-01"})
    on_second = await queue(client, world.edu, filter={"dueAfter": "2030-03-02", "dueBefore": "2030-03-02"})

    assert titles(on_first) == ["深夜到期"]
    assert titles(on_second) == ["凌晨到期"]
    node = on_first["edges"][0]["node"]
    assert node["dueDate"] == "2030-03-01"
    assert node["dueAt"].startswith("2030-03-01T23:30:00") and node["dueAt"].endswith("+08:00")
    assert on_second["edges"][0]["node"]["dueDate"] == "2030-03-02"
    assert late.id != early.id


async def test_a_task_due_by_a_day_is_due_at_the_end_of_that_day(client, world) -> None:
    await make("九月一日前", "education", date(2030, 9, 1))

    node = (await queue(client, world.edu, filter={"dueAfter": "2030-09-01"}))["edges"][0]["node"]

    assert node["dueDate"] == "2030-09-01"
    assert datetime.fromisoformat(node["dueAt"]) == datetime(2030, 9, 1, 23, 59, 59, tzinfo=clock.COUNTY_TZ)


async def test_overdue_follows_the_clock_without_any_write(client, world) -> None:
    now = datetime.combine(world.today, time(10, 0), clock.COUNTY_TZ)  # due and two hours on: the same county day
    await make("一小时后到期", "education", now + timedelta(hours=1))
    query = {"filter": {"dueAfter": world.today.isoformat(), "dueBefore": world.today.isoformat()}}
    with clock.as_of(now):
        before = (await queue(client, world.edu, **query))["edges"]
        assert "一小时后到期" not in titles(await queue(client, world.edu, filter={"overdue": True}))
        assert "一小时后到期" in titles(await queue(client, world.edu, filter={"overdue": False}))

    with clock.as_of(now + timedelta(hours=2)):
        after = (await queue(client, world.edu, **query))["edges"]
        overdue = titles(await queue(client, world.edu, filter={"overdue": True}))

    mine = lambda edges: next(e["node"] for e in edges if e["node"]["title"] == "一小时后到期")  # noqa: E731
    assert mine(before)["overdue"] is False
    assert mine(after)["overdue"] is True
    assert "一小时后到期" in overdue
    assert {k: v for k, v in mine(before).items() if k != "overdue"} == {
        k: v for k, v in mine(after).items() if k != "overdue"
    }


async def test_finished_work_is_never_overdue(client, world) -> None:
    with clock.as_of(clock.now() + timedelta(days=30)):
        page = await queue(client, world.edu, filter={"status": ["DONE", "CANCELLED"]})
        overdue = titles(await tasks(client, world.edu, filter={"overdue": True}))

    assert [e["node"]["overdue"] for e in page["edges"]] == [False, False, False]
    assert sorted(overdue) == sorted(EDU_QUEUE)


async def test_the_offices_own_queue_is_its_own_units_work(client, world) -> None:
    await make("办公室-自办", "leading-group-office", world.today + timedelta(days=1))

    assert titles(await queue(client, world.office)) == ["办公室-自办"]


# -- who sees what --------------------------------------------------------------------------


async def test_the_office_sees_every_task(client, world) -> None:
    page = await tasks(client, world.office, first=100)

    assert sorted(titles(page)) == sorted(world.ids)
    assert page["totalCount"] == len(world.ids) == await Task.all().count()


async def test_a_liaison_sees_only_own_and_shared_tasks(client, world) -> None:
    page = await tasks(client, world.edu, first=100)

    assert sorted(titles(page)) == sorted(EDU_VISIBLE)
    assert page["totalCount"] == len(EDU_VISIBLE)


async def test_a_liaison_filtering_on_another_units_tasks_sees_only_shared_ones(client, world) -> None:
    police = global_id("Unit", (await unit("police")).id)

    page = await tasks(client, world.edu, filter={"assigneeUnitId": police})

    assert titles(page) == ["公安局-协办", "公安局-协办已办结"]


@pytest.mark.parametrize(
    ("who", "code", "expected"),
    [
        ("edu", "police", ["公安局-协办", "公安局-协办已办结"]),
        ("edu", "dafeng", []),
        ("edu", "education-section", []),
        ("edu", "education", ["教育局-已逾期", "教育局-明天", "教育局-已办结", "教育局-已取消", "教育局-十天后"]),
        ("office", "police", ["公安局-自办", "公安局-协办", "公安局-协办已办结"]),
        ("police", "education", []),
    ],
)
async def test_a_units_task_list_shows_only_what_the_viewer_may_see(
    client, world, who: str, code: str, expected: list[str]
) -> None:
    result = data_of(await gql(client, UNIT_TASKS, {"code": code}, token=getattr(world, who)))

    listing = result["unit"]["tasks"]
    assert titles(listing) == expected
    assert listing["totalCount"] == len(expected)


NODE = "query($id: ID!) { node(id: $id) { id ... on Task { title } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Task { title } } }"


async def test_node_answers_a_hidden_task_exactly_as_a_missing_one(client, world) -> None:
    hidden = await gql(client, NODE, {"id": world.ids["公安局-自办"]}, token=world.edu)
    missing = await gql(client, NODE, {"id": global_id("Task", 999_999)}, token=world.edu)
    malformed = await gql(client, NODE, {"id": "not-an-id"}, token=world.edu)

    answers = [{k: v for k, v in r.items() if k != "extensions"} for r in (hidden, missing, malformed)]
    assert answers == [{"data": {"node": None}}] * 3


async def test_node_shows_own_and_shared_tasks(client, world) -> None:
    for title in ("教育局-明天", "公安局-协办"):
        node = data_of(await gql(client, NODE, {"id": world.ids[title]}, token=world.edu))["node"]
        assert node == {"id": world.ids[title], "title": title}


async def test_nodes_answers_in_order_with_null_for_what_is_not_yours(client, world) -> None:
    ids = [
        world.ids["教育局-明天"],
        world.ids["公安局-自办"],
        global_id("Task", 999_999),
        world.ids["公安局-协办"],
        "garbage",
    ]

    nodes = data_of(await gql(client, NODES, {"ids": ids}, token=world.edu))["nodes"]

    assert nodes == [
        {"id": ids[0], "title": "教育局-明天"},
        None,
        None,
        {"id": ids[3], "title": "公安局-协办"},
        None,
    ]
    everything = data_of(await gql(client, NODES, {"ids": ids}, token=world.office))["nodes"]
    assert [n and n["title"] for n in everything] == ["教育局-明天", "公安局-自办", None, "公安局-协办", None]


async def test_nodes_refuses_more_than_a_page_of_ids(client, world) -> None:
    result = await gql(client, NODES, {"ids": [world.ids["教育局-明天"]] * 101}, token=world.edu)

    assert error_codes(result) == ["BAD_USER_INPUT"]


# -- pages -----------------------------------------------------------------------------------


@pytest.fixture
async def many(database) -> dict[str, Any]:
    """30 tasks education sees (own and shared) on few due moments, so that pages split ties; others it does not."""
    base = datetime.combine(clock.today() + timedelta(days=3), time(17, 0), clock.COUNTY_TZ)
    moments = [base, base + timedelta(microseconds=250_000), base + timedelta(days=1), base - timedelta(days=5)]
    for i in range(23):
        await make(f"教育局-{i:02d}", "education", moments[i % len(moments)])
    for i in range(7):
        await make(f"公安局协办-{i:02d}", "police", moments[(i * 3) % len(moments)], cooperators=("education",))
    for i in range(5):
        await make(f"公安局-{i:02d}", "police", moments[i % len(moments)])
    return {"edu": await sign_in("education"), "office": await sign_in("leading-group-office", UserRole.OFFICE)}


ORDERS = {
    "DUE_SOONEST": lambda t: (t.due_at, t.id),
    "DUE_LATEST": lambda t: (-t.due_at.timestamp(), -t.id),
    "NEWEST": lambda t: -t.id,
}


async def expected_order(order: str, visible_to_education: bool = True) -> list[str]:
    rows = await Task.all()
    if visible_to_education:
        rows = [t for t in rows if not t.title.startswith("公安局-")]
    return [t.title for t in sorted(rows, key=ORDERS[order])]


async def walk(client, token: str, fetch, size: int, **variables: Any) -> tuple[list[str], list[dict[str, Any]]]:
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    after = None
    while True:
        page = await fetch(client, token, first=size, after=after, **variables)
        pages.append(page)
        seen += titles(page)
        if not page["pageInfo"]["hasNextPage"]:
            return seen, pages
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 50, "the pages never end"


@pytest.mark.parametrize("order", list(ORDERS))
@pytest.mark.parametrize("size", [1, 4, 7, 30, 100])
async def test_walking_the_queue_visits_every_task_once_in_order(client, many, order: str, size: int) -> None:
    seen, pages = await walk(client, many["edu"], queue, size, orderBy=order)

    assert seen == await expected_order(order)
    assert len(seen) == 30
    assert {p["totalCount"] for p in pages} == {30}
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False] + [True] * (len(pages) - 1)
    assert all(len(p["edges"]) == size for p in pages[:-1])
    for page in pages:
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]


@pytest.mark.parametrize("order", list(ORDERS))
async def test_the_office_walks_every_task(client, many, order: str) -> None:
    seen, pages = await walk(client, many["office"], tasks, 6, orderBy=order)

    assert seen == await expected_order(order, visible_to_education=False)
    assert pages[0]["totalCount"] == 35


async def test_a_page_stays_put_while_tasks_are_added(client, many) -> None:
    first = await queue(client, many["edu"], first=10)
    cursor_row = first["edges"][-1]["node"]
    cursor_due = datetime.fromisoformat(cursor_row["dueAt"])
    await make("新增-更早", "education", cursor_due - timedelta(days=1))
    await make("新增-同时", "education", cursor_due)
    await make("新增-协办更晚", "police", cursor_due + timedelta(days=30), cooperators=("education",))

    rest: list[str] = []
    after = first["pageInfo"]["endCursor"]
    while after:
        page = await queue(client, many["edu"], first=10, after=after)
        rest += titles(page)
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None

    everything = await expected_order("DUE_SOONEST")
    assert titles(first) + rest == [t for t in everything if t != "新增-更早"]
    assert "新增-同时" in rest and rest[-1] == "新增-协办更晚"


@pytest.mark.parametrize("first", [0, -1, 101, 1000])
async def test_a_page_size_outside_1_to_100_is_a_bad_input(client, many, first: int) -> None:
    for result in (
        await gql(client, QUEUE, {"first": first}, token=many["edu"]),
        await gql(client, TASKS, {"first": first}, token=many["office"]),
        await gql(client, "query($n: Int) { units(first: $n) { totalCount } }", {"n": first}, token=many["edu"]),
    ):
        assert error_codes(result) == ["BAD_USER_INPUT"], result
        assert "100" in result["errors"][0]["message"]


async def test_a_page_of_one_hundred_is_allowed(client, many) -> None:
    assert len((await tasks(client, many["office"], first=100))["edges"]) == 35


def forged(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "bm90LWpzb24",
        forged([]),
        forged({"due_at": 1}),
        forged([1, 2, 3]),
        forged([{"dt": "yesterday"}, 1]),
        forged(["2026-01-01", 1]),
        forged([{"dt": "2026-01-01T00:00:00+00:00"}, "one"]),
        forged([1, 1]),
        forged([{"dt": "2026-01-01T00:00:00+00:00"}, True]),
        forged([None, 1]),
    ],
)
async def test_a_cursor_this_list_did_not_hand_out_is_a_bad_input(client, many, cursor: str) -> None:
    result = await gql(client, QUEUE, {"first": 5, "after": cursor}, token=many["edu"])

    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"], result


async def test_a_cursor_from_another_list_is_a_bad_input(client, many) -> None:
    units = data_of(await gql(client, "{ units(first: 2) { pageInfo { endCursor } } }", token=many["edu"]))
    newest = await queue(client, many["edu"], first=2, orderBy="NEWEST")

    for cursor in (units["units"]["pageInfo"]["endCursor"], newest["pageInfo"]["endCursor"]):
        result = await gql(client, QUEUE, {"first": 5, "after": cursor}, token=many["edu"])
        assert error_codes(result) == ["BAD_USER_INPUT"], result
