"""Bounds that keep the API up under abuse: query cost, request size and rate per token.

Depth, aliases and tokens are bounded by Strawberry's own extensions (see api/schema.py); the
cost of a query is computed here, per field with list multipliers as the large public GraphQL
APIs do, refused before execution when over the limit, and reported in `extensions.cost`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
)
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from config import settings

UNSIZED_LIST = 1  # plain lists (a task's history, a unit's members) are short: their fields count once


def _unwrap(gql_type: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(gql_type, (GraphQLNonNull, GraphQLList)):
        is_list = is_list or isinstance(gql_type, GraphQLList)
        gql_type = gql_type.of_type
    return gql_type, is_list


def _int_argument(node: FieldNode, name: str, variables: Mapping[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return given if isinstance(given, int) else None
    return None


def _list_length(node: FieldNode, name: str, variables: Mapping[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value == name:
            if isinstance(argument.value, ListValueNode):
                return len(argument.value.values)
            if isinstance(argument.value, VariableNode):
                given = variables.get(argument.value.name.value)
                return len(given) if isinstance(given, list) else None
    return None


class CostCounter:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _fields(
        self, selection_set: SelectionSetNode, parent: Any, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, Any]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                inner = (
                    self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                )
                yield from self._fields(selection.selection_set, inner or parent, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    inner = self.schema.get_type(fragment.type_condition.name.value) or parent
                    yield from self._fields(fragment.selection_set, inner, seen | {selection.name.value})

    def cost(self, selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str] = frozenset()) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node, owner in self._fields(selection_set, parent, seen):
            total += 1
            field = owner.fields.get(node.name.value) if isinstance(owner, GraphQLObjectType) else None
            if field is None:  # __typename, introspection, or a field of an interface's implementation
                continue
            inner, is_list = _unwrap(field.type)
            children = self.cost(node.selection_set, inner, seen)
            first = _int_argument(node, "first", self.variables)
            if first is not None:  # an over-large page is refused by the page rule, with its own message
                first = max(0, min(first, settings().max_page_size))
            if inner.name.endswith("Connection"):
                children *= first if first is not None else 20
            elif is_list:
                children *= _list_length(node, "ids", self.variables) or first or UNSIZED_LIST
            total += children
        return total


def query_cost(schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping[str, Any]) -> int:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    counter = CostCounter(schema, fragments, variables or {})
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name and definition.name and definition.name.value != operation_name:
                continue
            root = schema.get_root_type(definition.operation)
            total += counter.cost(definition.selection_set, root)
    return total


class CostLimit(SchemaExtension):
    """Refuses a query over the cost limit before it runs; reports the cost of every query."""

    cost: int = 0

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        limit = settings().max_query_cost
        if context.graphql_document is not None:
            self.cost = query_cost(
                context.schema._schema, context.graphql_document, context.operation_name, context.variables or {}
            )
            if self.cost > limit:
                context.result = GraphQLExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            f"查询成本 {self.cost} 超过上限 {limit}：请减少 first 或字段 (query cost over the limit)",
                            extensions={"code": "QUERY_TOO_COSTLY", "cost": self.cost, "limit": limit},
                        )
                    ],
                )
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": {"requested": self.cost, "limit": settings().max_query_cost}}


def holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_nul(v) for v in value)
    return False


def _document_holds_nul(node: Any) -> bool:
    if isinstance(node, StringValueNode):
        return "\x00" in node.value
    if isinstance(node, (list, tuple)):
        return any(_document_holds_nul(n) for n in node)
    keys = getattr(node, "keys", None)
    return bool(keys) and any(_document_holds_nul(getattr(node, k, None)) for k in keys if k != "loc")


class RefuseNul(SchemaExtension):
    """A string holding U+0000 is refused as bad input: PostgreSQL cannot store or even compare it."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        escaped = "\\u" in (context.query or "")  # in a document, U+0000 can only come from an escape: walk only then
        if document is not None and (
            holds_nul(context.variables) or (escaped and _document_holds_nul(document.definitions))
        ):
            context.result = GraphQLExecutionResult(
                data=None,
                errors=[
                    GraphQLError(
                        "字符串中不能有 U+0000 字符 (a string holds the NUL character)",
                        extensions={"code": "BAD_USER_INPUT"},
                    )
                ],
            )
        yield


def _json_error(status: int, message: str, code: str, **extra: Any) -> tuple[int, bytes]:
    return status, orjson.dumps({"errors": [{"message": message, "extensions": {"code": code, **extra}}]})


class Guard:
    """ASGI middleware: refuses oversized bodies (413) and too many requests per token or address (429).

    The window is kept per process; with several API processes each enforces the limit on its share.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.hits: dict[str, deque[float]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        refusal = self._refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, body = refusal
        extra = [(b"retry-after", b"60")] if status == 429 else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, bytes] | None:
        length = headers.get(b"content-length")
        largest = settings().max_upload_bytes if scope.get("path", "").startswith("/imports/") else None
        largest = largest or settings().max_request_bytes  # imports stream to disk and check their own size
        if length is not None and length.isdigit() and int(length) > largest:
            return _json_error(413, "请求体过大 (request body too large)", "PAYLOAD_TOO_LARGE", limit=largest)
        return None  # the rate limit: api/rate_limit.py, one count across processes
