"""Property-based fuzzing of the real schema: random queries and mutations, valid-ish and not, sent with an
office and a liaison token. Whatever comes in, the API answers with JSON, a known status, and a coded error;
never a 500, never an internal error, never a trace or an exception's name.

Strategies are built from the executable schema (graphql-core), so new fields are fuzzed as soon as they exist.
Bounded: a fixed number of examples and a time budget, so the file stays well under a minute.
"""

from __future__ import annotations

import base64
import builtins
import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
import orjson
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
)
from graphql.pyutils import Undefined
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.relay import to_base64

from api.ids import global_id
from api.schema import schema
from config import settings as settings_of_the_app
from models.accounts import authenticate
from models.cases import Case, ReportRouting
from models.children import Student
from models.citizen_id import make
from models.duties import Duty
from models.rules import Rule
from models.units import Person, Unit
from models.users import UserRole
from tasks.queue.workflow import create_task
from tests.support import sign_in
from tests.test_documents import file_case

GRAPHQL = schema._schema
MAX_DEPTH = 4
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))  # FUZZ_EXAMPLES=5000 FUZZ_SECONDS=900 for a long hunt
BUDGET_SECONDS = float(os.environ.get("FUZZ_SECONDS", "40"))  # the whole file; examples past it are not sent
ALLOWED_STATUS = {200, 400, 413, 429}
KNOWN_CODES = {
    "GRAPHQL_VALIDATION_FAILED",
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "QUERY_TOO_COSTLY",
    "RATE_LIMITED",
    "PAYLOAD_TOO_LARGE",
}
EXCEPTION_NAMES = sorted(
    {n for n in dir(builtins) if isinstance(getattr(builtins, n), type) and issubclass(getattr(builtins, n), Exception)}
    | {"IntegrityError", "OperationalError", "DoesNotExist", "MultipleObjectsReturned", "BadGlobalId", "DomainError",
       "CitizenIdError", "CursorError", "PostgresError", "DataError", "asyncpg", "aiosqlite", "tortoise."}
    - {"Exception", "Warning"}
)  # fmt: skip
LEAK = re.compile(r"Traceback|File \"|\b(" + "|".join(re.escape(n) for n in EXCEPTION_NAMES) + r")\b")


@dataclass
class Tally:
    started: set[str] = field(default_factory=set)
    sent: dict[str, int] = field(default_factory=lambda: {"query": 0, "mutation": 0})
    statuses: dict[int, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)
    clock: float | None = None

    def over_budget(self) -> bool:
        if self.clock is None:
            self.clock = time.monotonic()
        return time.monotonic() - self.clock > BUDGET_SECONDS


TALLY = Tally()


# ---- values of input types --------------------------------------------------------------------------------


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any], one_in: int = 8) -> st.SearchStrategy[Any]:
    """Usually `usual`, about once in `one_in` draws `odd` (so most documents stay valid enough to execute)."""
    return st.integers(0, one_in - 1).flatmap(lambda i: odd if i == one_in - 1 else usual)


