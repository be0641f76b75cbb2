"""Issue 10, limits and records: each class of hole found by probing the server, closed.

Limits that could be stepped around (a cost counted on what arrives, not on what runs; work done
before sign-in; a body read whole), bad input that came back as an internal error, input checks,
what the audit trail missed, and suggestions that named fields with introspection off.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.ids import global_id
from api.limits import INTROSPECTIONS_ALLOWED, introspection_limit
from api.schema import schema
from config import settings
from models.audit import AuditAction, AuditEntry
from models.children import Student
from models.units import Unit
from models.users import UserRole
from tests.ladder_support import record_absence, run
from tests.security_support import AsgiWebSocket, office_token, post, refused_before_the_database
from tests.support import error_codes, sign_in, sign_in_head_teacher

PUPIL = "652323201503121002"  # born 2015-03-12
NESTED = (
    "query($n: Int{default}) {{ units(first: $n) {{ nodes {{ duties(first: $n) {{ nodes {{ id code title text clause }}"
    " }} }} }} }}"
)


@pytest.fixture
async def liaison(database: str) -> str:
    return await sign_in("education")


async def _last_audit_id() -> int:
    last = await AuditEntry.all().order_by("-id").first()
    return last.id if last else 0


# --- the cost limit counts what execution will use ---------------------------------------------------


@pytest.mark.parametrize(
    ("default", "variables"),
    [("", {"n": 100.0}), (" = 100", {}), ("", {"n": 100})],
    ids=["float-for-int", "variable-default", "integer"],
)
async def test_the_cost_counts_first_as_it_coerces_whatever_its_source(
    client, liaison: str, default: str, variables: dict[str, Any]
) -> None:
    result, _statements = await refused_before_the_database(client, NESTED.format(default=default), liaison, variables)

    assert error_codes(result) == ["QUERY_TOO_COSTLY"], result
    assert result["errors"][0]["extensions"]["cost"] > settings().max_query_cost


async def test_introspection_is_counted_apart_from_the_data(client, liaison: str) -> None:
    query = "{ __schema { types { name fields { name } } } units(first: 5) { nodes { code } } }"
    one = (await post(client, query, liaison)).json()
    assert one["data"]["__schema"]["types"]
    cost = one["extensions"]["cost"]
    assert cost["requested"] == 1 + 5 * (1 + 1)  # units; five times its nodes and their code
    assert cost["introspection"]["requested"] >= len(one["data"]["__schema"]["types"])
    assert cost["introspection"]["limit"] == introspection_limit(schema._schema)

    deep = "{ __schema { types { name fields { name args { name type { name ofType { name } } } type { name } } } } }"
    thirty = "{ " + " ".join(f"a{i}: {deep[2:-2]}" for i in range(30)) + " }"
    result, _ = await refused_before_the_database(client, thirty, liaison)
    assert error_codes(result) == ["QUERY_TOO_COSTLY"]
    assert result["errors"][0]["extensions"]["part"] == "introspection"
    assert result["errors"][0]["extensions"]["limit"] == introspection_limit(schema._schema)


async def test_a_full_introspection_stays_within_the_limit_however_large_the_schema(
    client, liaison: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphql import get_introspection_query

    full = get_introspection_query(descriptions=True)
    result = (await post(client, full, liaison)).json()
    assert "errors" not in result and result["data"]["__schema"]["types"], "GraphiQL still reads the schema"
    assert result["extensions"]["cost"]["requested"] == 0  # none of it is data
    assert result["extensions"]["cost"]["introspection"]["requested"] * INTROSPECTIONS_ALLOWED == (
        introspection_limit(schema._schema)
    )
    # The data limit does not bound it: a schema grown past MAX_QUERY_COST is still read.
    monkeypatch.setattr(settings(), "max_query_cost", 10)
    assert "errors" not in (await post(client, full, liaison)).json()


# --- no token, no work ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "kc_made-up-token-0000000000000000000"], ids=["no-token", "bad-token"])
async def test_without_a_valid_token_the_document_is_not_even_validated(client, token: str | None) -> None:
    invalid = "{ " + " ".join(f"f{i}: noSuchField{i} {{ x }}" for i in range(25)) + " }"
    introspection = "{ " + " ".join(f"a{i}: __schema {{ types {{ name }} }}" for i in range(30)) + " }"
    for query in (invalid, introspection):
        response = await post(client, query, token)
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None and error_codes(body) == ["UNAUTHENTICATED"], body
        assert len(response.content) < 1_000


# --- the body limit caps the bytes read -------------------------------------------------------------


async def test_a_chunked_body_over_the_limit_is_cut_and_refused(client, liaison: str) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ __typename }", "padding": "'
        for _ in range(200):  # 4 MB in all, without a Content-Length
            sent += 20_000
            yield b"x" * 20_000
        yield b'"}'

    response = await client.post(
        "/graphql", content=chunks(), headers={"Authorization": f"Bearer {liaison}", "content-type": "application/json"}
    )

    assert response.status_code == 413
    assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]


@pytest.mark.parametrize(
    "body",
    [b'"just a string"', b"[" * 100_000 + b"]" * 100_000, b"null", b"42"],
    ids=["bare-string", "nested-brackets", "null", "number"],
)
async def test_a_json_body_that_is_not_a_request_gets_a_coded_json_answer(client, liaison: str, body: bytes) -> None:
    headers = {"Authorization": f"Bearer {liaison}", "content-type": "application/json"}

    response = await client.post("/graphql", content=body, headers=headers)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and len(error["extensions"]["requestId"]) >= 8


# --- bad input is BAD_USER_INPUT, not an internal error ---------------------------------------------


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query",
    [
        f'{{ tasks(orderBy: NEWEST, after: "{_cursor([2**63 + 5])}") {{ nodes {{ id }} }} }}',
        f'{{ cases(after: "{_cursor([2**40])}") {{ nodes {{ id }} }} }}',
        f'{{ students(after: "{_cursor([-(2**40)])}") {{ nodes {{ id }} }} }}',
        '{{ tasks(after: "{}") {{ nodes {{ id }} }} }}'.format(_cursor([{"dt": "2026-09-01T00:00:00+00:00"}, 2**40])),
        '{{ viewer {{ taskQueue(after: "{}") {{ nodes {{ id }} }} }} }}'.format(
            _cursor([{"dt": "0001-01-01T00:00:00+08:00"}, 1])
        ),
        '{ tasks(filter: {dueAfter: "0001-01-01"}) { nodes { id } } }',
        '{ tasks(filter: {dueBefore: "9999-12-31"}) { nodes { id } } }',
        '{ viewer { taskQueue(filter: {dueAfter: "0001-01-01"}) { nodes { id } } } }',
        '{ digest(day: "0001-01-01") { day } }',
    ],
)
async def test_values_past_what_a_column_or_the_calendar_holds_are_bad_input(client, query: str) -> None:
    result = (await post(client, query, await office_token())).json()

    assert error_codes(result) == ["BAD_USER_INPUT"], result


async def test_dates_in_year_1_or_9999_in_a_variable_are_bad_input(client) -> None:
    query = "query($d: Date) { tasks(filter: {dueAfter: $d}) { totalCount } }"
    for day in ("0001-01-01", "9999-12-31"):
        result = (await post(client, query, await office_token(), {"d": day})).json()
        assert error_codes(result) == ["BAD_USER_INPUT"], result


async def test_absences_and_persuasions_out_of_range_are_refused_with_a_code(client) -> None:
    teacher = await sign_in_head_teacher()
    pupil = global_id("Student", (await Student.get(citizen_id=PUPIL)).id)
    absence = """mutation($id: ID!, $d: Date) { absenceRecord(id: $id, input: {day: $d}) { case { id }
      userErrors { code field } } }"""
    for day in ("0001-01-01", "9999-12-31"):
        result = (await post(client, absence, teacher, {"id": pupil, "d": day})).json()
        assert error_codes(result) == ["BAD_USER_INPUT"], result
    before_birth = await run(client, teacher, date(2026, 9, 1), absence, id=pupil, d="2015-03-09")  # a Monday
    assert before_birth["absenceRecord"]["userErrors"] == [{"code": "INVALID", "field": "day"}]
    noted = """mutation($id: ID!, $note: String) { absenceRecord(id: $id, input: {day: "2026-09-01", note: $note}) {
      userErrors { code field } } }"""
    too_long = await run(client, teacher, date(2026, 9, 1), noted, id=pupil, note="病" * 2001)
    assert too_long["absenceRecord"]["userErrors"] == [{"code": "TOO_LONG", "field": "note"}]

    case = (await record_absence(client, teacher, await Student.get(citizen_id=PUPIL), date(2026, 9, 1)))["case"]
    persuade = """mutation($id: ID!, $at: DateTime, $family: String) { persuasionRecordAdd(id: $id, input: {kind: OTHER,
      result: PENDING, persuaders: "班主任", process: "电话", heldAt: $at, familySituation: $family}) {
      userErrors { code field } } }"""
    for moment in ("0001-01-01T00:00:00", "9999-12-31T23:59:59"):
        result = (await post(client, persuade, teacher, {"id": case["id"], "at": moment})).json()
        assert error_codes(result) == ["BAD_USER_INPUT"], result
    long = await run(client, teacher, date(2026, 9, 1), persuade, id=case["id"], at=None, family="家" * 2001)
    assert long["persuasionRecordAdd"]["userErrors"] == [{"code": "TOO_LONG", "field": "familySituation"}]


# --- input checks -----------------------------------------------------------------------------------

CREATE = """mutation($input: StudentCreateInput!) { studentCreate(input: $input) { student { id }
  userErrors { field code } } }"""


async def _student_input(**changes: Any) -> dict[str, Any]:
    from models.citizen_id import make

    born = date(2016, 2, 29)
    value = {
        "name": "【演示】新生",
        "gender": "FEMALE",
        "birthDate": born.isoformat(),
        "citizenId": make("652323", born, 556),
        "schoolId": global_id("Unit", (await Unit.get(code="demo-primary-1")).id),
        "grade": 4,
        "townshipId": global_id("Unit", (await Unit.get(code="dafeng")).id),
    }
    value.update(changes)
    return value


async def test_only_a_head_teacher_of_that_school_may_be_a_pupils_head_teacher(client) -> None:
    from models.accounts import authenticate

    office = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    liaison = await authenticate(await sign_in("police"))
    elsewhere = await authenticate(await sign_in("demo-middle-1", UserRole.HEAD_TEACHER, "外校班主任"))
    colleague = await authenticate(await sign_in("demo-primary-1", UserRole.PRINCIPAL, "校长"))
    own = await authenticate(await sign_in("demo-primary-1", UserRole.HEAD_TEACHER, "本校班主任"))
    assert liaison and elsewhere and colleague and own
    for user_pk, code in ((987_654, "NOT_FOUND"), (liaison.id, "NOT_A_HEAD_TEACHER"),
                          (elsewhere.id, "NOT_A_HEAD_TEACHER"), (colleague.id, "NOT_A_HEAD_TEACHER")):  # fmt: skip
        given = await _student_input(headTeacherId=global_id("User", user_pk))
        result = await run(client, office, date(2026, 9, 1), CREATE, input=given)
        assert result["studentCreate"]["userErrors"] == [{"field": "headTeacherId", "code": code}], user_pk
    too_long = await run(
        client, office, date(2026, 9, 1), CREATE, input=await _student_input(familySituation="家" * 2001)
    )
    assert too_long["studentCreate"]["userErrors"] == [{"field": "familySituation", "code": "TOO_LONG"}]

    fine = await run(
        client, office, date(2026, 9, 1), CREATE, input=await _student_input(headTeacherId=global_id("User", own.id))
    )
    assert fine["studentCreate"]["userErrors"] == []
    await Student.filter(id=int(base64.b64decode(fine["studentCreate"]["student"]["id"]).split(b":")[1])).delete()


# --- what the audit trail must hold -----------------------------------------------------------------


async def test_a_mutation_refused_before_it_runs_is_on_the_record(client, liaison: str) -> None:
    before = await _last_audit_id()
    unknown = 'mutation { taskComment(id: "VGFzazo4ODg4ODg=", input: {text: "x", nosuch: 1}) { userErrors { code } } }'
    assert error_codes((await post(client, unknown, liaison)).json()) == ["GRAPHQL_VALIDATION_FAILED"]

    lines = await AuditEntry.filter(id__gt=before, action=AuditAction.WRITE)
    assert [(line.operation, line.target, line.outcome) for line in lines] == [
        ("taskComment", "VGFzazo4ODg4ODg=", "GRAPHQL_VALIDATION_FAILED")
    ]
    assert lines[0].actor_id is not None and lines[0].request_id


async def test_a_bad_token_in_connection_init_is_a_failed_sign_in_on_the_record(database: str) -> None:
    before = await _last_audit_id()
    async with AsgiWebSocket(create_app(database)) as socket:
        assert (await socket.receive())["type"] == "websocket.accept"
        await socket.send({"type": "connection_init", "payload": {"Authorization": "Bearer kc_forged-token-1234"}})
        closed = await socket.receive()
    assert closed["type"] == "websocket.close"
    line = await AuditEntry.get(id__gt=before, action=AuditAction.SIGN_IN_FAILED)
    assert line.operation == "websocket connection_init" and line.target == "kc_forged-"


async def test_made_up_tokens_cannot_flood_the_trail(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings(), "audit_failed_sign_ins_per_minute", 3)
    before = await _last_audit_id()
    transport = httpx.ASGITransport(app=create_app(database), client=("10.20.30.40", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as attacker:
        for i in range(8):
            assert (await post(attacker, "{ __typename }", f"kc_made-up-{i:04d}")).status_code == 200

    lines = await AuditEntry.filter(id__gt=before, action=AuditAction.SIGN_IN_FAILED).order_by("id")
    assert {line.source for line in lines} == {"10.20.30.40"}
    assert len(lines) == 3
    assert "further failed sign-ins" in lines[-1].detail["note"]


# --- with introspection off, errors do not spell the schema -----------------------------------------


async def test_with_introspection_off_no_suggestion_names_a_field(
    client, liaison: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "{ viewer { taskQueu { totalCount } } }"
    assert "taskQueue" in str((await post(client, query, liaison)).json())  # graphql-core suggests it

    monkeypatch.setattr(settings(), "introspection", False)
    result = (await post(client, query, liaison)).json()

    assert error_codes(result) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in str(result) and "taskQueue" not in str(result)
