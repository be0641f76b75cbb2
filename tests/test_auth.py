"""Signing in: a bearer token or nothing; a token that is wrong, expired or revoked opens no data."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.ids import global_id
from models import clock
from models.accounts import create_user, issue_token, revoke_token
from models.units import Unit
from models.users import Token, User, UserRole
from tasks.queue.workflow import create_task
from tests.support import data_of, error_codes, gql, sign_in

VIEWER = "{ viewer { user { name role unit { code } } unit { code } } }"

ANONYMOUS_QUERIES = {
    "viewer": VIEWER,
    "units": "{ units { totalCount nodes { code } } }",
    "unit": '{ unit(code: "education") { code name } }',
    "duties": "{ duties { totalCount } }",
    "tasks": "{ tasks { totalCount nodes { id title } } }",
    "node": '{ node(id: "VGFzazox") { id } }',
    "nodes": '{ nodes(ids: ["VGFzazox"]) { id } }',
    "mutation": 'mutation { taskClaim(id: "VGFzazox") { task { id } userErrors { code } } }',
}


def assert_unauthenticated(result: dict) -> None:
    assert result["data"] is None, result
    assert error_codes(result) and set(error_codes(result)) == {"UNAUTHENTICATED"}, result
    assert result["errors"][0]["message"]


@pytest.fixture
async def liaison(database) -> User:
    return await create_user(await Unit.get(code="education"), UserRole.LIAISON, "教育局联络员")


@pytest.mark.parametrize("name", list(ANONYMOUS_QUERIES))
async def test_without_a_token_the_answer_is_an_authentication_error(client, name: str) -> None:
    education = await Unit.get(code="education")
    task, _ = await create_task(title="不应泄露的任务", unit=education, due=clock.today())
    query = ANONYMOUS_QUERIES[name].replace("VGFzazox", global_id("Task", task.id))

    result = await gql(client, query)

    assert_unauthenticated(result)
    assert "不应泄露的任务" not in str(result)


async def test_a_valid_token_signs_the_liaison_in(client, liaison) -> None:
    token = await issue_token(liaison)

    viewer = data_of(await gql(client, VIEWER, token=token))["viewer"]

    assert viewer == {
        "user": {"name": "教育局联络员", "role": "LIAISON", "unit": {"code": "education"}},
        "unit": {"code": "education"},
    }


async def test_the_scheme_name_is_case_insensitive(client, liaison) -> None:
    token = await issue_token(liaison)

    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"bearer {token}"})

    assert response.json()["data"]["viewer"]["user"]["name"] == "教育局联络员"


@pytest.mark.parametrize(
    "header",
    ["Bearer garbage", "Bearer kc_not-a-real-token-at-all", "Bearer ", "Basic dXNlcjpwYXNz", "kc_abc"],
)
async def test_a_garbage_token_is_refused(client, liaison, header: str) -> None:
    await issue_token(liaison)

    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": header})

    assert response.status_code == 200
    assert_unauthenticated(response.json())


async def test_an_expired_token_is_refused(client, liaison) -> None:
    token = await issue_token(liaison, ttl_days=0)

    assert_unauthenticated(await gql(client, VIEWER, token=token))


async def test_a_token_expires_when_its_time_is_up(client, liaison) -> None:
    token = await issue_token(liaison, ttl_days=1)
    assert data_of(await gql(client, VIEWER, token=token))["viewer"]["user"]["name"] == "教育局联络员"

    with clock.as_of(clock.now() + timedelta(days=1, minutes=-1)):
        assert data_of(await gql(client, VIEWER, token=token))["viewer"]["user"]["name"] == "教育局联络员"
    with clock.as_of(clock.now() + timedelta(days=1, minutes=1)):
        result = await gql(client, VIEWER, token=token)

    assert_unauthenticated(result)


async def test_a_token_whose_expiry_is_in_the_past_is_refused(client, liaison) -> None:
    token = await issue_token(liaison)
    row = await Token.get(user_id=liaison.id)
    row.expires_at = clock.now() - timedelta(seconds=1)
    await row.save(update_fields=["expires_at"])

    assert_unauthenticated(await gql(client, VIEWER, token=token))


@pytest.mark.parametrize("by", ["token", "prefix"])
async def test_a_revoked_token_is_refused_at_once(client, liaison, by: str) -> None:
    token = await issue_token(liaison)
    other = await issue_token(liaison)
    assert data_of(await gql(client, VIEWER, token=token))

    revoked = await revoke_token(token if by == "token" else token[:10])

    assert revoked == 1
    assert_unauthenticated(await gql(client, VIEWER, token=token))
    assert data_of(await gql(client, VIEWER, token=other))["viewer"]["user"]["name"] == "教育局联络员"


async def test_revoking_twice_revokes_nothing_more(liaison) -> None:
    token = await issue_token(liaison)

    assert await revoke_token(token) == 1
    assert await revoke_token(token) == 0


async def test_a_deactivated_user_cannot_sign_in(client, liaison) -> None:
    token = await issue_token(liaison)
    await User.filter(id=liaison.id).update(is_active=False)

    assert_unauthenticated(await gql(client, VIEWER, token=token))


async def test_tokens_are_stored_hashed(liaison) -> None:
    token = await issue_token(liaison)

    rows = await Token.filter(user_id=liaison.id).values()

    assert len(rows) == 1
    assert token not in str(rows)
    assert len(rows[0]["token_hash"]) == 64
    assert token.startswith(rows[0]["prefix"])
    assert len(rows[0]["prefix"]) < len(token) // 2


async def test_every_token_is_new(liaison) -> None:
    tokens = {await issue_token(liaison) for _ in range(5)}

    assert len(tokens) == 5
    assert all(len(t) >= 40 for t in tokens)


async def test_an_office_user_is_known_as_such(client) -> None:
    token = await sign_in("leading-group-office", UserRole.OFFICE, name="办公室")

    viewer = data_of(await gql(client, VIEWER, token=token))["viewer"]

    assert viewer["user"]["role"] == "OFFICE"
    assert viewer["unit"] == {"code": "leading-group-office"}