INTERESTING_TEXT = st.sampled_from(
    ["", " ", "education", "dafeng", "demo-primary-1", "leading-group-office", "2026-2027", "2025-2026",
     "'; DROP TABLE task; --", "%", "_", "\\", "null", "0" * 400, "〇一二", "😀👩‍👩‍👧", "\u202e", "\t\n",
     "张小明", "652323201503121002", "<script>alert(1)</script>", "${jndi:ldap://x}"]
)  # fmt: skip
TEXT = st.one_of(INTERESTING_TEXT, st.text(max_size=40))
INTS = mostly(
    st.integers(1, 120),
    st.one_of(
        st.sampled_from([0, 100, 101, -1, 2**31 - 1, -(2**31), 2**31, 2**53, -(2**63), 2**63, 2**64 + 1]),
        st.integers(),
        # a float for an Int: 100.0 coerces to 100 (and must be counted as 100); 2.5 does not coerce
        st.integers(1, 120).map(float),
        st.sampled_from([100.0, 1e2, 2.5, -0.0, 1e20, 2.0**31, 5e-324]),
    ),
    one_in=4,
)
DATES = mostly(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat),
    st.one_of(
        st.sampled_from(["2026-02-30", "2026-13-01", "0000-00-00", "2026-9-3", "9999-12-31", "0001-01-01", "today"]),
        st.dates().map(date.isoformat),
        TEXT,
    ),
)
DATETIMES = mostly(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)).map(lambda d: d.isoformat()),
    st.one_of(
        st.sampled_from(
            [
                "2026-09-03T08:00:00+08:00",
                "2026-09-03T25:00:00",
                "2026-09-03T08:00:00Z",
                "now",
                "0001-01-01T00:00:00",
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59",
                "9999-12-31T23:59:59-12:00",
                "1899-12-31T23:59:59+08:00",
                "2200-01-01T00:00:00",
            ]
        ),
        st.datetimes().map(lambda d: d.isoformat()),
        DATES,
    ),
)


def id_values(real: list[str]) -> st.SearchStrategy[str]:
    types = ["Task", "Unit", "Student", "Case", "User", "Duty", "Rule", "Person", "Fact", "PersuasionRecord",
             "DropoutReport", "ReportRouting", "Nope", ""]  # fmt: skip
    return mostly(
        st.sampled_from(real),
        st.one_of(
            st.builds(global_id, st.sampled_from(types), INTS),
            st.builds(to_base64, st.sampled_from(types), TEXT),
            st.binary(max_size=24).map(lambda b: base64.b64encode(b).decode()),
            TEXT,
        ),
        one_in=3,
    )


