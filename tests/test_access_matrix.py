"""docs/access.md, row by row, through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from api.ids import global_id
from models.children import Student
from models.units import Unit
from models.users import UserRole
from tasks.queue.workflow import create_task
from tests.ladder_support import run
from tests.support import sign_in, sign_in_head_teacher

DAY = date(2026, 9, 3)
PUPIL = "652323201503121002"  # 【演示】张小明, demo-primary-1, registered in 大丰镇 (demo-dafeng-v1)

STUDENT = """query($id: ID!) { node(id: $id) { ... on Student { name citizenId
  household { homeAddress guardians { phone } } facts { kind } } } }"""
ABSENCE = """mutation($id: ID!) { absenceRecord(id: $id, input: {day: "2026-09-03"}) {
  case { id } userErrors { code } } }"""


@dataclass
class People:
    head_teacher: str
    other_head_teacher: str
    school_office: str
    principal: str
    township: str
    police: str
    federation: str
    office: str
    admin: str
    pupil: Student

    @property
    def pupil_id(self) -> str:
        return global_id("Student", self.pupil.id)


@pytest.fixture
async def people(database: str) -> People:
    return People(
        head_teacher=await sign_in_head_teacher(),
        other_head_teacher=await sign_in("demo-primary-1", UserRole.HEAD_TEACHER, "【演示】班主任9"),
        school_office=await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE),
        principal=await sign_in("demo-primary-1", UserRole.PRINCIPAL),
        township=await sign_in("dafeng"),
        police=await sign_in("police"),
        federation=await sign_in("disabled-federation"),
        office=await sign_in("leading-group-office", UserRole.OFFICE),
        admin=await sign_in("leading-group-office", UserRole.ADMIN),
        pupil=await Student.get(citizen_id=PUPIL),
    )


async def ask(client, token: str, query: str, **variables: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return await run(client, token, DAY, query, **variables)


async def test_everyone_signed_in_sees_the_organisation_duties_and_rules(client, people: People) -> None:
    result = await ask(
        client, people.police, '{ unit(code: "supervision") { name } duties(first: 1) { totalCount } rules { code } }'
    )
    assert result["unit"]["name"] == "县人民政府教育督导室"
    assert result["duties"]["totalCount"] >= 25 and result["rules"]


async def test_a_task_is_seen_by_its_owner_and_cooperators_and_the_office_only(client, people: People) -> None:
    task, _ = await create_task(
        title="排查用工", unit=await Unit.get(code="police"), due=DAY, cooperators=[await Unit.get(code="dafeng")]
    )
    tid = global_id("Task", task.id)
    node = "query($id: ID!) { node(id: $id) { ... on Task { title } } }"
    for token, seen in [(people.police, True), (people.township, True), (people.office, True),
                        (people.admin, True), (people.federation, False), (people.school_office, False)]:  # fmt: skip
        assert ((await ask(client, token, node, id=tid))["node"] is not None) is seen

    complete = 'mutation($id: ID!) { taskComplete(id: $id, input: {outcome: "完成"}) { userErrors { code } } }'
    assert (await ask(client, people.township, complete, id=tid))["taskComplete"]["userErrors"] == [
        {"code": "FORBIDDEN"}
    ], "a cooperator does not complete the owner's task"
    comment = 'mutation($id: ID!) { taskComment(id: $id, input: {text: "已配合"}) { userErrors { code } } }'
    assert (await ask(client, people.township, comment, id=tid))["taskComment"]["userErrors"] == []
    cancel = 'mutation($id: ID!) { taskCancel(id: $id, input: {reason: "重复"}) { userErrors { code } } }'
    assert (await ask(client, people.police, cancel, id=tid))["taskCancel"]["userErrors"] == [{"code": "FORBIDDEN"}]
    assert (await ask(client, people.federation, complete, id=tid))["taskComplete"]["userErrors"] == [
        {"code": "NOT_FOUND"}
    ], "not visible answers as not existing"
    assert (await ask(client, people.office, cancel, id=tid))["taskCancel"]["userErrors"] == []


async def test_a_child_is_seen_only_with_a_reason(client, people: People) -> None:
    for token, seen in [(people.head_teacher, True), (people.other_head_teacher, False), (people.school_office, True),
                        (people.township, True), (people.police, False), (people.office, True)]:  # fmt: skip
        node = (await ask(client, token, STUDENT, id=people.pupil_id))["node"]
        assert (node is not None) is seen, token
    names = "{ students(first: 100) { nodes { name } } }"
    assert "【演示】张小明" not in str(await ask(client, people.police, names))
    assert "【演示】张小明" in str(await ask(client, people.township, names))
    assert "【演示】张小明" not in str(await ask(client, people.other_head_teacher, names))

    # A task about the child is a reason: the labour bureau, given one through a fact, now sees the child.
    fact = """mutation($id: ID!) { factRecord(id: $id, input: {kind: CHILD_WORKING, detail: "某餐馆",
      source: "摸排", reason: "发现务工"}) { userErrors { code } } }"""
    assert (await ask(client, people.township, fact, id=people.pupil_id))["factRecord"]["userErrors"] == []
    await run(client, people.office, DAY, "{ __typename }")
    from tasks.machinery import jobs

    await jobs.process_outbox()
    labour = await sign_in("human-resources")
    assert (await ask(client, labour, STUDENT, id=people.pupil_id))["node"]["name"] == "【演示】张小明"
    assert (await ask(client, people.police, STUDENT, id=people.pupil_id))["node"] is None


async def test_contacts_are_whole_for_school_and_township_masked_for_others_and_the_id_always(
    client, people: People
) -> None:
    whole = (await ask(client, people.school_office, STUDENT, id=people.pupil_id))["node"]
    assert whole["household"]["guardians"][0]["phone"] == "13990000000"
    assert whole["citizenId"] == "652323********1002"
    township = (await ask(client, people.township, STUDENT, id=people.pupil_id))["node"]
    assert township["household"]["guardians"][0]["phone"] == "13990000000"
    office = (await ask(client, people.office, STUDENT, id=people.pupil_id))["node"]
    assert office["household"]["guardians"][0]["phone"] == "139****0000"
    assert office["household"]["homeAddress"].endswith("***")

    reveal = """mutation($id: ID!) { studentReveal(id: $id, input: {fields: [CITIZEN_ID, GUARDIAN_PHONES],
      purpose: "填报报告单"}) { citizenId guardians { phone } userErrors { code } } }"""
    shown = (await ask(client, people.school_office, reveal, id=people.pupil_id))["studentReveal"]
    assert shown["citizenId"] == PUPIL and shown["guardians"][0]["phone"] == "13990000000"
    assert (await ask(client, people.police, reveal, id=people.pupil_id))["studentReveal"]["userErrors"] == [
        {"code": "NOT_FOUND"}
    ]


async def test_sensitive_facts_are_seen_only_by_those_who_work_on_them(client, people: People) -> None:
    record = """mutation($id: ID!, $kind: FactKind!, $d: DisabilityKind) { factRecord(id: $id, input: {kind: $kind,
      disabilityKind: $d, source: "摸排", reason: "核查"}) { userErrors { code } } }"""
    await ask(client, people.school_office, record, id=people.pupil_id, kind="DISABILITY", d="VISUAL")
    await ask(client, people.school_office, record, id=people.pupil_id, kind="LEFT_BEHIND", d=None)
    from tasks.machinery import jobs

    await jobs.process_outbox()

    def kinds(result: dict[str, Any]) -> set[str]:
        return {f["kind"] for f in result["node"]["facts"]}

    assert kinds(await ask(client, people.school_office, STUDENT, id=people.pupil_id)) == {"DISABILITY", "LEFT_BEHIND"}
    assert kinds(await ask(client, people.township, STUDENT, id=people.pupil_id)) == {"LEFT_BEHIND"}
    assert "DISABILITY" in kinds(await ask(client, people.federation, STUDENT, id=people.pupil_id))


async def test_case_acts_follow_the_school_roles(client, people: People) -> None:
    assert (await ask(client, people.other_head_teacher, ABSENCE, id=people.pupil_id))["absenceRecord"][
        "userErrors"
    ] == [{"code": "NOT_FOUND"}]
    assert (await ask(client, people.township, ABSENCE, id=people.pupil_id))["absenceRecord"]["userErrors"] == [
        {"code": "FORBIDDEN"}
    ]
    case = (await ask(client, people.head_teacher, ABSENCE, id=people.pupil_id))["absenceRecord"]["case"]
    close = """mutation($id: ID!) { caseClose(id: $id, input: {reason: "转学", evidence: "转学证明"}) {
      userErrors { code } } }"""
    assert (await ask(client, people.head_teacher, close, id=case["id"]))["caseClose"]["userErrors"] == [
        {"code": "FORBIDDEN"}
    ]
    persuade = """mutation($id: ID!) { persuasionRecordAdd(id: $id, input: {kind: OTHER, result: PENDING,
      persuaders: "乡镇干部", process: "入户"}) { userErrors { code } } }"""
    assert (await ask(client, people.township, persuade, id=case["id"]))["persuasionRecordAdd"]["userErrors"] == []
    assert (await ask(client, people.police, persuade, id=case["id"]))["persuasionRecordAdd"]["userErrors"] == [
        {"code": "NOT_FOUND"}
    ]
    assert (await ask(client, people.principal, close, id=case["id"]))["caseClose"]["userErrors"] == []


async def test_recording_students_and_withdrawing_facts(client, people: People) -> None:
    school = global_id("Unit", (await Unit.get(code="demo-primary-1")).id)
    create = """mutation($school: ID!, $township: ID!) { studentCreate(input: {name: "某", gender: MALE,
      birthDate: "2016-01-01", citizenId: "652323201601010000", schoolId: $school, grade: 3, townshipId: $township}) {
      userErrors { field code } } }"""
    township = global_id("Unit", (await Unit.get(code="dafeng")).id)
    for token in (people.head_teacher, people.township):
        result = await ask(client, token, create, school=school, township=township)
        assert result["studentCreate"]["userErrors"] == [{"field": "schoolId", "code": "FORBIDDEN"}]

    record = """mutation($id: ID!) { factRecord(id: $id, input: {kind: MIGRANT, source: "摸排", reason: "随迁"}) {
      fact { id } userErrors { code } } }"""
    fact = (await ask(client, people.school_office, record, id=people.pupil_id))["factRecord"]["fact"]
    withdraw = """mutation($id: ID!) { factWithdraw(id: $id, input: {reason: "误录"}) { userErrors { code } } }"""
    assert (await ask(client, people.township, withdraw, id=fact["id"]))["factWithdraw"]["userErrors"] == [
        {"code": "FORBIDDEN"}
    ]
    assert (await ask(client, people.school_office, withdraw, id=fact["id"]))["factWithdraw"]["userErrors"] == []
