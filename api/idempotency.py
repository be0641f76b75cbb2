"""Idempotency keys (Stripe's pattern): a mutation sent again with the same `Idempotency-Key` gets the first answer.

The key, the user, a hash of the request and the answer are written in the same transaction as the
mutation itself: either both are committed or neither, so a retry after a lost answer (the API killed
mid-request, a dropped connection) never runs the mutation twice and never finds it half-recorded.
For the same key and user:
- the same request again: the stored answer, with `Idempotent-Replayed: true`;
- another request: 422 `IDEMPOTENCY_KEY_REUSED`;
- while the first is still running: the second waits for it (up to IDEMPOTENCY_WAIT_SECONDS), then is
  answered as above, or 409 `IDEMPOTENCY_KEY_IN_FLIGHT` with Retry-After.
Keys expire after IDEMPOTENCY_TTL_HOURS (a day). Only mutations are keyed; reads pass through.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from graphql import GraphQLError, OperationType, parse
from graphql.language import OperationDefinitionNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.rate_limit import bearer_token, signed_in
from config import settings
from models.live import IdempotencyKey
from tasks.machinery.retry import lost_a_lock_race

log = logging.getLogger("kongchuo.idempotency")
HEADER = b"idempotency-key"
MAX_KEY = 255
WAIT_SECONDS = 10


class _Discard(Exception):
    """The answer is not one to keep (a fault): roll the transaction back, send the answer all the same."""


def _error(status: int, message: str, code: str, retry_after: int | None = None) -> tuple[int, list[Any], bytes]:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    return status, headers, body


def _is_mutation(body: bytes) -> tuple[bool, str]:
    """(is a mutation, the request's hash). Whatever cannot be read is left to the view to refuse."""
    try:
        ask = orjson.loads(body)
        query = ask.get("query") if isinstance(ask, dict) else None
        if not isinstance(query, str):
            return False, ""
        document = parse(query, max_tokens=settings().max_query_tokens)
    except (orjson.JSONDecodeError, GraphQLError, TypeError, ValueError):
        return False, ""
    name = ask.get("operationName")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if name is None or (o.name and o.name.value == name)]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.MUTATION:
        return False, ""
    canonical = orjson.dumps(
        {"query": query, "variables": ask.get("variables") or {}, "operationName": name}, option=orjson.OPT_SORT_KEYS
    )
    return True, hashlib.sha256(canonical).hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replayed(row: IdempotencyKey) -> tuple[int, list[Any], bytes]:
    body = orjson.dumps(row.response)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"idempotent-replayed", b"true")]  # fmt: skip
    return row.status_code or 200, headers, body


class Idempotency:
    """ASGI middleware for POST /graphql carrying an Idempotency-Key header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        key_bytes = headers.get(HEADER)
        if key_bytes is None or scope.get("method") != "POST" or scope.get("path") != "/graphql":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        answer = await self._answer(scope, headers, key_bytes, body)
        if answer is None:
            await self.app(scope, _replay(body), send)
            return
        status, response_headers, response_body = answer
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": response_body})

    async def _answer(
        self, scope: Scope, headers: dict[bytes, bytes], key_bytes: bytes, body: bytes
    ) -> tuple[int, list[Any], bytes] | None:
        """The answer to send, or None to let the request through untouched (not a keyed mutation)."""
        key = key_bytes.decode(errors="replace").strip()
        if not key or len(key) > MAX_KEY:
            return _error(400, f"Idempotency-Key 须为 1 至 {MAX_KEY} 个字符 (bad key)", "BAD_USER_INPUT")
        mutation, request_hash = _is_mutation(body)
        token = bearer_token(headers.get(b"authorization", b"").decode(errors="replace"))
        user = await signed_in(scope, token) if (mutation and token) else None
        if user is None:  # not a mutation, or not signed in: the view answers (and refuses) as usual
            return None
        now = datetime.now(UTC)
        expired = now - timedelta(hours=settings().idempotency_ttl_hours)
        await IdempotencyKey.filter(user_id=user.id, key=key, created_at__lt=expired).delete()
        first = await IdempotencyKey.get_or_none(user_id=user.id, key=key)
        if first is not None:
            return self._again(first, request_hash)
        captured: dict[str, Any] = {}
        try:
            async with in_transaction() as connection:
                if connection.capabilities.dialect == "postgres":  # wait for a first request in flight, not forever
                    await connection.execute_script(f"SET LOCAL lock_timeout = '{WAIT_SECONDS}s'")
                try:
                    async with in_transaction():  # a savepoint: a lost race leaves the transaction usable
                        row = await IdempotencyKey.create(
                            key=key, user_id=user.id, request_hash=request_hash, created_at=now
                        )
                except IntegrityError:
                    row = None
                if row is None:  # another request with this key committed first (we waited for it)
                    first = await IdempotencyKey.get(user_id=user.id, key=key)
                    return self._again(first, request_hash)
                captured = await self._run(scope, body)
                status = captured["status"]
                response = _json(captured["body"])
                if status >= 500 or response is None or _faulted(response):
                    raise _Discard
                await IdempotencyKey.filter(id=row.id).update(response=response, status_code=status)
        except _Discard:
            pass  # rolled back: a retry runs the mutation afresh
        except Exception as error:
            if (
                lost_a_lock_race(error)
                or "lock timeout" in str(error)
                or "55P03" in str(getattr(error, "sqlstate", ""))
            ):
                return _error(
                    409,
                    "同一 Idempotency-Key 的请求正在处理，请稍后重试 (a request with this key is in flight)",
                    "IDEMPOTENCY_KEY_IN_FLIGHT",
                    retry_after=1,
                )
            raise
        from tasks.machinery import dispatch

        await dispatch.nudge()  # the mutation's nudge came before this commit: the worker may have missed it
        return captured["status"], captured["headers"], captured["body"]

    def _again(self, first: IdempotencyKey, request_hash: str) -> tuple[int, list[Any], bytes]:
        if first.request_hash != request_hash:
            return _error(
                422,
                "该 Idempotency-Key 已用于另一个请求 (key already used for a different request)",
                "IDEMPOTENCY_KEY_REUSED",
            )
        if first.response is None:
            return _error(409, "同一 Idempotency-Key 的请求正在处理 (in flight)", "IDEMPOTENCY_KEY_IN_FLIGHT", 1)
        return _replayed(first)

    async def _run(self, scope: Scope, body: bytes) -> dict[str, Any]:
        captured: dict[str, Any] = {"status": 500, "headers": [], "chunks": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["chunks"].append(message.get("body", b""))

        await self.app(scope, _replay(body), capture)
        captured["body"] = b"".join(captured.pop("chunks"))
        return captured


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _waited_too_long(error: BaseException) -> bool:
    """PostgreSQL's lock_timeout (55P03) while the first request held the key, or a lock race lost."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "sqlstate", None) == "55P03" or "lock timeout" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return lost_a_lock_race(error)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _faulted(response: Any) -> bool:
    """A fault (not a business refusal): nothing worth replaying; the client should simply try again."""
    errors = response.get("errors") if isinstance(response, dict) else None
    return bool(errors) and any(
        (e.get("extensions") or {}).get("code") in ("INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE") for e in errors
    )
