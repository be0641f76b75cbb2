"""Accountability (四(一)1, 五(一)): 约谈, 通报 and 限期整改, linked to what caused them."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.ids import global_id
from models import clock
from models.office import AccountabilityMeasure
from models.tasks import Task
from models.units import Unit
from models.users import UserRole
from tests.ladder_support import tick
from tests.office_support import AS_OF, small_county
from tests.support import data_of, gql, sign_in

RECORD = """mutation($id: ID!, $input: AccountabilityMeasureRecordInput!) {
  accountabilityMeasureRecord(id: $id, input: $input) {
    measure { id kind schoolYear summary decidedOn deadline unit { code }
      indicators { indicator name schoolYear value target }
      causes { title } task { id title kind dueDate assigneeUnit { code } } recordedBy { name } }
    userErrors { field message code } } }"""
LIST = """query($unit: ID, $year: String) { accountabilityMeasures(unitId: $unit, schoolYear: $year) {
  totalCount nodes { id kind unit { code } summary } } }"""
NODE = "query($id: ID!) { node(id: $id) { id ... on AccountabilityMeasure { kind } } }"


async def call(client, token: str, query: str, **variables: Any) -> dict[str, Any]:
    with clock.as_of(clock.parse_moment(AS_OF)):
        return data_of(await gql(client, query, variables, token))


async def unit_id(code: str) -> str:
    return global_id("Unit", (await Unit.get(code=code)).id)


async def test_a_rectification_order_becomes_a_task_that_escalates(client) -> None:
    made = await small_county()
    office = await sign_in("leading-group-office", UserRole.OFFICE, "马明艳")
    overdue = global_id("Task", made["d3"].id)
    result = await call(
        client,
        office,
        RECORD,
        id=await unit_id("dafeng"),
        input={
            "kind": "RECTIFICATION",
            "summary": "入学通知书发放逾期，限期整改",
            "taskIds": [overdue],
            "indicators": [{"indicator": "enrolment", "schoolYear": "2026-2027", "value": 0.96}],
            "deadline": "2026-11-15",
        },
    )
    payload = result["accountabilityMeasureRecord"]
    assert payload["userErrors"] == []
    measure = payload["measure"]
    assert (measure["kind"], measure["schoolYear"], measure["unit"]["code"]) == ("RECTIFICATION", "2026-2027", "dafeng")
    assert measure["causes"] == [{"title": "dafeng 2026-10-10"}]
    assert measure["indicators"] == [
        {
            "indicator": "enrolment",
            "name": "适龄儿童、少年入学率",
            "schoolYear": "2026-2027",
            "value": 0.96,
            "target": 1.0,
        }
    ]
    assert measure["recordedBy"] == {"name": "马明艳"}
    task = measure["task"]
    assert (task["kind"], task["dueDate"], task["assigneeUnit"]["code"]) == ("RECTIFICATION", "2026-11-15", "dafeng")
    assert task["title"].startswith("限期整改：")

    township = await sign_in("dafeng")
    queue = await call(client, township, "{ viewer { taskQueue(first: 50) { nodes { id } } } }")
    assert task["id"] in [n["id"] for n in queue["viewer"]["taskQueue"]["nodes"]]
    await tick(date(2026, 11, 17))  # two days late: raised to the township's leader, like any task
    row = await Task.get(unique_key__startswith="rectification:")
    assert row.escalation_level == 1


async def test_refusals_name_the_field_and_change_nothing(client) -> None:
    made = await small_county()
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    dafeng = await unit_id("dafeng")
    overdue, not_due, other = (global_id("Task", made[k].id) for k in ("d3", "d4", "w1"))

    async def refused(token: str, **input: Any) -> list[dict[str, Any]]:
        base = {"kind": "INTERVIEW", "summary": "约谈乡镇主要负责人", "taskIds": [overdue]}
        result = await call(client, token, RECORD, id=dafeng, input={**base, **input})
        return [{"field": e["field"], "code": e["code"]} for e in result["accountabilityMeasureRecord"]["userErrors"]]

    assert await refused(await sign_in("dafeng")) == [{"field": "id", "code": "FORBIDDEN"}]
    assert await refused(office, taskIds=[not_due]) == [{"field": "taskIds", "code": "INVALID"}]
    assert await refused(office, taskIds=[other]) == [{"field": "taskIds", "code": "INVALID"}]
    assert await refused(office, taskIds=[]) == [{"field": "taskIds", "code": "REQUIRED"}]
    assert await refused(office, kind="RECTIFICATION") == [{"field": "deadline", "code": "REQUIRED"}]
    assert await refused(office, kind="RECTIFICATION", deadline="2026-10-01") == [
        {"field": "deadline", "code": "INVALID"}
    ]
    assert await refused(office, deadline="2026-12-01") == [{"field": "deadline", "code": "INVALID"}]
    bad_target = [{"indicator": "happiness", "schoolYear": "2026-2027"}]
    assert await refused(office, indicators=bad_target) == [{"field": "indicators", "code": "INVALID"}]
    assert await refused(office, summary=" ") == [{"field": "summary", "code": "REQUIRED"}]
    assert await AccountabilityMeasure.all().count() == 0
    assert await Task.filter(kind="RECTIFICATION").count() == 0


async def test_measures_are_listed_per_unit_and_school_year_and_seen_by_that_unit_only(client) -> None:
    made = await small_county()
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    overdue = global_id("Task", made["d3"].id)
    for kind in ("INTERVIEW", "NOTICE"):
        await call(
            client,
            office,
            RECORD,
            id=await unit_id("dafeng"),
            input={"kind": kind, "summary": kind, "taskIds": [overdue]},
        )
    late = global_id("Task", made["s2"].id)
    school = await call(
        client,
        office,
        RECORD,
        id=await unit_id("demo-primary-1"),
        input={"kind": "NOTICE", "summary": "通报", "taskIds": [late]},
    )
    school_measure = school["accountabilityMeasureRecord"]["measure"]["id"]
    everything = (await call(client, office, LIST))["accountabilityMeasures"]
    assert everything["totalCount"] == 3
    dafeng = (await call(client, office, LIST, unit=await unit_id("dafeng"), year="2026-2027"))[
        "accountabilityMeasures"
    ]
    assert [n["kind"] for n in dafeng["nodes"]] == ["NOTICE", "INTERVIEW"]  # newest first
    assert (await call(client, office, LIST, year="2025-2026"))["accountabilityMeasures"]["totalCount"] == 0
    township = await sign_in("dafeng")
    own = (await call(client, township, LIST))["accountabilityMeasures"]
    assert {n["unit"]["code"] for n in own["nodes"]} == {"dafeng"} and own["totalCount"] == 2
    assert (await call(client, township, NODE, id=school_measure))["node"] is None
    other = await sign_in("wugongtai")
    assert (await call(client, other, LIST))["accountabilityMeasures"]["totalCount"] == 0
    assert (await call(client, office, NODE, id=school_measure))["node"]["kind"] == "NOTICE"
