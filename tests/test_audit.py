"""The audit trail records each kind of act, the office reads it, and nothing can change it."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import httpx
import orjson
import pytest
from tortoise import connections

from api.ids import global_id
from api.schema import schema
from models.accounts import authenticate, issue_token, revoke_token
from models.audit import AuditAction, AuditEntry
from models.children import Household, Student
from models.citizen_id import make
from models.units import Unit
from models.users import User, UserRole
from tasks.queue.workflow import create_task
from tests.conftest import BACKEND
from tests.security_support import CLASS_NAMES, office_token, post
from tests.support import data_of, error_codes, sign_in
from tests.test_documents import download, file_case

TRAIL = """query($filter: AuditFilter, $first: Int) { auditTrail(filter: $filter, first: $first) {
  totalCount nodes { at action actorId actorName source operation target outcome detail requestId } } }"""
COMMENT = """mutation($id: ID!) { taskComment(id: $id, input: {text: "已电话联系家长"}) {
  task { id } userErrors { code } } }"""
CANCEL = """mutation($id: ID!) { taskCancel(id: $id, input: {reason: "重复"}) { task { id } userErrors { code } } }"""
CREATE_STUDENT = """mutation($input: StudentCreateInput!) { studentCreate(input: $input) {
  student { id citizenId } userErrors { code field } } }"""
REVEAL = """mutation($id: ID!, $purpose: String!) {
  studentReveal(id: $id, input: {fields: [CITIZEN_ID, GUARDIAN_PHONES],
  purpose: $purpose}) { citizenId homeAddress guardians { phone } userErrors { code } } }"""
PUPIL = "652323201503121002"
ADDRESS = "127.0.0.1"  # httpx's ASGI transport calls from here


async def person(unit: str, role: UserRole = UserRole.LIAISON, name: str = "审计测试") -> tuple[str, User]:
    token = await sign_in(unit, role, name)
    user = await authenticate(token)
    assert user is not None
    return token, user


async def trail(client: httpx.AsyncClient, reader: str, **audit_filter: Any) -> list[dict[str, Any]]:
    """The audit trail as the office reads it through the API, newest first."""
    result = await post(client, TRAIL, reader, {"filter": audit_filter, "first": 100})
    return data_of(result.json())["auditTrail"]["nodes"]


def line_text(line: dict[str, Any] | AuditEntry) -> str:
    if isinstance(line, AuditEntry):
        line = {k: v for k, v in line.__dict__.items() if not k.startswith("_")}
    return orjson.dumps(line, default=str).decode()


@pytest.fixture
async def office(database: str) -> str:
    return await office_token()


async def test_a_mutation_done_and_one_refused_each_leave_a_write_line(client, office: str) -> None:
    education = await Unit.get(code="education")
    task, _ = await create_task(title="审计：走访", unit=education, due=date(2026, 9, 30))
    tid = global_id("Task", task.id)
    token, user = await person("education")

    done = data_of((await post(client, COMMENT, token, {"id": tid})).json())["taskComment"]
    refused = data_of((await post(client, CANCEL, token, {"id": tid})).json())["taskCancel"]

    assert done["userErrors"] == [] and refused["userErrors"] == [{"code": "FORBIDDEN"}]
    lines = await trail(client, office, target=tid)
    assert [(line["operation"], line["outcome"]) for line in lines] == [
        ("taskCancel", "FORBIDDEN"),
        ("taskComment", "OK"),
    ]
    for line in lines:
        assert line["action"] == "WRITE"
        assert line["actorId"] == global_id("User", user.id)
        assert line["actorName"] == "审计测试"
        assert line["source"] == ADDRESS
        assert len(line["requestId"]) >= 8
        assert line["at"]
    assert lines[1]["detail"] == {"input": ["text"]}
    assert "已电话联系家长" not in line_text(lines[1]) and "重复" not in line_text(lines[0])  # names, not values
    assert lines[0]["requestId"] != lines[1]["requestId"]


async def test_a_mutation_refused_with_a_fault_is_recorded_with_its_code(client, office: str) -> None:
    tid = global_id("Task", 987654)

    anonymous = (await post(client, COMMENT, None, {"id": tid})).json()

    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    lines = await trail(client, office, target=tid)
    assert [(line["action"], line["operation"], line["outcome"], line["actorId"]) for line in lines] == [
        ("WRITE", "taskComment", "UNAUTHENTICATED", None)
    ]


async def _student_input(citizen_id: str) -> dict[str, Any]:
    school = await Unit.get(code="demo-primary-1")
    township = await Unit.get(code="dafeng")
    return {
        "name": "【演示】审计新生",
        "gender": "MALE",
        "birthDate": "2016-02-29",
        "citizenId": citizen_id,
        "schoolId": global_id("Unit", school.id),
        "grade": 4,
        "townshipId": global_id("Unit", township.id),
        "homeAddress": "【演示】大丰镇幸福路99号",
        "father": {"name": "【演示】审计父", "phone": "13912345678"},
    }


async def test_student_create_records_field_names_but_never_the_citizen_id(client, office: str) -> None:
    citizen_id = make("652323", date(2016, 2, 29), 777)
    school_office, clerk = await person("demo-primary-1", UserRole.SCHOOL_OFFICE)
    _, outsider = await person("police")
    outsider_token = await issue_token(outsider)
    values = await _student_input(citizen_id)

    created = data_of((await post(client, CREATE_STUDENT, school_office, {"input": values})).json())["studentCreate"]
    refused = data_of((await post(client, CREATE_STUDENT, outsider_token, {"input": values})).json())["studentCreate"]

    try:
        assert created["userErrors"] == [] and created["student"]["citizenId"] != citizen_id
        assert refused["userErrors"] == [{"code": "FORBIDDEN", "field": "schoolId"}]
        mine = await trail(client, office, operation="studentCreate", actorId=global_id("User", clerk.id))
        theirs = await trail(client, office, operation="studentCreate", actorId=global_id("User", outsider.id))
        assert [line["outcome"] for line in mine] == ["OK"]
        assert [line["outcome"] for line in theirs] == ["FORBIDDEN"]
        for line in (*mine, *theirs):
            given = line["detail"]["input"]
            assert {"citizenId", "homeAddress", "father", "name"} <= set(given), given
            for value in (citizen_id, citizen_id[-8:], "幸福路99号", "13912345678", "审计父", "审计新生"):
                assert value not in line_text(line), value
        request_ids = [line["requestId"] for line in (*mine, *theirs)]
        stored = await AuditEntry.filter(request_id__in=request_ids)
        assert len(stored) == 2
        for row in stored:
            assert citizen_id not in line_text(row)
            assert citizen_id[-8:] not in line_text(row)
    finally:
        student = await Student.get_or_none(citizen_id=citizen_id)
        if student is not None:
            await student.delete()
            await Household.filter(id=student.household_id).delete()


async def test_a_reveal_is_recorded_with_its_purpose_and_shows_the_whole_value(client, office: str) -> None:
    token, clerk = await person("demo-primary-1", UserRole.SCHOOL_OFFICE)
    pupil = await Student.get(citizen_id=PUPIL)
    sid = global_id("Student", pupil.id)
    purpose = "办理学籍转入，需核对身份证号"

    revealed = data_of((await post(client, REVEAL, token, {"id": sid, "purpose": purpose})).json())["studentReveal"]
    normal = data_of((await post(client, "query($id: ID!) { node(id: $id) { ... on Student { citizenId } } }",
                                 token, {"id": sid})).json())["node"]  # fmt: skip

    assert revealed["userErrors"] == []
    assert revealed["citizenId"] == PUPIL
    assert revealed["homeAddress"] is None  # not asked for
    assert revealed["guardians"] and all("*" not in g["phone"] for g in revealed["guardians"])
    assert normal["citizenId"] == "652323********1002"
    lines = await trail(client, office, action="REVEAL", actorId=global_id("User", clerk.id))
    assert len(lines) == 1
    line = lines[0]
    assert line["operation"] == "studentReveal" and line["target"] == sid and line["outcome"] == "OK"
    assert line["detail"] == {"fields": ["CITIZEN_ID", "GUARDIAN_PHONES"], "purpose": purpose}
    assert PUPIL not in line_text(line)
    writes = await trail(client, office, action="WRITE", actorId=global_id("User", clerk.id))
    assert [(w["operation"], w["requestId"]) for w in writes] == [("studentReveal", line["requestId"])]


async def test_a_refused_reveal_shows_nothing_and_leaves_no_reveal_line(client, office: str) -> None:
    token, police = await person("police")
    pupil = await Student.get(citizen_id=PUPIL)
    sid = global_id("Student", pupil.id)

    result = data_of((await post(client, REVEAL, token, {"id": sid, "purpose": "好奇"})).json())["studentReveal"]

    assert result["citizenId"] is None and result["guardians"] is None
    assert result["userErrors"] == [{"code": "NOT_FOUND"}]
    assert await trail(client, office, action="REVEAL", actorId=global_id("User", police.id)) == []
    writes = await trail(client, office, action="WRITE", actorId=global_id("User", police.id))
    assert [(w["operation"], w["outcome"]) for w in writes] == [("studentReveal", "NOT_FOUND")]


async def test_a_bad_token_leaves_sign_in_failed_with_its_first_characters_only(client, office: str) -> None:
    bad = "kc_" + secrets.token_urlsafe(32)

    result = (await post(client, "{ viewer { user { name } } }", bad)).json()

    assert error_codes(result) == ["UNAUTHENTICATED"]
    lines = await trail(client, office, action="SIGN_IN_FAILED", target=bad[:10])
    assert len(lines) == 1
    assert lines[0]["source"] == ADDRESS and lines[0]["actorId"] is None and lines[0]["requestId"]
    rows = await AuditEntry.filter(request_id=lines[0]["requestId"])
    assert len(rows) == 1
    assert bad[10:] not in line_text(rows[0]) and bad[10:20] not in line_text(rows[0])


async def test_issuing_and_revoking_a_token_leave_sign_in_and_token_revoked(client, office: str) -> None:
    _, user = await person("education")

    token = await issue_token(user)
    revoked = await revoke_token(token)

    assert revoked == 1
    lines = await trail(client, office, target=token[:10])
    assert [line["action"] for line in lines] == ["TOKEN_REVOKED", "SIGN_IN"]
    assert lines[1]["actorId"] == global_id("User", user.id) and lines[1]["source"] == "cli"
    rows = await AuditEntry.filter(target=token[:10])
    assert all(token[10:] not in line_text(row) for row in rows)


async def test_a_download_leaves_a_download_line(client, office: str) -> None:
    filed = await file_case()
    user = await authenticate(filed.token)
    outsider, stranger = await person("demo-middle-1")

    served = await download(client, filed.record_id, filed.token)
    hidden = await download(client, filed.record_id, outsider)

    assert served.status_code == 200 and hidden.status_code == 404
    lines = await trail(client, office, action="DOWNLOAD", target=filed.record_id)
    by_actor = {line["actorId"]: line for line in lines}
    assert len(lines) == 2
    mine = by_actor[global_id("User", user.id)]
    assert mine["outcome"] == "OK" and mine["source"] == ADDRESS
    assert mine["detail"]["file"].endswith(".docx")
    assert by_actor[global_id("User", stranger.id)]["outcome"] == "NOT_FOUND"


@pytest.mark.parametrize("role", [UserRole.OFFICE, UserRole.ADMIN])
async def test_the_office_and_administrators_read_the_trail(client, role: UserRole) -> None:
    reader = await sign_in("leading-group-office", role)
    bad = "kc_" + secrets.token_urlsafe(16)
    await post(client, "{ viewer { user { name } } }", bad)

    result = (await post(client, TRAIL, reader, {"filter": {"target": bad[:10]}})).json()

    assert data_of(result)["auditTrail"]["totalCount"] == 1


async def test_a_moment_before_the_first_one_python_holds_is_bad_input(client, office: str) -> None:
    result = (await post(client, TRAIL, office, {"filter": {"since": "0001-01-01T00:00:00"}})).json()

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert "since" in result["errors"][0]["message"]  # the variable's field, out of the calendar's range


@pytest.mark.parametrize(
    ("unit", "role"),
    [
        ("education", UserRole.LIAISON),
        ("education", UserRole.UNIT_LEADER),
        ("demo-primary-1", UserRole.PRINCIPAL),
        ("demo-primary-1", UserRole.SCHOOL_OFFICE),
        ("dafeng", UserRole.LIAISON),
        ("supervision", UserRole.LIAISON),
        ("leading-group-office", UserRole.LIAISON),
    ],
)
async def test_everyone_else_is_forbidden_the_trail(client, unit: str, role: UserRole) -> None:
    token = await sign_in(unit, role)

    result = (await post(client, TRAIL, token, {"filter": {}})).json()

    assert error_codes(result) == ["FORBIDDEN"]
    assert result["data"] is None


def test_no_mutation_can_touch_the_trail() -> None:
    mutation = schema._schema.mutation_type
    assert mutation is not None
    names = list(mutation.fields)
    assert len(names) > 10
    assert [name for name in names if "audit" in name.lower()] == []
    returned = {str(field.type) for field in mutation.fields.values()}
    assert not any("Audit" in name for name in returned)


async def test_an_unforeseen_failure_in_a_mutation_is_still_recorded(
    client, office: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    education = await Unit.get(code="education")
    task, _ = await create_task(title="审计：故障", unit=education, due=date(2026, 9, 30))
    tid = global_id("Task", task.id)
    token, _ = await person("education")

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("tasks.queue.workflow.comment_task", broken)
    response = await post(client, COMMENT, token, {"id": tid})

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert not any(name in response.text for name in ("disk on fire", *CLASS_NAMES))
    lines = await trail(client, office, target=tid)
    assert [(line["operation"], line["outcome"]) for line in lines] == [("taskComment", "INTERNAL_SERVER_ERROR")]
    assert lines[0]["requestId"] == error["extensions"]["requestId"]  # the line, the answer and the log agree


async def _first_line() -> AuditEntry:
    entry = await AuditEntry.all().order_by("id").first()
    assert entry is not None
    return entry


async def test_the_database_refuses_to_update_a_line(database: str) -> None:
    entry = await _first_line()
    before = line_text(entry)

    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.filter(id=entry.id).update(outcome="TAMPERED")
    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.all().update(actor_name="someone else")
    with pytest.raises(Exception, match="append-only"):
        entry.outcome = "TAMPERED"
        await entry.save()

    assert line_text(await AuditEntry.get(id=entry.id)) == before
    assert not await AuditEntry.exists(outcome="TAMPERED")


async def test_the_database_refuses_to_delete_a_line(database: str) -> None:
    entry = await _first_line()
    count = await AuditEntry.all().count()

    with pytest.raises(Exception, match="append-only"):
        await AuditEntry.filter(id=entry.id).delete()
    with pytest.raises(Exception, match="append-only"):
        await entry.delete()
    with pytest.raises(Exception, match="append-only"):
        await connections.get("default").execute_script("DELETE FROM audit_entry")

    assert await AuditEntry.all().count() == count
    assert await AuditEntry.exists(id=entry.id)


@pytest.mark.postgres_only
async def test_postgres_refuses_to_truncate_the_trail(database: str) -> None:
    assert BACKEND == "postgres"
    count = await AuditEntry.all().count()

    with pytest.raises(Exception, match="append-only"):
        await connections.get("default").execute_script("TRUNCATE audit_entry")

    assert await AuditEntry.all().count() == count


async def test_audit_actions_cover_every_kind_of_act() -> None:
    assert {a.value for a in AuditAction} >= {"WRITE", "REVEAL", "SIGN_IN", "SIGN_IN_FAILED", "DOWNLOAD"}


async def test_a_download_of_an_id_holding_nul_is_refused_and_still_recorded(client, office: str) -> None:
    token, user = await person("education")

    response = await download(client, "ab%00cd", token)

    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    lines = await trail(client, office, action="DOWNLOAD", actorId=global_id("User", user.id))
    assert [(line["outcome"], line["target"]) for line in lines] == [("NOT_FOUND", "ab\ufffdcd")]
