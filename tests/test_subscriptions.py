"""The live queue over WebSocket (graphql-transport-ws only), against a real server: counts follow the
tasks, a revoked token ends the subscription at once, and a bad token or the legacy protocol is refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportError
from gql.transport.websockets import WebsocketsTransport
from websockets.exceptions import ConnectionClosed

from models import clock
from models.accounts import deactivate_user, revoke_token
from models.units import Unit
from models.users import User
from tasks.queue.workflow import create_task
from tests.security_support import real_server, server_env
from tests.support import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

COUNTS = GraphQLRequest("subscription { taskQueueCounts { openCount overdueCount } }")
TRANSPORT_WS = WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL  # "graphql-transport-ws"
LEGACY_WS = WebsocketsTransport.APOLLO_SUBPROTOCOL  # "graphql-ws"


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ws://host:port/graphql of a real uvicorn on the test database, shared by this module's tests."""
    with real_server(server_env(database), tmp_path_factory.mktemp("subscriptions")) as (address, _):
        yield f"ws://{address}/graphql"


def close_code(error: BaseException) -> int | None:
    """The close code the server sent, wherever in the chain of causes the closed connection is."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionClosed) and seen.rcvd is not None:
            return seen.rcvd.code
        seen = seen.__cause__ or seen.__context__
    return None


def transport(url: str, token: str | None, subprotocol: str = TRANSPORT_WS) -> WebsocketsTransport:
    payload = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return WebsocketsTransport(
        url=url, subprotocols=[subprotocol], init_payload=payload, connect_timeout=10, ack_timeout=10
    )


async def next_update(updates: AsyncIterator[dict[str, Any]], seconds: float = 10) -> dict[str, int]:
    result = await asyncio.wait_for(anext(updates), seconds)
    return result["taskQueueCounts"]


async def test_counts_follow_the_queue_and_a_revoked_token_ends_the_subscription(server: str) -> None:
    token = await sign_in("education")
    education = await Unit.get(code="education")
    await create_task(title="订阅：已有", unit=education, due=clock.today() + timedelta(days=7))

    async with Client(transport=transport(server, token)) as session:
        updates = session.subscribe(COUNTS)
        assert await next_update(updates) == {"openCount": 1, "overdueCount": 0}

        await create_task(title="订阅：新任务", unit=education, due=clock.today() + timedelta(days=3))
        assert await next_update(updates) == {"openCount": 2, "overdueCount": 0}
        await create_task(title="订阅：逾期", unit=education, due=clock.today() - timedelta(days=2))
        assert await next_update(updates) == {"openCount": 3, "overdueCount": 1}
        other = await Unit.get(code="police")
        await create_task(title="订阅：别人的", unit=other, due=clock.today())  # not in this queue: no update

        assert await revoke_token(token) == 1
        started = time.monotonic()
        with pytest.raises(TransportError) as ended:
            await asyncio.wait_for(anext(updates), 5)
        assert time.monotonic() - started < 5
        assert close_code(ended.value) == 4403


async def test_the_socket_closes_with_4403_when_the_token_is_revoked(server: str) -> None:
    token = await sign_in("education")
    async with websockets.connect(server, subprotocols=[TRANSPORT_WS]) as socket:
        assert socket.subprotocol == TRANSPORT_WS
        await socket.send(f'{{"type": "connection_init", "payload": {{"Authorization": "Bearer {token}"}}}}')
        assert '"connection_ack"' in await asyncio.wait_for(socket.recv(), 10)
        await socket.send(
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription { taskQueueCounts { openCount } }"}}'
        )
        assert '"next"' in await asyncio.wait_for(socket.recv(), 10)

        await revoke_token(token)
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 5)

    assert time.monotonic() - started < 5
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_deactivated_user_loses_the_subscription_too(server: str) -> None:
    token = await sign_in("education")
    async with Client(transport=transport(server, token)) as session:
        updates = session.subscribe(COUNTS)
        await next_update(updates)
        user = await User.get(tokens__prefix=token[:10])
        assert await deactivate_user(user.id) == 1  # the action writes the event that closes its sockets

        with pytest.raises(TransportError) as ended:
            await asyncio.wait_for(anext(updates), 5)
        assert close_code(ended.value) == 4403


@pytest.mark.parametrize("token", [None, "", "kc_not-a-real-token", "revoked"])
async def test_a_connection_without_a_valid_token_is_rejected(server: str, token: str | None) -> None:
    if token == "revoked":
        token = await sign_in("education")
        await revoke_token(token)

    with pytest.raises(TransportError) as refused:
        async with Client(transport=transport(server, token)) as session:
            await next_update(session.subscribe(COUNTS))

    assert close_code(refused.value) == 4403


async def test_a_bad_connection_init_closes_the_socket_with_4403(server: str) -> None:
    async with websockets.connect(server, subprotocols=[TRANSPORT_WS]) as socket:
        await socket.send('{"type": "connection_init", "payload": {"Authorization": "Bearer kc_garbage"}}')
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_subscription_before_connection_init_is_refused(server: str) -> None:
    async with websockets.connect(server, subprotocols=[TRANSPORT_WS]) as socket:
        await socket.send(
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription { taskQueueCounts { openCount } }"}}'
        )
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_legacy_graphql_ws_protocol_is_refused(server: str) -> None:
    token = await sign_in("education")

    with pytest.raises(TransportError) as refused:
        async with Client(transport=transport(server, token, LEGACY_WS)) as session:
            await next_update(session.subscribe(COUNTS))

    assert close_code(refused.value) == 4406  # subprotocol not acceptable


async def test_the_legacy_protocol_is_not_agreed_and_gets_no_data(server: str) -> None:
    token = await sign_in("education")
    async with websockets.connect(server, subprotocols=[LEGACY_WS]) as socket:
        assert socket.subprotocol is None  # the server does not speak it
        with pytest.raises(ConnectionClosed) as closed:
            await socket.send(f'{{"type": "connection_init", "payload": {{"Authorization": "Bearer {token}"}}}}')
            await socket.send(
                '{"id": "1", "type": "start", "payload": {"query": "subscription { taskQueueCounts { openCount } }"}}'
            )
            while True:
                assert "openCount" not in await asyncio.wait_for(socket.recv(), 10)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406
