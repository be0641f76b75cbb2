"""Malicious and careless queries are refused before they reach the database; limits answer with a code."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from api import rate_limit
from api.app import create_app
from api.ids import global_id
from config import settings
from models import clock
from models.tasks import Task, TaskEvent
from models.units import Unit
from tests.security_support import (
    CLASS_NAMES,
    AsgiWebSocket,
    office_token,
    post,
    real_server,
    refused_before_the_database,
    server_env,
    touches_only_the_token,
)
from tests.support import count_queries, data_of, error_codes, sign_in

INTROSPECTION = "{ __schema { types { name } } }"
TYPE_INTROSPECTION = '{ __type(name: "Student") { fields { name } } }'
NORMAL = '{ unit(code: "education") { name } }'


@pytest.fixture
async def liaison(database: str) -> str:
    return await sign_in("education")


def nested(field: str, depth: int, leaf: str = "code") -> str:
    return (f"{field} {{ " * depth) + leaf + (" }" * depth)


def first_error(result: dict) -> dict:
    assert result.get("errors"), result
    return result["errors"][0]


async def test_deep_nesting_is_refused_before_the_database(client, liaison: str) -> None:
    query = '{ unit(code: "dafeng") { ' + nested("parent", 15) + " } }"

    result, statements = await refused_before_the_database(client, query, liaison)

    assert first_error(result)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in first_error(result)["message"]
    assert result.get("data") is None
    assert touches_only_the_token(statements), statements


async def test_nesting_within_the_limit_is_served(client, liaison: str) -> None:
    query = '{ unit(code: "demo-dafeng-v1") { code parent { code parent { code parent { code } } } } }'

    with count_queries() as counter:
        result = data_of((await post(client, query, liaison)).json())

    township = result["unit"]["parent"]
    assert township["code"] == "dafeng"
    assert township["parent"] == {"code": "county-gov", "parent": None}
    assert not touches_only_the_token(counter.statements)  # the counter does see the statements that run


async def test_deep_nesting_through_fragments_is_refused_too(client, liaison: str) -> None:
    fragments = (
        "".join(f"fragment F{i} on Unit {{ parent {{ ...F{i + 1} }} }} " for i in range(14))
        + "fragment F14 on Unit { code }"
    )
    query = '{ unit(code: "dafeng") { ...F0 } } ' + fragments

    result, statements = await refused_before_the_database(client, query, liaison)

    assert first_error(result)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert touches_only_the_token(statements), statements


async def test_an_alias_flood_is_refused(client, liaison: str) -> None:
    query = "{ " + " ".join(f'a{i}: unit(code: "education") {{ name }}' for i in range(40)) + " }"

    result, statements = await refused_before_the_database(client, query, liaison)

    assert first_error(result)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "alias" in first_error(result)["message"].lower()
    assert result.get("data") is None
    assert touches_only_the_token(statements), statements


async def test_aliases_within_the_limit_are_served(client, liaison: str) -> None:
    query = "{ " + " ".join(f'a{i}: unit(code: "education") {{ code }}' for i in range(5)) + " }"

    result = data_of((await post(client, query, liaison)).json())

    assert [result[f"a{i}"]["code"] for i in range(5)] == ["education"] * 5


@pytest.mark.parametrize(
    "query",
    [
        '{ unit(code: "dafeng") { ...A } } fragment A on Unit { parent { ...B } } '
        "fragment B on Unit { parent { ...A } }",
        '{ unit(code: "dafeng") { ...A } } fragment A on Unit { code ...A }',
    ],
    ids=["two-fragments", "self"],
)
async def test_a_fragment_cycle_is_refused(client, liaison: str, query: str) -> None:
    result, statements = await refused_before_the_database(client, query, liaison)

    assert first_error(result)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "cycle" in " ".join(e["message"] for e in result["errors"]).lower() or "spread" in str(result)
    assert result.get("data") is None
    assert touches_only_the_token(statements), statements


async def test_too_many_tokens_are_refused(client, liaison: str) -> None:
    query = "{ " + " ".join(["__typename"] * (settings().max_query_tokens + 10)) + " }"

    result, statements = await refused_before_the_database(client, query, liaison)

    assert first_error(result)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert touches_only_the_token(statements), statements


@pytest.mark.parametrize(
    "query",
    [
        "{ tasks(first: 101) { nodes { id } } }",
        "{ units(first: 100000) { nodes { id } } }",
        "{ cases(first: 0) { nodes { id } } }",
        "{ students(first: -1) { nodes { id } } }",
        "{ viewer { taskQueue(first: 101) { nodes { id } } } }",
        "{ auditTrail(first: 500) { nodes { at } } }",
    ],
)
async def test_a_huge_or_empty_page_is_bad_user_input(client, query: str) -> None:
    token = await office_token()

    result, statements = await refused_before_the_database(client, query, token)

    assert first_error(result)["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in first_error(result)["message"]
    assert touches_only_the_token(statements), statements


async def test_a_page_of_the_maximum_size_is_served(client, liaison: str) -> None:
    result = (await post(client, "{ units(first: 100) { nodes { code } } }", liaison)).json()

    assert 0 < len(data_of(result)["units"]["nodes"]) <= 100


async def test_too_many_ids_at_once_are_bad_user_input(client, liaison: str) -> None:
    ids = ", ".join(f'"VGFzazo{i}"' for i in range(101))

    result, statements = await refused_before_the_database(client, f"{{ nodes(ids: [{ids}]) {{ id }} }}", liaison)

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert touches_only_the_token(statements), statements


COSTLY = [
    """{ units(first: 100) { nodes { tasks(first: 100) { nodes { id title status dueAt history { at action }
       cooperatingUnits { children { code } } } } } } }""",
    """{ tasks(first: 100) { nodes { assigneeUnit { duties(first: 100) { nodes { owners { unit {
       tasks(first: 100) { nodes { id } } } } } } } } } }""",
    """query($n: Int) { units(first: $n) { nodes { duties(first: $n) { nodes { code title text clause } } } } }""",
]


@pytest.mark.parametrize("query", COSTLY, ids=["units-tasks", "three-connections", "variables"])
async def test_a_query_over_the_cost_limit_is_refused(client, query: str) -> None:
    token = await office_token()

    result, statements = await refused_before_the_database(client, query, token, {"n": 100})

    error = first_error(result)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", result
    assert error["extensions"]["limit"] == settings().max_query_cost
    assert error["extensions"]["cost"] > settings().max_query_cost
    assert result.get("data") is None
    assert touches_only_the_token(statements), statements


async def test_the_cost_of_a_query_is_reported(client, liaison: str) -> None:
    small = (await post(client, NORMAL, liaison)).json()
    larger = (await post(client, "{ units(first: 50) { nodes { code name } } }", liaison)).json()

    for result in (small, larger):
        data_of(result)
        cost = result["extensions"]["cost"]
        assert isinstance(cost["requested"], int) and cost["requested"] > 0
        assert cost["limit"] == settings().max_query_cost
    assert larger["extensions"]["cost"]["requested"] >= 100 > small["extensions"]["cost"]["requested"]


@pytest.fixture
async def guarded(database: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh app (so a fresh rate window) allowing 5 requests a minute."""
    monkeypatch.setattr(settings(), "rate_limit_per_minute", 5)
    rate_limit.reset_for_tests()  # the in-memory store is the process's: start from an empty window
    transport = httpx.ASGITransport(app=create_app(database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_the_sixth_request_in_a_minute_is_rate_limited(guarded: httpx.AsyncClient, liaison: str) -> None:
    other = await sign_in("police")
    for _ in range(5):
        assert (await post(guarded, NORMAL, liaison)).status_code == 200

    refused = await post(guarded, NORMAL, liaison)

    assert refused.status_code == 429
    assert refused.headers["retry-after"].isdigit() and int(refused.headers["retry-after"]) > 0
    assert error_codes(refused.json()) == ["RATE_LIMITED"]
    assert refused.json()["errors"][0]["message"]
    served = await post(guarded, NORMAL, other)
    assert served.status_code == 200
    assert data_of(served.json())["unit"]["name"]


async def test_a_write_over_the_limit_does_nothing(guarded: httpx.AsyncClient, liaison: str) -> None:
    task = await Task.create(title="核实", due_at=clock.now(), assignee_unit=await Unit.get(code="education"))
    comment = (
        f'mutation {{ taskComment(id: "{global_id("Task", task.id)}", input: {{text: "多一次"}}) {{ task {{ id }} }} }}'
    )
    for _ in range(5):
        assert (await post(guarded, NORMAL, liaison)).status_code == 200

    refused = await post(guarded, comment, liaison)

    assert refused.status_code == 429 and error_codes(refused.json()) == ["RATE_LIMITED"]
    assert not await TaskEvent.filter(task=task).exists()


async def test_a_caller_refused_is_counted_before_its_reads(guarded: httpx.AsyncClient, liaison: str) -> None:
    for _ in range(5):
        assert (await post(guarded, NORMAL, liaison)).status_code == 200
    # A known caller's read is counted while it runs (api/rate_limit.py): the first over the limit ran its read.
    assert (await post(guarded, NORMAL, liaison)).status_code == 429

    with count_queries() as counter:
        again = await post(guarded, NORMAL, liaison)

    assert again.status_code == 429
    assert counter.statements == [], counter.statements  # counted first now: refused before anything was read


async def test_rate_limit_applies_to_anonymous_callers_by_address(guarded: httpx.AsyncClient) -> None:
    statuses = [(await guarded.post("/graphql", json={"query": NORMAL})).status_code for _ in range(6)]

    assert statuses == [200] * 5 + [429]


async def test_a_body_over_the_limit_is_413(client, liaison: str) -> None:
    padding = "#" + "x" * (settings().max_request_bytes + 10) + "\n"

    with_headers = {"Authorization": f"Bearer {liaison}"}
    response = await client.post("/graphql", json={"query": padding + NORMAL}, headers=with_headers)

    assert response.status_code == 413
    assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]
    assert response.json()["errors"][0]["extensions"]["limit"] == settings().max_request_bytes


async def test_a_body_just_under_the_limit_is_read(client, liaison: str) -> None:
    padding = "#" + "x" * (settings().max_request_bytes - 2_000) + "\n"

    response = await post(client, padding + NORMAL, liaison)

    assert response.status_code == 200
    assert data_of(response.json())["unit"]["name"]


async def test_introspection_is_on_by_default(client, liaison: str) -> None:
    result = data_of((await post(client, INTROSPECTION, liaison)).json())

    assert "Task" in {t["name"] for t in result["__schema"]["types"]}


async def test_introspection_can_be_switched_off(database: str, tmp_path: Path) -> None:
    token = await sign_in("education")
    env = server_env(database, INTROSPECTION="false")
    with real_server(env, tmp_path) as (address, _):
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=20) as http:
            schema = (await post(http, INTROSPECTION, token)).json()
            one_type = (await post(http, TYPE_INTROSPECTION, token)).json()
            normal = (await post(http, NORMAL, token)).json()

    for refused in (schema, one_type):
        assert refused.get("data") is None, refused
        assert error_codes(refused)[0] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection" in refused["errors"][0]["message"].lower()
        assert "Student" not in str(refused.get("data"))
    assert data_of(normal)["unit"]["name"] == "县教育局"


