"""Students are checked field by field; every kind of 附件1 case can be opened; the high-school branch."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.ids import global_id
from models.cases import Case
from models.children import Student
from models.citizen_id import check_char, make
from models.units import Unit
from models.users import UserRole
from tests.ladder_support import CASE_FIELDS, demo_student, open_tasks, record_absence, run
from tests.support import error_codes, gql, sign_in, sign_in_head_teacher

CREATE = """
mutation($input: StudentCreateInput!) {
  studentCreate(input: $input) {
    student { id name citizenId school { code } household { township { code } village { code } guardians { name } } }
    userErrors { field code message }
  }
}"""

OPEN = (
    """
mutation($id: ID!, $kind: CaseKind!) {
  caseOpen(id: $id, input: {kind: $kind, day: "2026-09-01", note: "开学未报到"}) {
    case { ...CaseFields } userErrors { code field }
  }
}"""
    + CASE_FIELDS
)


async def _input(**changes: Any) -> dict[str, Any]:
    school = await Unit.get(code="demo-primary-1")
    township = await Unit.get(code="dafeng")
    village = await Unit.get(code="demo-dafeng-v1")
    born = date(2016, 2, 29)
    value = {
        "name": "【演示】新生",
        "gender": "FEMALE",
        "birthDate": born.isoformat(),
        "citizenId": make("652323", born, 555),
        "schoolId": global_id("Unit", school.id),
        "grade": 4,
        "townshipId": global_id("Unit", township.id),
        "villageId": global_id("Unit", village.id),
        "father": {"name": "【演示】父", "phone": "13900000001", "occupation": "务农"},
    }
    value.update(changes)
    return value


async def _create(client, token: str, **changes: Any) -> dict[str, Any]:
    result = await run(client, token, date(2026, 9, 1), CREATE, input=await _input(**changes))
    return result["studentCreate"]


async def test_a_student_is_recorded_with_household_and_guardians(client) -> None:
    token = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    created = await _create(client, token)
    assert created["userErrors"] == []
    student = created["student"]
    assert student["household"]["township"]["code"] == "dafeng"
    assert student["household"]["guardians"] == [{"name": "【演示】父"}]
    await Student.filter(citizen_id=student["citizenId"]).delete()


async def test_bad_student_data_is_refused_field_by_field_and_nothing_is_written(client) -> None:
    token = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    before = await Student.all().count()
    good_id = make("652323", date(2016, 2, 29), 555)
    wrong_check = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    impossible_day = "65232320160230123" + check_char("65232320160230123")
    cases = [
        ({"citizenId": wrong_check}, "citizenId", "INVALID"),
        ({"citizenId": "65232320160229"}, "citizenId", "INVALID"),
        ({"citizenId": make("652323", date(2016, 2, 28), 1)}, "birthDate", "INVALID"),
        ({"schoolId": global_id("Unit", (await Unit.get(code="police")).id)}, "schoolId", "FORBIDDEN"),
        ({"villageId": global_id("Unit", (await Unit.get(code="demo-wugongtai-v1")).id)}, "villageId", "INVALID"),
        ({"grade": 14}, "grade", "INVALID"),
        ({"name": "  "}, "name", "REQUIRED"),
        ({"citizenId": "652323201503121002", "birthDate": "2015-03-12"}, "citizenId", "DUPLICATE"),
        ({"citizenId": impossible_day}, "citizenId", "INVALID"),
        ({"father": {"name": "父", "phone": "call me"}}, "father.phone", "INVALID"),
    ]
    for changes, field, code in cases:
        refused = await _create(client, token, **changes)
        assert refused["student"] is None, changes
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(field, code)], changes
    assert await Student.all().count() == before


async def test_an_impossible_date_is_a_coded_input_error(client) -> None:
    token = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    result = await gql(client, CREATE, {"input": await _input(birthDate="2016-02-30")}, token)
    assert result["data"] is None
    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert "2016-02-30" in result["errors"][0]["message"]


async def test_every_kind_of_case_can_be_opened_by_hand_once(client) -> None:
    token = await sign_in("demo-primary-1", UserRole.PRINCIPAL)
    student = await demo_student()
    sid = global_id("Student", student.id)
    for kind in ("NOT_ENROLLED_GRADE1", "GRADE7_NOT_REPORTED", "ABSENT_WITHOUT_REASON", "HIGH_SCHOOL_DROPOUT"):
        opened = (await run(client, token, date(2026, 9, 1), OPEN, id=sid, kind=kind))["caseOpen"]
        assert opened["userErrors"] == [] and opened["case"]["kind"] == kind
        twice = (await run(client, token, date(2026, 9, 1), OPEN, id=sid, kind=kind))["caseOpen"]
        assert twice["userErrors"][0]["code"] == "DUPLICATE"
    assert await Case.filter(student_id=student.id).count() == 4


async def test_a_second_absence_joins_the_open_case_and_weekends_are_refused(client) -> None:
    token = await sign_in_head_teacher()
    student = await demo_student()
    first = await record_absence(client, token, student, date(2026, 9, 1))
    second = await record_absence(client, token, student, date(2026, 9, 2))
    assert first["case"]["id"] == second["case"]["id"]
    same_day = await record_absence(client, token, student, date(2026, 9, 2))
    assert same_day["userErrors"][0]["code"] == "DUPLICATE"
    saturday = await record_absence(client, token, student, date(2026, 9, 5))
    assert saturday["userErrors"] == [
        {"field": "day", "message": saturday["userErrors"][0]["message"], "code": "INVALID"}
    ]
    other_school = await sign_in("demo-middle-1", UserRole.HEAD_TEACHER)
    refused = await record_absence(client, other_school, student, date(2026, 9, 3))
    assert refused["userErrors"][0]["code"] == "NOT_FOUND"


async def test_high_school_dropout_sends_bureau_township_and_vocational_school_their_tasks(client) -> None:
    token = await sign_in("demo-high-1", UserRole.PRINCIPAL)
    student = await Student.get(school__code="demo-high-1")
    opened = (
        await run(
            client, token, date(2026, 9, 1), OPEN, id=global_id("Student", student.id), kind="HIGH_SCHOOL_DROPOUT"
        )
    )["caseOpen"]["case"]
    record = """mutation($id: ID!) { persuasionRecordAdd(id: $id, input: {kind: SCHOOL_HOME_VISIT, result: FAILED,
        persuaders: "校长", process: "学生坚持退学"}) { userErrors { code } } }"""
    assert (await run(client, token, date(2026, 9, 2), record, id=opened["id"]))["persuasionRecordAdd"][
        "userErrors"
    ] == []
    query = "query($id: ID!) { case(id: $id) { ...CaseFields } }" + CASE_FIELDS
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    case = (await run(client, office, date(2026, 9, 2), query, id=opened["id"]))["case"]
    assert case["stage"] == "VOCATIONAL_REFERRAL"
    units = {t["assigneeUnit"]["code"] for t in open_tasks(case)}
    assert {"education", "queergou", "demo-vocational-1"} <= units  # besides the school's own persuasion steps
    # The school sees the case but, of its tasks, only its own: the others' tasks are theirs (one gate).
    school_view = (await run(client, token, date(2026, 9, 2), query, id=opened["id"]))["case"]
    assert {t["assigneeUnit"]["code"] for t in open_tasks(school_view)} == {"demo-high-1"}
