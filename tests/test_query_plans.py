"""Read queries answered by plan (api/compiled) answer exactly as Strawberry answers them.

Each query is asked twice: the first answer comes from Strawberry, which then keeps the query's
plan; the second comes from the plan. The two must be the same bytes. Queries here select every
field of the types they reach (generated from the schema, so a new field is covered when it comes),
over a county with claimed, shared, commented, duty and case tasks.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, Undefined, get_named_type, is_leaf_type, is_non_null_type

from api.compiled.endpoint import PlannedReads
from api.ids import global_id
from api.schema import schema
from models import clock
from models.users import UserRole
from tests.ladder_support import demo_student, record_absence, tick
from tests.support import data_of, error_codes, sign_in, sign_in_head_teacher
from tests.test_query_count import busy_county  # noqa: F401 - a fixture

AS_OF = date(2026, 9, 9)  # a school day; the case below is a week old, some tasks overdue and some not


def plans_of(client: httpx.AsyncClient) -> PlannedReads:
    app = client._transport.app  # type: ignore[attr-defined]
    for route in app.routes:
        if isinstance(getattr(route, "app", None), PlannedReads):
            return route.app
    raise AssertionError("no PlannedReads at /graphql")


def every_field(type_name: str, depth: int) -> str:
    """Every field of the type that needs no argument: leaves, and objects `depth` levels down."""
    parent = schema._schema.get_type(type_name)
    assert isinstance(parent, GraphQLObjectType)
    parts = ["__typename"]
    for name, field in parent.fields.items():
        if any(is_non_null_type(a.type) and a.default_value is Undefined for a in field.args.values()):
            continue
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif isinstance(inner, GraphQLObjectType) and depth > 0:
            arguments = "(first: 3)" if "first" in field.args else ""
            parts.append(f"{name}{arguments} {{ {every_field(inner.name, depth - 1)} }}")
    return " ".join(parts)


async def post(client: httpx.AsyncClient, query: str, token: str | None, variables: dict[str, Any] | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    with clock.as_of(clock.parse_moment(AS_OF.isoformat())):
        return await client.post("/graphql", json=body, headers=headers)


async def strawberry_then_plan(
    client: httpx.AsyncClient, query: str, token: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ask twice; the second answer must come from the plan and be the first one's bytes."""
    plans = plans_of(client)
    first = await post(client, query, token, variables)
    assert first.status_code == 200, first.text
    data_of(first.json())
    answered = plans.answered
    second = await post(client, query, token, variables)
    assert plans.answered == answered + 1, "the second answer did not come from the plan"
    assert second.status_code == 200
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.content == first.content
    return second.json()


async def strawberry_answers(client: httpx.AsyncClient, query: str, token: str | None, **kwargs: Any) -> Any:
    """Ask; the answer must come from Strawberry."""
    plans = plans_of(client)
    answered = plans.answered
    response = await post(client, query, token, **kwargs)
    assert plans.answered == answered, "a plan answered what Strawberry had to"
    return response


@pytest.fixture
async def county(client: httpx.AsyncClient, busy_county) -> dict[str, str]:  # noqa: F811
    """The busy county, and a week-old case of a demo pupil with its ladder's tasks; who asks."""
    head_teacher = await sign_in_head_teacher()
    school_office = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    await record_absence(client, school_office, await demo_student(), date(2026, 9, 2))
    for day in (date(2026, 9, 3), date(2026, 9, 4), date(2026, 9, 7), date(2026, 9, 8), AS_OF):
        await tick(day)
    return {
        "office": await sign_in("leading-group-office", UserRole.OFFICE, "督办员"),
        "education": await sign_in("education"),
        "school": await sign_in("demo-primary-1"),
        "school_office": school_office,
        "head_teacher": head_teacher,
    }


@pytest.mark.parametrize("who", ["office", "education", "school", "school_office", "head_teacher"])
async def test_every_field_of_the_viewer_and_their_queue(client, county, who: str) -> None:
    query = f"""{{ viewer {{ user {{ {every_field("User", 1)} }} unit {{ {every_field("Unit", 1)} }}
      taskQueue(first: 50) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ {every_field("Task", 2)} }} }} }} }} }}"""

    data = (await strawberry_then_plan(client, query, county[who]))["data"]

    if who in ("school", "school_office"):
        assert any(e["node"]["case"] for e in data["viewer"]["taskQueue"]["edges"])


async def test_every_field_of_the_office_task_list_a_page_at_a_time(client, county) -> None:
    query = f"""query($after: String) {{ tasks(first: 40, after: $after) {{ totalCount
      pageInfo {{ hasNextPage endCursor }} nodes {{ {every_field("Task", 2)} }} }} }}"""

    first = (await strawberry_then_plan(client, query, county["office"], {"after": None}))["data"]["tasks"]
    after = first["pageInfo"]["endCursor"]
    plans = plans_of(client)
    answered = plans.answered
    second = await post(client, query, county["office"], {"after": after})

    assert plans.answered == answered + 1  # the same document, other variables: still the plan
    assert data_of(second.json())["tasks"]["nodes"][0]["id"] not in {n["id"] for n in first["nodes"]}
    assert first["totalCount"] > 40


@pytest.mark.parametrize(
    "root",
    [
        "units(first: 50)",
        "duties(first: 50)",
        "cases(first: 20)",
        "students(first: 20)",
        "rules",
        'digest(day: "2026-09-09")',
        "auditTrail(first: 20)",
    ],
)
async def test_every_field_of_the_other_lists(client, county, root: str) -> None:
    name = root.split("(")[0]
    field = schema._schema.query_type.fields[name]
    inner = get_named_type(field.type)
    query = f"{{ {root} {{ {every_field(inner.name, 2)} }} }}"

    await strawberry_then_plan(client, query, county["office"])


