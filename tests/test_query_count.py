"""A page of tasks costs a fixed number of SQL queries, however many tasks it holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import clock
from models.duties import Duty
from models.units import Unit
from models.users import User, UserRole
from tasks.queue.workflow import claim_task, comment_task, create_task
from tests.conftest import BACKEND
from tests.support import count_queries, data_of, gql, sign_in

PAGE = """
query($first: Int!) {
  tasks(first: $first) {
    totalCount
    edges {
      cursor
      node {
        id title status dueAt overdue version
        assigneeUnit { name }
        duty { clause }
        assignee { name }
        cooperatingUnits { code }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

QUEUE = """
query($first: Int!) {
  viewer {
    taskQueue(first: $first) {
      totalCount
      nodes {
        id title overdue
        assigneeUnit { name }
        duty { clause }
        assignee { name }
        cooperatingUnits { code }
        history { action actor { name } changes { field before after } }
      }
    }
  }
}
"""

OWNERS = ["education", "police", "dafeng", "civil-affairs", "demo-primary-1", "finance", "justice"]
PARTNERS = ["education", "women-federation", "youth-league", "supervision"]
DUTIES = ["registry-cross-check", "admission-notices", "absence-monitoring", "school-funding"]

# What one page costs: the sign-in, the page, totalCount, then one query per relation asked for
# (units, duties, claimed users, cooperator links). The liaison's queue merges two lists (own and
# shared) in one statement, but counts them in two; its history costs the events and the actors
# who are not already loaded as assignees. The first of two pages is answered by Strawberry, the
# second by the query's plan (api/compiled): the counts hold for both.
OFFICE_PAGE_QUERIES = 7
QUEUE_PAGE_QUERIES = 10
# On PostgreSQL, once Strawberry has answered the office's page, one statement builds the whole page (its JSON
# included) and checks the token of the viewer presumed since the first answer: api/compiled/sql_plan.py.
COMPILED_PAGE_QUERIES = 1 if BACKEND == "postgres" else OFFICE_PAGE_QUERIES


@pytest.fixture
async def busy_county(database) -> None:
    """150 tasks over seven units: some carry duties, some are shared, some claimed, some commented on by the office.

    The soonest-due tasks (every 40th) are claimed and commented on, so a page of 10 asks for every relation too.
    """
    units = {code: await Unit.get(code=code) for code in {*OWNERS, *PARTNERS}}
    duties = [await Duty.get(code=code) for code in DUTIES]
    workers = {
        code: await User.create(unit=units[code], role=UserRole.LIAISON, name=f"{code}-办事员") for code in OWNERS
    }
    office = await User.create(unit=await Unit.get(code="leading-group-office"), role=UserRole.OFFICE, name="督办员")
    start = clock.today() - timedelta(days=20)
    for i in range(150):
        owner = "education" if i % 2 == 0 else OWNERS[i % len(OWNERS)]
        partners = [units[p] for p in PARTNERS[: i % 3]] if i % 2 else [units["education"], units["supervision"]]
        task, _ = await create_task(
            title=f"任务{i:03d}",
            unit=units[owner],
            due=start + timedelta(days=i % 40),
            duty=duties[i % len(duties)] if i % 3 else None,
            cooperators=partners,
        )
        if i % 4 == 0:
            await claim_task(workers[owner], task.id)
        if i % 5 == 0:
            await comment_task(office, task.id, f"请报进展{i}")


async def page_cost(client, query: str, token: str, first: int) -> tuple[int, dict]:
    with count_queries() as counter:
        result = await gql(client, query, {"first": first}, token=token)
    return len(counter.statements), data_of(result)


async def test_a_page_of_100_tasks_costs_what_a_page_of_10_costs(client, busy_county) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)

    first, _ = await page_cost(client, PAGE, office, 10)  # Strawberry's answer
    small, small_page = await page_cost(client, PAGE, office, 10)
    large, large_page = await page_cost(client, PAGE, office, 100)

    assert len(small_page["tasks"]["edges"]) == 10
    edges = large_page["tasks"]["edges"]
    assert len(edges) == 100
    assert {e["node"]["assigneeUnit"]["name"] for e in edges} >= {"县教育局", "县公安局", "大丰镇"}
    assert any(e["node"]["duty"] for e in edges) and any(e["node"]["duty"] is None for e in edges)
    assert any(e["node"]["assignee"] for e in edges) and any(e["node"]["cooperatingUnits"] for e in edges)
    assert first == OFFICE_PAGE_QUERIES, first
    assert small == large == COMPILED_PAGE_QUERIES, (small, large)


async def test_a_liaisons_queue_page_costs_the_same_at_any_size(client, busy_county) -> None:
    liaison = await sign_in("education")

    small, small_page = await page_cost(client, QUEUE, liaison, 10)
    large, large_page = await page_cost(client, QUEUE, liaison, 100)

    nodes = large_page["viewer"]["taskQueue"]["nodes"]
    assert len(small_page["viewer"]["taskQueue"]["nodes"]) == 10
    assert len(nodes) == 100
    assert {n["assigneeUnit"]["name"] for n in nodes} > {"县教育局"}
    assert any(len(n["history"]) > 1 for n in nodes)
    assert small == large == QUEUE_PAGE_QUERIES, (small, large)
