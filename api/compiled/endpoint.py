"""POST /graphql in front of Strawberry's view: read queries it has answered once are answered by plan.

The first time a query document comes, Strawberry answers it (parse, validation, limits, execution).
If that answer had no error and the document is a plannable query, its plan is kept (per document
and operation name, at most PLANS_KEPT). From then on a request for it with a valid bearer token is
answered by the plan: same resolvers, same JSON, same `extensions.cost`. Anything else, and any
request the plan cannot answer exactly as Strawberry would (a bad token, variables that do not
coerce, a query over the cost limit, a resolver's error), goes to Strawberry as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import get_operation_ast, parse
from graphql.execution.values import get_variable_values
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry import Schema

from api.compiled.compiler import compile_query
from api.compiled.plan import Plan, PlanInfo, Unsupported
from api.compiled.sql_plan import Decline, SqlPlan, compile_sql
from api.context import Context
from api.limits import Cost, holds_nul, query_cost, variables_counted
from api.media import content_type, wants_graphql_response
from api.rate_limit import counted, forget, presumed, signed_in
from config import settings
from models import clock
from models.accounts import hash_token

log = logging.getLogger("kongchuo.api")

ANSWERED_CLEANLY = "answered_cleanly"  # set in request.state by the view when an answer had no error
PLANS_KEPT = 256
BEARER = b"bearer "


@dataclass(frozen=True)
class Ask:
    """A GraphQL request over HTTP POST, as JSON."""

    query: str
    operation_name: str | None
    variables: dict[str, Any] | None
    token: str | None
    graphql_response: bool = False  # the client accepts application/graphql-response+json

    @property
    def key(self) -> tuple[str, str | None]:
        return self.query, self.operation_name


COSTS_KEPT = 64  # per document: the costs of as many different values of its counted variables


@dataclass(frozen=True)
class Kept:
    plan: Plan | None  # None: a request the SQL statement declines goes to Strawberry
    sql: SqlPlan | None  # the whole answer in one SQL statement (api/compiled/sql_plan.py)
    document: Any  # DocumentNode, for the cost of a request whose variables change it
    variable_definitions: tuple[Any, ...]
    counted: tuple[str, ...]  # the variables the cost depends on (api/limits.py variables_counted)
    costs: dict[str, Cost] = field(default_factory=dict)  # by the counted variables' values


def ask_of(scope: Scope, body: bytes) -> Ask | None:
    """The request, if it is a single JSON GraphQL request a plan could answer."""
    content_type = token = accept = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value
        elif name == b"accept":
            accept = value
        elif name == b"authorization" and value[: len(BEARER)].lower() == BEARER:
            token = value[len(BEARER) :].strip().decode("latin-1")
    if content_type is None or not content_type.startswith(b"application/json"):
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(payload, dict) or not payload.keys() <= {"query", "operationName", "variables"}:
        return None
    query, operation_name, variables = payload.get("query"), payload.get("operationName"), payload.get("variables")
    if (
        not isinstance(query, str)
        or not isinstance(operation_name, str | None)
        or not isinstance(variables, dict | None)
    ):
        return None
    return Ask(query, operation_name, variables, token, wants_graphql_response(accept))


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, and whether the client is still there."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body already read, then whatever the client sends next."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class PlannedReads:
    def __init__(self, view: ASGIApp, schema: Schema) -> None:
        self.view = view
        self.schema = schema
        self.kept: dict[tuple[str, str | None], Kept | None] = {}  # None: Strawberry answers it, always
        self.answered = 0  # requests answered by plan
        self.answered_by_sql = 0  # of those, answered by one SQL statement

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not settings().query_plans:
            if await counted(scope, send):
                await self.view(scope, receive, send)
            return
        body, connected = await read_body(receive)
        if not connected:
            return
        ask = ask_of(scope, body)
        kept = self.kept.get(ask.key) if ask is not None else None
        if ask is not None and kept is not None:
            answer = await self.answer(kept, scope, ask)  # a read: nothing is kept while its count is in flight
            if answer is not None:
                if await counted(scope, send):
                    self.answered += 1
                    await send_json(send, answer, ask.graphql_response)
                return
        if await counted(scope, send):
            await self.view(scope, replay(body, receive), send)
        if ask is not None and ask.key not in self.kept and scope.get("state", {}).get(ANSWERED_CLEANLY):
            self.learn(ask)

    def learn(self, ask: Ask) -> None:
        plan = sql = None
        try:
            plan = compile_query(self.schema, ask.query, ask.operation_name)
        except Unsupported as reason:
            log.debug("no plan for %.60r: %s", ask.query, reason)
        except Exception:  # a fault of the planner's: the query stays Strawberry's, the answer is already sent
            log.exception("planning failed for %.60r", ask.query)
        if settings().compiled_sql:
            try:
                sql = compile_sql(self.schema, ask.query, ask.operation_name)
            except Unsupported as reason:
                log.debug("no SQL for %.60r: %s", ask.query, reason)
            except Exception:
                log.exception("compiling SQL failed for %.60r", ask.query)
        kept = None
        if plan is not None or sql is not None:
            document = parse(ask.query, no_location=True)
            operation = get_operation_ast(document, ask.operation_name)
            variables = tuple(operation.variable_definitions or ()) if operation else ()
            kept = Kept(plan, sql, document, variables, tuple(sorted(variables_counted(document))))
        if len(self.kept) >= PLANS_KEPT:
            del self.kept[next(iter(self.kept))]
        self.kept[ask.key] = kept

    def cost(self, kept: Kept, ask: Ask) -> Cost:
        """The request's cost; its variables coerce (checked before). Kept by the values of the variables that
        change it (given or not, null or not), so a document asked for many students is counted once."""
        given = ask.variables or {}
        key = repr([(name in given, given.get(name)) for name in kept.counted])
        cost = kept.costs.get(key)
        if cost is None:
            cost = query_cost(self.schema._schema, kept.document, ask.operation_name, given)
            if len(kept.costs) >= COSTS_KEPT:
                del kept.costs[next(iter(kept.costs))]
            kept.costs[key] = cost
        return cost

    async def answer(self, kept: Kept, scope: Scope, ask: Ask) -> bytes | None:
        """The answer's body, or None where Strawberry must answer."""
        if ask.token is None or (ask.variables and holds_nul(ask.variables)):
            return None
        plan = kept.plan
        coerced = None
        if kept.variable_definitions:
            coerced = get_variable_values(self.schema._schema, kept.variable_definitions, ask.variables or {})
            if isinstance(coerced, list):  # errors
                return None
        cost = self.cost(kept, ask)
        if cost.refusal() is not None:
            return None
        try:
            await clock.refresh()
            compiled = kept.sql if settings().compiled_sql else None
            data = None
            guess = presumed(ask.token) if compiled is not None else None
            if compiled is not None and guess is not None:  # one round trip: the token is checked in the statement
                try:
                    data = await compiled.run(guess, coerced, hash_token(ask.token))
                except Decline:
                    compiled = None  # the same viewer is declined again below: the plan answers
                if data is None and compiled is not None:
                    forget(ask.token)  # revoked, expired, or the user changed: asked of the database below
                elif data is not None:
                    self.answered_by_sql += 1
            if data is not None:
                return orjson.dumps({"data": data, "extensions": {"cost": cost.extension()}})
            user = await signed_in(scope, ask.token)
            if user is None:
                return None
            if compiled is not None:
                try:
                    data = await compiled.run(user, coerced)
                    self.answered_by_sql += 1
                except Decline:
                    data = None
            if data is None:
                if plan is None:
                    return None
                context = Context(request=Request(scope), viewer=user, token=ask.token)
                context.request.state.request_id = context.request_id  # for the request's log line
                data = await plan.run(PlanInfo(context), coerced)
        except Unsupported as reason:
            log.info("plan dropped for %.60r: %s", ask.query, reason)
            self.kept[ask.key] = None
            return None
        except Exception:  # Strawberry answers it, with the error where graphql-core puts it
            return None
        return orjson.dumps({"data": data, "extensions": {"cost": cost.extension()}})


async def send_json(send: Send, body: bytes, graphql_response: bool = False) -> None:
    media_type = content_type(graphql_response).encode()  # as Strawberry's answer would be
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", media_type)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
