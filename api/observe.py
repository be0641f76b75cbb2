"""One log line and the metrics of every request to /graphql and /documents: request id, operation, status, time.

ASGI middleware around the whole app. It reads nothing the app does not read: the request body is
seen as the app reads it, and the response as the app sends it. The request id is the one the
answer's `X-Request-Id` header, the audit trail and error lines carry (the view sets it in
`request.state.request_id`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import settings
from tasks.machinery import metrics

log = logging.getLogger("kongchuo.request")
OBSERVED = ("/graphql", "/documents/")
IN_MESSAGE = ("method", "path", "operation", "status", "ms")  # a text line says these; JSON has them as keys
KEPT_BYTES = 262_144  # request and response bytes kept to read the operation name and error codes
_NAMED = re.compile(rb"\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def operation_name(scope: Scope, body: bytes) -> str | None:
    """The request's operationName, else the name of its first named operation, else None."""
    query: Any = None
    if scope["method"] == "GET":
        params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if params.get("operationName"):
            return params["operationName"][0]
        query = (params.get("query") or [None])[0]
    elif body:
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            payload = None
        if isinstance(payload, dict):
            if isinstance(payload.get("operationName"), str):
                return payload["operationName"]
            query = payload.get("query")
    if isinstance(query, str):
        named = _NAMED.search(query.encode())
        return named.group(1).decode() if named else None
    return None


def error_codes(body: bytes) -> list[str]:
    if b'"errors"' not in body:
        return []
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(((e.get("extensions") or {}).get("code")) or "UNKNOWN") for e in errors if isinstance(e, dict)]


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(OBSERVED):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        asked, answered = bytearray(), bytearray()
        status = 500

        async def seen_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(asked) < KEPT_BYTES:
                asked.extend(message.get("body", b""))
            return message

        async def seen_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                state = scope.setdefault("state", {})
                request_id = state.get("request_id") or state.setdefault("request_id", uuid.uuid4().hex[:12])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body" and len(answered) < KEPT_BYTES:
                answered.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, seen_receive, seen_send)
        finally:
            self.record(scope, path, bytes(asked), bytes(answered), status, time.perf_counter() - started)

    def record(self, scope: Scope, path: str, asked: bytes, answered: bytes, status: int, seconds: float) -> None:
        route = "/graphql" if path == "/graphql" else "/documents"
        metrics.HTTP_REQUESTS.labels(route, str(status)).inc()
        operation, codes = None, []
        if route == "/graphql":
            operation = operation_name(scope, asked)
            metrics.GRAPHQL_SECONDS.labels(metrics.operation_label(operation)).observe(seconds)
            codes = error_codes(answered)
            for code in codes:
                metrics.GRAPHQL_ERRORS.labels(code).inc()
        if not settings().request_log:
            return
        request_id = (scope.get("state") or {}).get("request_id") or uuid.uuid4().hex[:12]  # none if no answer
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": scope["method"],
            "path": route,
            "operation": operation or ("anonymous" if route == "/graphql" else None),
            "status": status,
            "ms": round(seconds * 1000, 2),
        }
        if codes:
            fields["errors"] = ",".join(sorted(set(codes)))
        message = "%s %s %s %s %.1f ms"
        args = (scope["method"], route, fields["operation"] or "-", status, fields["ms"])
        log.info(message, *args, extra={**fields, "_in_message": IN_MESSAGE})