def scalar_values(scalar: GraphQLScalarType, ids: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    by_name: dict[str, st.SearchStrategy[Any]] = {
        "Int": INTS,
        "Float": st.floats(allow_nan=False, allow_infinity=False),
        "String": TEXT,
        "ID": ids,
        "Boolean": st.booleans(),
        "Date": DATES,
        "DateTime": DATETIMES,
        "JSON": st.recursive(st.none() | st.booleans() | INTS | TEXT, lambda c: st.lists(c, max_size=3), max_leaves=5),
    }
    return mostly(by_name.get(scalar.name, TEXT), st.sampled_from([None, 7, "x", True, 1.5]), one_in=20)


def input_values(gql_type: Any, ids: st.SearchStrategy[str], depth: int = 0) -> st.SearchStrategy[Any]:
    """Python (JSON) values for an input type: mostly of the right kind, sometimes not."""
    if isinstance(gql_type, GraphQLNonNull):
        return input_values(gql_type.of_type, ids, depth)
    if isinstance(gql_type, GraphQLList):
        item = input_values(gql_type.of_type, ids, depth + 1)
        return mostly(st.lists(item, max_size=4), item)  # a single value coerces to a list
    if isinstance(gql_type, GraphQLEnumType):
        return mostly(st.sampled_from(list(gql_type.values)), st.sampled_from(["NOPE", "open", ""]), one_in=20)
    if isinstance(gql_type, GraphQLInputObjectType):
        if depth > 3:
            return st.just({})
        required = {k: input_values(f.type, ids, depth + 1) for k, f in gql_type.fields.items() if _required(f)}
        optional = {k: input_values(f.type, ids, depth + 1) for k, f in gql_type.fields.items() if not _required(f)}
        objects = st.fixed_dictionaries(required, optional=optional)
        return mostly(objects, st.one_of(objects.map(lambda d: {**d, "noSuchField": 1}), st.just({})), one_in=20)
    assert isinstance(gql_type, GraphQLScalarType), gql_type
    return scalar_values(gql_type, ids)


def _required(argument: Any) -> bool:
    return isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined


NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


def literal(value: Any, gql_type: Any) -> str:
    """A Python value written as a GraphQL literal of (roughly) that type."""
    named = get_named_type(gql_type)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if isinstance(named, GraphQLEnumType) and NAME.match(value) and value not in ("true", "false", "null"):
            return value
        return orjson.dumps(value).decode()
    inner = gql_type
    while isinstance(inner, GraphQLNonNull):
        inner = inner.of_type
    if isinstance(value, list):
        item_type = inner.of_type if isinstance(inner, GraphQLList) else inner
        return "[" + ", ".join(literal(v, item_type) for v in value) + "]"
    fields = named.fields if isinstance(named, GraphQLInputObjectType) else {}
    parts = [f"{k}: {literal(v, fields[k].type if k in fields else named)}" for k, v in value.items()]
    return "{" + ", ".join(parts) + "}"


# ---- documents --------------------------------------------------------------------------------------------


@dataclass
class Document:
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    declarations: list[str] = field(default_factory=list)

    def argument(self, name: str, value: Any, gql_type: Any, how: str) -> str:
        """`how`: "literal" in the document, "variable" sent with the request, or "default": a variable
        whose value is its declaration's default (none sent)."""
        if how == "literal":
            return f"{name}: {literal(value, gql_type)}"
        variable = f"v{len(self.declarations)}"
        if how == "default":
            self.declarations.append(f"${variable}: {gql_type} = {literal(value, gql_type)}")
        else:
            self.declarations.append(f"${variable}: {gql_type}")
            self.variables[variable] = value
        return f"{name}: ${variable}"


@st.composite
def arguments(draw: st.DrawFn, field_: GraphQLField, doc: Document, ids: st.SearchStrategy[str]) -> str:
    given_args = []
    for name, argument in field_.args.items():
        if not _required(argument) and not draw(st.booleans()):
            continue
        value = draw(input_values(argument.type, ids))
        how = draw(st.sampled_from(["literal", "literal", "literal", "literal", "variable", "default"]))
        given_args.append(doc.argument(name, value, argument.type, how))
    return f"({', '.join(given_args)})" if given_args else ""


@st.composite
def selection(draw: st.DrawFn, gql_type: Any, doc: Document, ids: st.SearchStrategy[str], depth: int) -> str:
    named = get_named_type(gql_type)
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType):
        member = draw(st.sampled_from(named.types))
        return "{ __typename ... on " + member.name + " " + draw(selection(member, doc, ids, depth)) + " }"
    assert isinstance(named, (GraphQLObjectType, GraphQLInterfaceType))
    fields = named.fields
    names = sorted(fields)
    if depth >= MAX_DEPTH:
        names = [n for n in names if is_leaf_type(get_named_type(fields[n].type))] or ["__typename"]
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    parts = []
    for name in chosen:
        if name == "__typename":
            parts.append(name)
            continue
        field_ = fields[name]
        args = draw(arguments(field_, doc, ids))
        parts.append(name + args + " " + draw(selection(field_.type, doc, ids, depth + 1)))
    if isinstance(named, GraphQLInterfaceType) and draw(st.booleans()):
        implementation = draw(st.sampled_from(GRAPHQL.get_possible_types(named)))
        parts.append(f"... on {implementation.name} " + draw(selection(implementation, doc, ids, depth + 1)))
    return "{ " + " ".join(parts) + " }"


@st.composite
def operations(draw: st.DrawFn, kind: str, ids: st.SearchStrategy[str]) -> dict[str, Any]:
    """A request body: an operation of the root type, sometimes mangled."""
    root = GRAPHQL.query_type if kind == "query" else GRAPHQL.mutation_type
    assert root is not None
    doc = Document("")
    top = draw(st.lists(st.sampled_from(sorted(root.fields)), min_size=1, max_size=2 if kind == "query" else 1,
                        unique=True))  # fmt: skip
    parts = []
    for name in top:
        field_ = root.fields[name]
        parts.append(name + draw(arguments(field_, doc, ids)) + " " + draw(selection(field_.type, doc, ids, 1)))
    header = kind + (f"({', '.join(doc.declarations)})" if doc.declarations else "")
    query = header + " { " + " ".join(parts) + " }"
    body: dict[str, Any] = {"query": query, "variables": doc.variables}
    twist = draw(st.integers(0, 24))  # draws lean to 0: the odd bodies are the high numbers
    if twist == 24:
        body["query"] = query[: draw(st.integers(1, len(query)))]  # cut short: a syntax error
    elif twist == 23:
        body["operationName"] = draw(st.sampled_from(["Nope", "", "q"]))
    elif twist == 22:
        body["variables"] = draw(st.sampled_from([None, [], "x", 3]))
    elif twist == 21:
        body["query"] = draw(st.text(max_size=60))
    return body


