"""Bounds that keep the API up under abuse: query cost, request size and rate per token.

Depth, aliases and tokens are bounded by Strawberry's own extensions (see api/schema.py); the
cost of a query is computed here, per field with list multipliers as the large public GraphQL
APIs do, refused before execution when over the limit, and reported in `extensions.cost`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    StringValueNode,
    TypeMetaFieldDef,
    VariableNode,
    Visitor,
    get_introspection_query,
    get_operation_ast,
    parse,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_argument_values, get_variable_values
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from config import settings

UNSIZED_LIST = 1  # plain lists (a task's history, a unit's members) are short: their fields count once
# A query may read the schema twice over (GraphiQL reads it once): the limit grows with the schema,
# so adding fields never makes GraphiQL's own introspection too costly, and thirty copies are still refused.
INTROSPECTIONS_ALLOWED = 2
_INTROSPECTION_LISTS: dict[int, dict[tuple[str, str], float]] = {}
_INTROSPECTION_LIMITS: dict[int, int] = {}


def _unwrap(gql_type: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(gql_type, (GraphQLNonNull, GraphQLList)):
        is_list = is_list or isinstance(gql_type, GraphQLList)
        gql_type = gql_type.of_type
    return gql_type, is_list


def _introspection_lists(schema: GraphQLSchema) -> dict[tuple[str, str], float]:
    """How long each list of an introspection answer is, on average, in this schema: a `__schema { types {
    fields { ... } } }` costs about what it returns, so thirty of them are refused like any costly query."""
    types = list(schema.type_map.values())
    outputs = [t for t in types if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType))]
    fields = [f for t in outputs for f in t.fields.values()]

    def mean(total: int, count: int) -> float:
        return total / count if count else 0.0

    n = len(types)
    return {
        ("__Schema", "types"): n,
        ("__Schema", "directives"): len(schema.directives),
        ("__Type", "fields"): mean(len(fields), n),
        ("__Type", "inputFields"): mean(sum(len(t.fields) for t in types if isinstance(t, GraphQLInputObjectType)), n),
        ("__Type", "interfaces"): mean(sum(len(t.interfaces) for t in outputs), n),
        ("__Type", "possibleTypes"): mean(
            sum(
                len(schema.get_possible_types(t))
                for t in types
                if isinstance(t, (GraphQLInterfaceType, GraphQLUnionType))
            ),
            n,
        ),
        ("__Type", "enumValues"): mean(sum(len(t.values) for t in types if isinstance(t, GraphQLEnumType)), n),
        ("__Field", "args"): mean(sum(len(f.args) for f in fields), len(fields)),
        ("__Directive", "args"): mean(sum(len(d.args) for d in schema.directives), len(schema.directives)),
    }


def coerced_variables(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any]
) -> Any:
    """The variables as execution will see them: 100.0 as 100, defaults filled in (graphql-core's
    VariableValues). None if they do not coerce: execution then refuses them with its own message."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or not operation.variable_definitions:
        return None
    try:
        coerced = get_variable_values(schema, operation.variable_definitions, dict(variables or {}), max_errors=1)
    except Exception:
        return None
    return None if isinstance(coerced, list) else coerced


class CostCounter:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables  # coerced
        self.lists = _INTROSPECTION_LISTS.get(id(schema)) or _INTROSPECTION_LISTS.setdefault(
            id(schema), _introspection_lists(schema)
        )
        self.introspection: float = 0  # what the query's `__schema` and `__type` fields cost, counted apart

    def _field(self, owner: Any, node: FieldNode) -> GraphQLField | None:
        name = node.name.value
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        return owner.fields.get(name) if isinstance(owner, (GraphQLObjectType, GraphQLInterfaceType)) else None

    def _arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as the resolver gets them: literals, variables (coerced) and defaults alike."""
        try:
            return get_argument_values(field, node, self.variables)
        except Exception:
            return {}

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

    def cost(self, selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str] = frozenset()) -> float:
        if selection_set is None:
            return 0
        total: float = 0
        for node, owner in self._fields(selection_set, parent, seen):
            field = self._field(owner, node)
            if field is SchemaMetaFieldDef or field is TypeMetaFieldDef:  # priced apart: see `Cost`
                self.introspection += 1 + self.cost(node.selection_set, _unwrap(field.type)[0], seen)
                continue
            total += 1
            if field is None:  # __typename
                continue
            inner, is_list = _unwrap(field.type)
            children = self.cost(node.selection_set, inner, seen)
            arguments = self._arguments(field, node) if field.args else {}
            first = arguments.get("first")
            if isinstance(first, int):  # an over-large page is refused by the page rule, with its own message
                first = max(0, min(first, settings().max_page_size))
            else:
                first = None
            ids = arguments.get("ids")
            if inner.name.endswith("Connection"):
                children *= first if first is not None else 20
            elif is_list and getattr(owner, "name", "").startswith("__"):
                children *= self.lists.get((owner.name, node.name.value), UNSIZED_LIST)
            elif is_list:
                children *= (len(ids) if isinstance(ids, list) else 0) or first or UNSIZED_LIST
            total += children
        return total


@dataclass(frozen=True)
class Cost:
    """A query's cost: its data against MAX_QUERY_COST, its introspection against a few readings of the schema.

    Introspection is priced apart because its cost grows with the schema: under the data limit, every field
    added to the schema would bring GraphiQL's own reading of it closer to a refusal."""

    data: int
    introspection: int
    introspection_limit: int

    @property
    def limit(self) -> int:
        return settings().max_query_cost

    def refusal(self) -> GraphQLError | None:
        if self.data > self.limit:
            return GraphQLError(
                f"查询成本 {self.data} 超过上限 {self.limit}：请减少 first 或字段 (query cost over the limit)",
                extensions={"code": "QUERY_TOO_COSTLY", "cost": self.data, "limit": self.limit},
            )
        if self.introspection > self.introspection_limit:
            return GraphQLError(
                f"内省成本 {self.introspection} 超过上限 {self.introspection_limit}：一次查询最多读取架构"
                f" {INTROSPECTIONS_ALLOWED} 遍 (introspection cost over the limit)",
                extensions={
                    "code": "QUERY_TOO_COSTLY",
                    "cost": self.introspection,
                    "limit": self.introspection_limit,
                    "part": "introspection",
                },
            )
        return None

    def extension(self) -> dict[str, Any]:
        """`extensions.cost`; `introspection` only for a query that reads the schema."""
        cost: dict[str, Any] = {"requested": self.data, "limit": self.limit}
        if self.introspection:
            cost["introspection"] = {"requested": self.introspection, "limit": self.introspection_limit}
        return cost