def _boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError("secret detail: password=hunter2 at /srv/db")


def _assert_masked(response: httpx.Response) -> dict:
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert len(errors) == 1
    error = errors[0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert isinstance(request_id, str) and len(request_id) >= 8
    assert request_id in error["message"]
    for secret in ("hunter2", "secret detail", "/srv/db", *CLASS_NAMES):
        assert secret not in response.text, secret
    return error


async def test_an_internal_error_is_masked_with_a_request_id_that_is_in_the_log(
    client, liaison: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("api.queries.plan_school_year", _boom)

    with caplog.at_level(logging.ERROR, logger="kongchuo.api"):
        response = await post(client, '{ dutyCalendarPreview(schoolYear: "2026-2027") { total } }', liaison)

    error = _assert_masked(response)
    assert error["path"] == ["dutyCalendarPreview"]
    request_id = error["extensions"]["requestId"]
    logged = [r for r in caplog.records if r.name == "kongchuo.api" and request_id in r.getMessage()]
    assert logged, [r.getMessage() for r in caplog.records]
    assert logged[0].exc_info and "hunter2" in str(logged[0].exc_info[1])  # the detail stays in the log


async def test_an_internal_error_deep_in_a_nested_field_is_masked(
    client, liaison: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from api.types.unit import UnitType

    monkeypatch.setattr(UnitType, "from_row", classmethod(_boom))

    with caplog.at_level(logging.ERROR, logger="kongchuo.api"):
        response = await post(client, '{ viewer { user { name } } unit(code: "education") { name } }', liaison)

    error = _assert_masked(response)
    assert error["path"] == ["unit"]
    assert response.json()["data"]["viewer"]["user"]["name"]  # the rest of the answer is still served
    assert any(error["extensions"]["requestId"] in r.getMessage() for r in caplog.records)


SUBSCRIBE_COUNTS = "subscription { taskQueueCounts { openCount overdueCount } }"


async def _socket_signed_in(socket: AsgiWebSocket, token: str) -> None:
    assert (await socket.receive())["type"] == "websocket.accept"
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert (await socket.receive_message())["type"] == "connection_ack"  # a text frame, as clients expect


async def _answer(socket: AsgiWebSocket, operation: str, query: str) -> dict:
    """The first answer (next or error) to one operation, skipping the complete of earlier ones."""
    await socket.send({"id": operation, "type": "subscribe", "payload": {"query": query}})
    while True:
        message = await socket.receive_message()
        if message.get("id") == operation and message["type"] in ("next", "error"):
            return message


async def test_over_a_websocket_the_limits_hold_and_only_subscriptions_run(database: str, liaison: str) -> None:
    deep = '{ unit(code: "dafeng") { ' + nested("parent", 15) + " } }"
    mutation = 'mutation { dutyCalendarGenerate(input: {schoolYear: "2026-2027"}) { created } }'
    async with AsgiWebSocket(create_app(database)) as socket:
        await _socket_signed_in(socket, liaison)
        with count_queries() as counter:
            too_deep = await _answer(socket, "deep", deep)
            query = await _answer(socket, "query", NORMAL)
            write = await _answer(socket, "write", mutation)

    assert too_deep["type"] == "error"
    assert too_deep["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    for refused in (query, write):
        assert refused["type"] == "next" and refused["payload"]["data"] is None
        assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == ["BAD_USER_INPUT"]
        assert "HTTP" in refused["payload"]["errors"][0]["message"]
    # Nothing read, nothing changed; the refused mutation is on the record, as every refused write is.
    assert len(counter.statements) == 1 and counter.statements[0].startswith('INSERT INTO "audit_entry"')
    assert "dutyCalendarGenerate" in counter.statements[0] and "BAD_USER_INPUT" in counter.statements[0]


async def test_an_internal_error_in_a_subscription_is_masked_and_logged(
    database: str, liaison: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object) -> int:
        raise RuntimeError("secret detail: password=hunter2 at /srv/db")

    monkeypatch.setattr("api.subscriptions._queue_counts", broken)
    with caplog.at_level(logging.ERROR, logger="kongchuo.api"):
        async with AsgiWebSocket(create_app(database)) as socket:
            await _socket_signed_in(socket, liaison)
            await socket.send({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE_COUNTS}})
            answer = await socket.receive_message()
            assert (await socket.receive_message())["type"] == "complete"

    errors = answer["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["INTERNAL_SERVER_ERROR"]
    request_id = errors[0]["extensions"]["requestId"]
    assert request_id in errors[0]["message"]
    text = orjson.dumps(answer).decode()
    for secret in ("hunter2", "secret detail", "/srv/db", *CLASS_NAMES):
        assert secret not in text, secret
    assert any(request_id in r.getMessage() for r in caplog.records if r.name == "kongchuo.api")


async def test_a_subscription_over_the_in_process_socket_gets_its_counts(database: str, liaison: str) -> None:
    async with AsgiWebSocket(create_app(database)) as socket:
        await _socket_signed_in(socket, liaison)
        await socket.send({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE_COUNTS}})
        update = await socket.receive_message()

    assert update["type"] == "next"
    assert update["payload"]["data"] == {"taskQueueCounts": {"openCount": 0, "overdueCount": 0}}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ unit(code: "edu\\u0000cation") { name } }', {}),
        ('{ unit(code: "edu\\u{0}cation") { name } }', {}),
        ("query($code: String!) { unit(code: $code) { name } }", {"code": "edu\x00cation"}),
        ("query($f: StudentFilter) { students(filter: $f) { totalCount } }", {"f": {"name": "\x00"}}),
        ('mutation { taskComment(id: "VGFzazo5OTk5OTk=", input: {text: "\\u0000"}) { userErrors { code } } }', {}),
    ],
    ids=["literal", "braced-literal", "variable", "nested-variable", "mutation"],
)
async def test_a_nul_character_is_bad_input_on_every_backend(client, liaison: str, query: str, variables: dict) -> None:
    result, statements = await refused_before_the_database(client, query, liaison, variables)

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert "NUL" in result["errors"][0]["message"]
    audit = [s for s in statements if s.startswith('INSERT INTO "audit_entry"')]
    assert len(audit) == query.startswith("mutation"), "a refused mutation is on the record; nothing else is written"
    assert touches_only_the_token([s for s in statements if s not in audit]), statements