async def test_a_case_by_id_with_fragments_aliases_and_merged_fields(client, county) -> None:
    case_id = data_of((await post(client, "{ cases(first: 1) { nodes { id } } }", county["office"])).json())
    query = """
    query($id: ID!) {
      case(id: $id) { ...Head stage student { name } s: student { grade ...on Student { name className } } }
      again: case(id: $id) { id ...on Case { status } }
      viewer { __typename }
    }
    fragment Head on Case { id kind stage tasks { title ...Due } }
    fragment Due on Task { dueAt overdue assigneeUnit { code } }
    """

    data = (await strawberry_then_plan(client, query, county["office"], {"id": case_id["cases"]["nodes"][0]["id"]}))[
        "data"
    ]

    assert list(data) == ["case", "again", "viewer"]
    assert list(data["case"]) == ["id", "kind", "stage", "tasks", "student", "s"]
    assert list(data["case"]["s"]) == ["grade", "name", "className"]


async def test_a_bad_token_on_a_planned_query_gets_strawberrys_error(client, county) -> None:
    query = "{ viewer { user { name } } }"
    await strawberry_then_plan(client, query, county["education"])

    for token in ("kc_not-a-token", None):
        response = await strawberry_answers(client, query, token)
        assert error_codes(response.json()) == ["UNAUTHENTICATED"]
        assert response.json()["data"] is None


async def test_a_planned_query_with_bad_variables_gets_strawberrys_errors(client, county) -> None:
    query = "query($first: Int, $after: String) { viewer { taskQueue(first: $first, after: $after) { nodes { id } } } }"
    await strawberry_then_plan(client, query, county["education"], {"first": 5})

    over = await strawberry_answers(client, query, county["education"], variables={"first": 500})
    forged = await strawberry_answers(client, query, county["education"], variables={"after": "bm90IGEgY3Vyc29y"})
    wrong_type = await strawberry_answers(client, query, county["education"], variables={"first": "five"})
    nul = await strawberry_answers(client, query, county["education"], variables={"after": "a\u0000b"})

    assert error_codes(over.json()) == ["BAD_USER_INPUT"]
    assert "first must be between 1 and 100" in over.json()["errors"][0]["message"]
    assert error_codes(forged.json()) == ["BAD_USER_INPUT"]
    assert wrong_type.json()["errors"] and wrong_type.json().get("data") is None
    assert error_codes(nul.json()) == ["BAD_USER_INPUT"]


async def test_a_planned_query_whose_variables_make_it_too_costly_is_refused(client, county, monkeypatch) -> None:
    from config import settings

    query = "query($first: Int) { tasks(first: $first) { nodes { id title } } }"
    await strawberry_then_plan(client, query, county["office"], {"first": 2})
    monkeypatch.setattr(settings(), "max_query_cost", 50)

    response = await strawberry_answers(client, query, county["office"], variables={"first": 90})

    assert error_codes(response.json()) == ["QUERY_TOO_COSTLY"]
    # The cost is kept by the value of `first`: a cheap value is still the plan's, the costly one still refused.
    plans = plans_of(client)
    answered = plans.answered
    cheap = await post(client, query, county["office"], {"first": 2})
    assert plans.answered == answered + 1 and cheap.json()["extensions"]["cost"]["requested"] == 1 + 2 * 3
    again = await strawberry_answers(client, query, county["office"], variables={"first": 90})
    assert error_codes(again.json()) == ["QUERY_TOO_COSTLY"]


def test_the_cost_depends_only_on_the_variables_given_to_first_or_ids() -> None:
    from graphql import parse

    from api.limits import variables_counted

    document = parse(
        "query($n: Int, $duty: ID, $ids: [ID!]!, $one: ID!) { tasks(first: $n, filter: {dutyId: $duty})"
        " { nodes { id } } a: nodes(ids: $ids) { id } b: nodes(ids: [$one]) { id } viewer { taskQueue(first: 5)"
        " { totalCount } } }"
    )

    assert variables_counted(document) == {"n", "ids", "one"}


async def test_a_resolver_error_in_a_planned_query_is_reported_as_strawberry_reports_it(client, county) -> None:
    query = "query($duty: ID) { tasks(first: 5, filter: {dutyId: $duty}) { nodes { id } } }"
    await strawberry_then_plan(client, query, county["office"], {"duty": None})

    response = await strawberry_answers(client, query, county["office"], variables={"duty": "not an id"})

    assert error_codes(response.json()) == ["BAD_USER_INPUT"]
    assert "filter.dutyId" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "query($on: Boolean!) { viewer { user { name @include(if: $on) } } }",
        "{ __schema { queryType { name } } }",
        "{ node(id: $RUN) { id } }",  # an interface; nor is an import run a node the compiled reads answer
        'mutation { taskComment(id: $ID, input: {text: "x"}) { userErrors { code } } }',
    ],
)
async def test_what_a_plan_does_not_do_strawberry_always_answers(client, county, query: str) -> None:
    task_id = global_id("Task", 1)
    query = query.replace("$ID", f'"{task_id}"').replace("$RUN", f'"{global_id("ImportRun", 1)}"')
    variables = {"on": True} if "$on" in query else None
    for _ in range(3):
        response = await strawberry_answers(client, query, county["office"], variables=variables)
        assert response.status_code == 200


async def test_with_plans_off_strawberry_answers_everything(client, county, monkeypatch) -> None:
    from config import settings

    monkeypatch.setattr(settings(), "query_plans", False)
    for _ in range(3):
        response = await strawberry_answers(client, "{ viewer { user { name } } }", county["education"])
        assert data_of(response.json())["viewer"]["user"]["name"] == "联络员"