def _counted(
    schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping[str, Any]
) -> tuple[int, int]:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    counter = CostCounter(schema, fragments, coerced_variables(schema, document, operation_name, variables))
    total: float = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if operation_name and definition.name and definition.name.value != operation_name:
                continue
            root = schema.get_root_type(definition.operation)
            total += counter.cost(definition.selection_set, root)
    return round(total), round(counter.introspection)


COUNTED_ARGUMENTS = frozenset({"first", "ids"})  # the arguments CostCounter multiplies by


def variables_counted(document: DocumentNode) -> frozenset[str]:
    """The variables the cost depends on: those given to a `first` or `ids` argument. With the same values of
    these (and variables that coerce), a document costs the same whatever its other variables."""
    names: set[str] = set()

    class Counted(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            if node.name.value in COUNTED_ARGUMENTS:
                names.update(v.name.value for v in _variables_in(node.value))

    visit(document, Counted())
    return frozenset(names)


def _variables_in(value: Any) -> Iterator[VariableNode]:
    if isinstance(value, VariableNode):
        yield value
    elif isinstance(value, ListValueNode):
        for item in value.values:
            yield from _variables_in(item)
    elif isinstance(value, ObjectValueNode):
        for item in value.fields:
            yield from _variables_in(item.value)


def introspection_limit(schema: GraphQLSchema) -> int:
    """INTROSPECTIONS_ALLOWED times what graphql-core's full introspection query (GraphiQL's) costs here."""
    limit = _INTROSPECTION_LIMITS.get(id(schema))
    if limit is None:
        _, once = _counted(schema, parse(get_introspection_query(descriptions=True)), None, {})
        limit = _INTROSPECTION_LIMITS.setdefault(id(schema), INTROSPECTIONS_ALLOWED * once)
    return limit


def query_cost(schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping[str, Any]) -> Cost:
    data, introspection = _counted(schema, document, operation_name, variables)
    return Cost(data, introspection, introspection_limit(schema))


class CostLimit(SchemaExtension):
    """Refuses a query over the cost limit before it runs; reports the cost of every query."""

    cost: Cost | None = None

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            self.cost = query_cost(
                context.schema._schema, context.graphql_document, context.operation_name, context.variables or {}
            )
            refusal = self.cost.refusal()
            if refusal is not None:
                context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None:
            return {"cost": {"requested": 0, "limit": settings().max_query_cost}}
        return {"cost": self.cost.extension()}


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


class BodyTooLarge(Exception):
    """Raised from `receive` once a request body passes MAX_REQUEST_BYTES."""


def body_limit(scope: Scope) -> int:
    """MAX_REQUEST_BYTES; an import upload (streamed to disk) may be up to MAX_UPLOAD_BYTES."""
    if scope.get("path", "").startswith("/imports/"):
        return settings().max_upload_bytes
    return settings().max_request_bytes


def _too_large(limit: int) -> tuple[int, bytes]:
    return _json_error(413, "请求体过大 (request body too large)", "PAYLOAD_TOO_LARGE", limit=limit)


class Guard:
    """ASGI middleware: refuses oversized bodies (413), announced or read; the rate limit is api/rate_limit.py."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        refusal = self._refusal(scope, headers)
        if refusal is None:
            refusal = await self._within_the_body_limit(scope, receive, send)
        if refusal is None:
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

    async def _within_the_body_limit(self, scope: Scope, receive: Receive, send: Send) -> tuple[int, bytes] | None:
        """Runs the app, counting the body's bytes as they are read: a chunked body, or one longer than its
        Content-Length says, is cut at the limit and answered 413 like one announced too large."""
        limit = body_limit(scope)
        read = 0
        started = False

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # cannot happen with our endpoints, which read the whole body before answering
                raise
            return _too_large(limit)
        return None

    def _refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, bytes] | None:
        length = headers.get(b"content-length")
        largest = body_limit(scope)
        if length is not None and length.isdigit() and int(length) > largest:
            return _too_large(largest)
        return None  # the rate limit: api/rate_limit.py, one count across processes
