"""Helpers for the security tests: people who sign in, the audit lines of a test, a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from models.audit import AuditEntry
from tests.processes import Process, environment, free_port, running, server_args, wait_http
from tests.support import count_queries, sign_in

OFFICE_UNIT = "leading-group-office"
CLASS_NAMES = ("RuntimeError", "ValueError", "KeyError", "TypeError", "AttributeError", "IntegrityError",
               "OperationalError", "Traceback", "Exception:", 'File "')  # fmt: skip


async def office_token(name: str = "办公室") -> str:
    from models.users import UserRole

    return await sign_in(OFFICE_UNIT, UserRole.OFFICE, name)


async def post(
    client: httpx.AsyncClient, query: str, token: str | None = None, variables: dict[str, Any] | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


async def refused_before_the_database(
    client: httpx.AsyncClient, query: str, token: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The answer, and every SQL statement the request ran."""
    with count_queries() as counter:
        response = await post(client, query, token, variables)
    assert response.status_code == 200, response.text
    return response.json(), counter.statements


def touches_only_the_token(statements: list[str]) -> bool:
    """At most one statement, and that one the token lookup: nothing read a task, unit, case or child."""
    return len(statements) <= 1 and all('"token"' in s for s in statements)


async def audit_lines(**filters: Any) -> list[AuditEntry]:
    return await AuditEntry.filter(**filters).order_by("id")


def server_env(database: str, **values: str) -> dict[str, str]:
    """A server on the test database whose in-process jobs never sweep (so they change nothing)."""
    return environment(DATABASE_URL=database, LADDER_SWEEP_HOUR="24", JOB_INTERVAL_SECONDS="3600", **values)


@contextmanager
def real_server(env: dict[str, str], log_dir: Path) -> Iterator[tuple[str, Process]]:
    """uvicorn serving api.asgi:app; yields its base URL (http://127.0.0.1:port)."""
    port = free_port()
    with running("server", server_args(port), env, log_dir) as process:
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
        yield f"127.0.0.1:{port}", process


class AsgiWebSocket:
    """A WebSocket client for the in-process app (same event loop, so monkeypatches apply)."""

    def __init__(self, app: Any, subprotocol: str = "graphql-transport-ws", headers: dict[str, str] | None = None):
        self.app = app
        self.subprotocol = subprotocol
        self.headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsgiWebSocket:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"test"), (b"sec-websocket-protocol", self.subprotocol.encode()), *self.headers],
            "client": ("127.0.0.1", 123),
            "server": ("test", 80),
            "subprotocols": [self.subprotocol],
            "state": {},
        }
        await self.outgoing.put({"type": "websocket.connect"})
        self.task = asyncio.create_task(self.app(scope, self.outgoing.get, self.incoming.put))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.outgoing.put({"type": "websocket.disconnect", "code": 1000})
        assert self.task is not None
        try:
            await asyncio.wait_for(self.task, 5)
        except (TimeoutError, asyncio.CancelledError):
            self.task.cancel()

    async def send(self, message: dict[str, Any]) -> None:
        await self.outgoing.put({"type": "websocket.receive", "text": orjson.dumps(message).decode()})

    async def receive(self, seconds: float = 5) -> dict[str, Any]:
        """The next ASGI event the app sent: websocket.accept, websocket.send or websocket.close."""
        return await asyncio.wait_for(self.incoming.get(), seconds)

    async def receive_message(self, seconds: float = 5) -> dict[str, Any]:
        event = await self.receive(seconds)
        assert event["type"] == "websocket.send", event
        assert event.get("text") is not None, f"a binary frame: {event}"
        return orjson.loads(event["text"])
