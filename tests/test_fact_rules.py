"""Rules that follow a child: each fact becomes work for the right department, in order."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from api.ids import global_id
from models.children import Student
from models.users import UserRole
from tests.ladder_support import run, tick
from tests.security_support import office_token
from tests.support import sign_in

RECORD = """
mutation($id: ID!, $input: FactRecordInput!) {
  factRecord(id: $id, input: $input) {
    fact { id kind status tasks { id title status dueDate outcomeOptions assigneeUnit { code }
      cooperatingUnits { code } rule { code clause duty { code } } } }
    userErrors { field code message }
  }
}"""

FACT = """query($id: ID!) { node(id: $id) { ... on Fact { id status tasks { id title status dueDate outcomeOptions
  assigneeUnit { code } cooperatingUnits { code } rule { code } } } } }"""

COMPLETE = """mutation($id: ID!, $outcome: String!) { taskComplete(id: $id, input: {outcome: $outcome}) {
  task { status outcome } userErrors { field code } } }"""


async def _record(client: httpx.AsyncClient, token: str, student: Student, day: date, **fact: Any) -> dict[str, Any]:
    fact.setdefault("source", "村委会摸排")
    fact.setdefault("reason", "入户核查发现")
    result = await run(client, token, day, RECORD, id=global_id("Student", student.id), input=fact)
    assert result["factRecord"]["userErrors"] == [], result
    return result["factRecord"]["fact"]


async def _fact(client: httpx.AsyncClient, token: str, fact_id: str, day: date) -> dict[str, Any]:
    return (await run(client, token, day, FACT, id=fact_id))["node"]


def _by_unit(fact: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["assigneeUnit"]["code"]: t for t in fact["tasks"]}


async def test_disability_grading_then_placement_with_the_five_options(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    child = await Student.get(citizen_id="652323201904021061")  # grade 1 — enrolled
    await Student.filter(id=child.id).update(grade=0)  # not yet enrolled
    fact = await _record(
        client, office, child, date(2026, 9, 1), kind="DISABILITY", disabilityKind="HEARING", graded=False
    )
    fact = await _fact(client, office, fact["id"], date(2026, 9, 1))
    grading = _by_unit(fact)["disabled-federation"]
    assert "听力残疾" in grading["title"]
    assert grading["dueDate"] == "2026-10-01"
    assert grading["cooperatingUnits"] == [{"code": "education"}]
    assert grading["rule"]["code"] == "disability"
    assert "education" not in _by_unit(fact), "placement waits for the grading"

    federation = await sign_in("disabled-federation")
    done = await run(client, federation, date(2026, 9, 10), COMPLETE, id=grading["id"], outcome="已认定为二级听力残疾")
    assert done["taskComplete"]["task"]["status"] == "DONE"
    fact = await _fact(client, office, fact["id"], date(2026, 9, 10))
    placement = _by_unit(fact)["education"]
    assert placement["dueDate"] == "2026-09-25"
    assert placement["outcomeOptions"] == ["特殊教育学校就读", "普通学校就读", "儿童福利机构", "特教班就读", "送教上门"]

    bureau = await sign_in("education")
    wrong = await run(client, bureau, date(2026, 9, 11), COMPLETE, id=placement["id"], outcome="回家休养")
    assert wrong["taskComplete"]["userErrors"] == [{"field": "outcome", "code": "INVALID"}]
    right = await run(client, bureau, date(2026, 9, 11), COMPLETE, id=placement["id"], outcome="送教上门")
    assert right["taskComplete"]["task"]["outcome"] == "送教上门"
    await Student.filter(id=child.id).update(grade=1)


async def test_a_graded_child_in_school_needs_no_grading_and_no_placement(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    child = await Student.get(citizen_id="652323201407051016")
    fact = await _record(
        client, office, child, date(2026, 9, 1), kind="DISABILITY", disabilityKind="VISUAL", graded=True
    )
    assert (await _fact(client, office, fact["id"], date(2026, 9, 1)))["tasks"] == []


async def test_family_in_difficulty_goes_to_civil_affairs_the_bureau_and_the_school(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    child = await Student.get(citizen_id="652323201503121002")
    fact = await _record(client, school, child, date(2026, 9, 1), kind="FAMILY_IN_DIFFICULTY")
    mine = await _fact(client, school, fact["id"], date(2026, 9, 1))  # the school sees its own and shared tasks
    assert sorted(t["assigneeUnit"]["code"] for t in mine["tasks"]) == ["demo-primary-1", "education"]
    fact = await _fact(client, await office_token(), fact["id"], date(2026, 9, 1))
    units = sorted(t["assigneeUnit"]["code"] for t in fact["tasks"])
    assert units == ["civil-affairs", "civil-affairs", "demo-primary-1", "education"]
    care = next(t for t in fact["tasks"] if "妇联" in t["title"])
    assert sorted(c["code"] for c in care["cooperatingUnits"]) == ["women-federation", "youth-league"]


async def test_guardian_refuses_township_first_then_justice_if_still_out_after_the_deadline(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.PRINCIPAL)
    child = await Student.get(citizen_id="652323201503121002")
    await run(
        client,
        school,
        date(2026, 9, 1),
        'mutation($id: ID!) { absenceRecord(id: $id, input: {day: "2026-09-01"}) { userErrors { code } } }',
        id=global_id("Student", child.id),
    )
    fact = await _record(client, school, child, date(2026, 9, 1), kind="GUARDIAN_REFUSES")
    assert (await _fact(client, school, fact["id"], date(2026, 9, 1)))["tasks"] == []  # the township's, not ours
    office = await office_token()
    fact = await _fact(client, office, fact["id"], date(2026, 9, 1))
    assert [t["assigneeUnit"]["code"] for t in fact["tasks"]] == ["dafeng"]
    assert fact["tasks"][0]["dueDate"] == "2026-09-08"

    await tick(date(2026, 9, 8))  # the township's deadline has not passed yet
    assert len((await _fact(client, office, fact["id"], date(2026, 9, 8)))["tasks"]) == 1
    await tick(date(2026, 9, 9))  # past it, and the child is still out
    after = _by_unit(await _fact(client, office, fact["id"], date(2026, 9, 9)))
    assert after["justice"]["cooperatingUnits"] == [{"code": "dafeng"}]
    assert after["justice"]["dueDate"] == "2026-09-24"


async def test_no_legal_intervention_when_the_child_is_back(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.PRINCIPAL)
    child = await Student.get(citizen_id="652323201407051016")
    fact = await _record(client, school, child, date(2026, 9, 1), kind="GUARDIAN_REFUSES")
    await tick(date(2026, 9, 20))
    assert "justice" not in _by_unit(await _fact(client, await office_token(), fact["id"], date(2026, 9, 20)))


async def test_child_working_and_family_moved_away(client) -> None:
    township = await sign_in("dafeng")
    child = await Student.get(citizen_id="652323201503121002")
    working = await _record(client, township, child, date(2026, 9, 2), kind="CHILD_WORKING", detail="某汽修店")
    office = await office_token()
    working = await _fact(client, office, working["id"], date(2026, 9, 2))
    assert sorted(_by_unit(working)) == ["human-resources", "market-regulation"]
    assert "某汽修店" in _by_unit(working)["human-resources"]["title"]
    moved = await _record(client, township, child, date(2026, 9, 2), kind="FAMILY_MOVED_AWAY", detail="乌鲁木齐市")
    moved = await _fact(client, office, moved["id"], date(2026, 9, 2))
    assert sorted(_by_unit(moved)) == ["demo-primary-1", "education"]


async def test_withdrawing_a_fact_cancels_its_open_tasks_with_the_reason(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    child = await Student.get(citizen_id="652323201503121002")
    fact = await _record(client, school, child, date(2026, 9, 1), kind="LEFT_BEHIND")
    withdrawn = await run(
        client,
        school,
        date(2026, 9, 2),
        """mutation($id: ID!) { factWithdraw(id: $id, input: {reason: "登记错误，父母在本地"}) {
          fact { status withdrawnReason tasks { status history { action comment } } } userErrors { code } } }""",
        id=fact["id"],
    )
    fact = withdrawn["factWithdraw"]["fact"]
    assert fact["status"] == "WITHDRAWN"
    assert {t["status"] for t in fact["tasks"]} == {"CANCELLED"}
    assert all("登记错误" in t["history"][-1]["comment"] for t in fact["tasks"])


async def test_a_rule_fired_twice_creates_nothing_twice(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    child = await Student.get(citizen_id="652323201503121002")
    fact = await _record(client, school, child, date(2026, 9, 1), kind="MIGRANT")
    for _ in range(3):
        await tick(date(2026, 9, 3))
    assert len((await _fact(client, school, fact["id"], date(2026, 9, 3)))["tasks"]) == 1


async def test_bad_facts_are_refused_with_a_code(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    child = await Student.get(citizen_id="652323201503121002")
    sid = global_id("Student", child.id)
    for fact, field, code in [
        ({"kind": "DISABILITY"}, "disabilityKind", "REQUIRED"),
        ({"kind": "CHILD_WORKING"}, "detail", "REQUIRED"),
        ({"kind": "ORPHAN", "graded": True}, "disabilityKind", "INVALID"),
        ({"kind": "ORPHAN", "notedOn": "2026-12-01"}, "notedOn", "INVALID"),
        ({"kind": "ORPHAN", "source": " "}, "source", "REQUIRED"),
    ]:
        fact = {"source": "摸排", "reason": "核查", **fact}
        result = await run(client, school, date(2026, 9, 1), RECORD, id=sid, input=fact)
        assert [(e["field"], e["code"]) for e in result["factRecord"]["userErrors"]] == [(field, code)]