# ---- the property -----------------------------------------------------------------------------------------


@dataclass
class Fuzzing:
    client: httpx.AsyncClient
    tokens: list[str]
    ids: st.SearchStrategy[str]


@pytest.fixture
async def fuzzing(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> Fuzzing:
    monkeypatch.setattr(settings_of_the_app(), "rate_limit_per_minute", 0)  # tested in test_abuse; not in the way here
    office = await sign_in("leading-group-office", UserRole.OFFICE, "【模糊】办公室")
    liaison = await sign_in("education", UserRole.LIAISON, "【模糊】联络员")
    filed = await file_case()  # a case with a persuasion record and a report
    task, _ = await create_task(title="【模糊】任务", unit=await Unit.get(code="education"), due=date(2026, 9, 30))
    real = [filed.record_id, filed.report_id, global_id("Task", task.id)]
    for model, name in [(Unit, "Unit"), (Student, "Student"), (Duty, "Duty"), (Rule, "Rule"), (Person, "Person"),
                        (ReportRouting, "ReportRouting")]:  # fmt: skip
        real += [global_id(name, pk) for pk in await model.all().limit(3).values_list("id", flat=True)]
    real += [global_id("Case", pk) for pk in await Case.all().values_list("id", flat=True)]
    for token in (office, liaison):
        user = await authenticate(token)
        assert user is not None
        real.append(global_id("User", user.id))
    return Fuzzing(client, [office, liaison], id_values(real))


async def post_as(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


def assert_answer_is_clean(response: httpx.Response, body: dict[str, Any]) -> None:
    TALLY.statuses[response.status_code] = TALLY.statuses.get(response.status_code, 0) + 1
    request = json.dumps(body, ensure_ascii=False, default=str)[:2000]  # (orjson refuses ints past 64 bits)
    context = f"request {request}\nanswer {response.status_code} {response.text[:2000]}"
    assert response.status_code in ALLOWED_STATUS, context
    try:
        answer = response.json()
    except ValueError:
        raise AssertionError(f"the answer is not JSON\n{context}") from None
    assert isinstance(answer, dict), context
    errors = answer.get("errors") or []
    assert "data" in answer or errors, context
    cost = (answer.get("extensions") or {}).get("cost")
    if answer.get("data") and cost:  # whatever was answered was within the cost limit, counted as it ran
        assert cost["requested"] <= cost["limit"], context
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        TALLY.codes[str(code)] = TALLY.codes.get(str(code), 0) + 1
        assert code != "INTERNAL_SERVER_ERROR", context
        assert code in KNOWN_CODES, f"an error without a known code\n{context}"
        assert not LEAK.search(error.get("message", "")), context


async def _send(fuzzing: Fuzzing, kind: str, body: dict[str, Any]) -> None:
    TALLY.started.add(kind)
    if TALLY.over_budget():
        return
    for token in fuzzing.tokens:
        response = await post_as(fuzzing.client, token, body)
        assert_answer_is_clean(response, body)
    TALLY.sent[kind] += 1


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(data=st.data())
async def test_random_queries_get_clean_answers(fuzzing: Fuzzing, data: st.DataObject) -> None:
    await _send(fuzzing, "query", data.draw(operations("query", fuzzing.ids), label="body"))


@settings(FUZZ, max_examples=EXAMPLES * 4 // 5)
@given(data=st.data())
async def test_random_mutations_get_clean_answers(fuzzing: Fuzzing, data: st.DataObject) -> None:
    await _send(fuzzing, "mutation", data.draw(operations("mutation", fuzzing.ids), label="body"))


# ---- what the fuzzing found, kept as plain regression tests --------------------------------------------------

FOUND = {
    "school-year-past-the-column": (
        "query($y: String!) { dutyCalendarPreview(schoolYear: $y) { schoolYear } }",
        {"y": "0" * 400},
        "BAD_USER_INPUT",
    ),
    "id-past-int32": ('{ case(id: "VGFzazoyMTQ3NDgzNjQ4") { id } }', {}, None),  # Task:2147483648
    "id-past-int64": (f'{{ node(id: "{global_id("Task", -(10**22))}") {{ id }} }}', {}, None),
    "mutation-id-past-int32": ('mutation { taskClaim(id: "VGFzazoyMTQ3NDgzNjQ4") { userErrors { code } } }', {}, None),
    "unit-code-past-the-column": ("query($c: String!) { unit(code: $c) { name } }", {"c": "x" * 400}, None),
    "audit-filter-past-the-column": (
        "query($o: String!) { auditTrail(filter: {operation: $o, target: $o}) { totalCount } }",
        {"o": "x" * 400},
        "BAD_USER_INPUT",
    ),
    "nul-in-a-variable": (
        "query($y: String!) { dutyCalendarPreview(schoolYear: $y) { schoolYear } }",
        {"y": "\x00"},
        "BAD_USER_INPUT",
    ),
    "a-failing-field-beside-a-shared-loader": (  # graphql-core cancels the failed field's siblings
        "query($c: String) { viewer { user { unit { parent { code } duties(after: $c) { totalCount } } } "
        "unit { parent { code } } } }",
        {"c": "\\"},
        "BAD_USER_INPUT",
    ),
    "audit-since-without-an-offset": (
        'query { auditTrail(filter: {since: "2020-01-01T00:00:00", until: "2030-01-01T00:00:00"}) { totalCount } }',
        {},
        None,
    ),
    "empty-query": ("", {}, "BAD_USER_INPUT"),
    "unknown-operation-name": ("query q { viewer { user { name } } }", "Nope", "BAD_USER_INPUT"),
    "variables-not-an-object": ("{ viewer { user { name } } }", "x", "BAD_USER_INPUT"),
    "a-float-for-first": (
        "query($n: Int) { units(first: $n) { nodes { duties(first: $n) { nodes { id code title text clause } } } } }",
        {"n": 100.0},
        "QUERY_TOO_COSTLY",
    ),
    "first-from-a-variable-default": (
        "query($n: Int = 100) { units(first: $n) { nodes { duties(first: $n) { nodes { id code title text clause } } }"
        " } }",
        {},
        "QUERY_TOO_COSTLY",
    ),
    "a-date-in-year-1": (
        "query($d: Date) { tasks(filter: {dueAfter: $d}) { totalCount } }",
        {"d": "0001-01-01"},
        "BAD_USER_INPUT",
    ),
    "a-date-in-year-9999": ('{ tasks(filter: {dueBefore: "9999-12-31"}) { totalCount } }', {}, "BAD_USER_INPUT"),
    "a-moment-in-year-1": (
        "query($t: DateTime) { auditTrail(filter: {since: $t}) { totalCount } }",
        {"t": "0001-01-01T00:00:00+14:00"},
        "BAD_USER_INPUT",
    ),
    "a-cursor-past-the-id-column": (
        f'{{ cases(after: "{base64.urlsafe_b64encode(b"[4294967296]").decode().rstrip("=")}") {{ totalCount }} }}',
        {},
        "BAD_USER_INPUT",
    ),
}


@pytest.mark.parametrize("name", list(FOUND))
async def test_what_the_fuzzing_found_gets_a_clean_answer(client: httpx.AsyncClient, name: str) -> None:
    token = await sign_in("leading-group-office", UserRole.OFFICE)
    query, extra, code = FOUND[name]
    body: dict[str, Any] = {"query": query}
    if name == "unknown-operation-name":
        body["operationName"] = extra
    else:
        body["variables"] = extra

    response = await post_as(client, token, body)

    assert_answer_is_clean(response, body)
    assert [e["extensions"]["code"] for e in response.json().get("errors", [])] == ([code] if code else [])


async def test_a_body_that_is_not_json_gets_a_json_answer(client: httpx.AsyncClient) -> None:
    token = await sign_in("education")

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = await client.post("/graphql", content=b"{not json", headers=headers)

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_text_longer_than_its_column_is_a_user_error_not_a_crash(client: httpx.AsyncClient) -> None:
    filed = await file_case()
    township = await sign_in("dafeng")
    school_office = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    pupil = await Student.get(citizen_id="652323201503121002")
    school, dafeng = await Unit.get(code="demo-primary-1"), await Unit.get(code="dafeng")
    case = await Case.get()
    calls = [
        (township, "factRecord", """mutation($id: ID!, $t: String!) { factRecord(id: $id, input: {kind: CHILD_WORKING,
            source: "摸排", reason: "打工", detail: $t}) { userErrors { code field } } }""",
         {"id": global_id("Student", pupil.id), "t": "某" * 301}, "detail"),
        (filed.token, "caseFollowUpAssign", """mutation($id: ID!, $t: String!) { caseFollowUpAssign(id: $id,
            input: {name: "专人", phone: $t}) { userErrors { code field } } }""",
         {"id": global_id("Case", case.id), "t": "1" * 33}, "phone"),
        (school_office, "studentCreate", """mutation($i: StudentCreateInput!) { studentCreate(input: $i) {
            userErrors { code field } } }""",
         {"i": {"name": "【演示】长班名", "gender": "MALE", "birthDate": "2016-02-29",
                "citizenId": make("652323", date(2016, 2, 29), 778), "schoolId": global_id("Unit", school.id),
                "grade": 4, "townshipId": global_id("Unit", dafeng.id), "className": "班" * 33}}, "className"),
    ]  # fmt: skip
    for token, operation, query, variables, field_name in calls:
        response = await post_as(client, token, {"query": query, "variables": variables})
        assert_answer_is_clean(response, variables)
        assert response.json()["data"][operation]["userErrors"] == [{"code": "TOO_LONG", "field": field_name}]
    assert not await Student.exists(name="【演示】长班名")


async def test_a_time_without_an_offset_is_county_time_not_a_crash(client: httpx.AsyncClient) -> None:
    filed = await file_case()
    case = await Case.get()
    record = """mutation($id: ID!, $at: DateTime) { persuasionRecordAdd(id: $id, input: {kind: HEAD_TEACHER_CALL,
      result: PENDING, persuaders: "班主任", process: "电话", heldAt: $at}) {
      persuasionRecord { heldAt } userErrors { code field } } }"""
    answers = []
    for moment in ("2026-09-02T10:00:00", "2099-01-01T00:00:00"):
        variables = {"id": global_id("Case", case.id), "at": moment}
        response = await post_as(client, filed.token, {"query": record, "variables": variables})
        assert_answer_is_clean(response, variables)
        answers.append(response.json()["data"]["persuasionRecordAdd"])

    assert answers[0] == {"persuasionRecord": {"heldAt": "2026-09-02T10:00:00+08:00"}, "userErrors": []}
    assert answers[1] == {"persuasionRecord": None, "userErrors": [{"code": "INVALID", "field": "heldAt"}]}


def test_the_fuzzing_ran_enough_examples() -> None:
    if not TALLY.started:
        pytest.skip("the fuzzing tests did not run in this session")
    print(f"\nfuzzing sent {TALLY.sent} examples (x2 tokens); statuses {TALLY.statuses}; codes {TALLY.codes}")
    for kind in TALLY.started:
        assert TALLY.sent[kind] >= min(50, EXAMPLES // 2), TALLY
    assert TALLY.codes.get("None", 0) == 0
